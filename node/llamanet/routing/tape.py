"""What a client of a forwarded stream has been sent, and how a resumed stream continues it (pure).

``Tape`` cuts an upstream's SSE bytes into whole events and passes on only whole ones (a stream that
breaks mid-event leaves the client nothing it cannot parse). It remembers what the client was sent: the
text so far, the first chunk's ``id`` and ``created``, whether a finish or the stream's end went out.
After ``resume`` the events are a continuation's, rewritten to read as the same stream: chat drops the
continuation's role chunk, chat and completions carry the first stream's ``id`` and ``created``.

``continuation``: the body that asks a node for the rest of the stream (``CONTINUATION_FIELD``: the text
already sent; the serving node appends it to the prompt and counts it as completion tokens), or why the
stream cannot be continued.

Kinds: ``chat`` (``/v1/chat/completions``), ``completion`` (``/v1/completions``), ``native``
(``/generate/stream``, ``/generate`` with ``stream``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["chat", "completion", "native"]
CONTINUATION_FIELD = "llamanet_continuation"  # ``api.schemas.Continued``: accepted only from peers
DONE = b"data: [DONE]\n\n"


@dataclass
class Tape:
    kind: Kind
    parts: list[str] = field(default_factory=list)  # the texts sent (a completion's echo first)
    ident: tuple[Any, Any] | None = None  # (id, created) of the stream's first chunk
    finished: bool = False  # a finish_reason (native: the finished event) was sent
    done: bool = False  # the stream's last event was sent: [DONE], native's finished event, an error
    splicing: bool = False  # the events are a continuation's
    _buf: bytes = b""

    @property
    def text(self) -> str:
        """The generated text the client was sent."""
        return "".join(self.parts)

    def feed(self, data: bytes) -> list[bytes]:
        """The whole events in ``data`` (with what was left of the last call), as the client gets them."""
        self._buf += data
        out = []
        while (end := self._buf.find(b"\n\n")) >= 0:
            event, self._buf = self._buf[: end + 2], self._buf[end + 2 :]
            kept = self._event(event)
            if kept is not None:
                out.append(kept)
        return out

    def resume(self) -> None:
        """A continuation's events follow (a partial event of the broken stream is dropped)."""
        self._buf = b""
        self.splicing = True

    def _event(self, raw: bytes) -> bytes | None:
        if not raw.startswith(b"data: "):
            return raw  # an SSE comment or another field: passed as is
        payload = raw[6:].strip()
        if payload == b"[DONE]":
            self.done = True
            return raw
        try:
            obj = json.loads(payload)
        except ValueError:
            return raw
        if not isinstance(obj, dict):
            return raw
        if "error" in obj:  # the node ended the stream itself: not a break
            self.done = True
            return raw
        if self.kind == "native":
            text = obj.get("text")
            if isinstance(text, str):
                self.parts.append(text)
            if obj.get("finished") is True:
                self.finished = self.done = True
            return raw
        return self._openai(raw, obj)

    def _openai(self, raw: bytes, obj: dict[str, Any]) -> bytes | None:
        choices = obj.get("choices")
        choices = choices if isinstance(choices, list) else []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            if self.kind == "chat":
                delta = choice.get("delta")
                delta = delta if isinstance(delta, dict) else {}
                if self.splicing and "role" in delta and not delta.get("content") and len(choices) == 1:
                    return None  # the continuation's opening: the client had the first stream's
                text = delta.get("content")
            else:
                text = choice.get("text")
            if isinstance(text, str):
                self.parts.append(text)
            if choice.get("finish_reason") is not None:
                self.finished = True
        if self.ident is None:
            self.ident = (obj.get("id"), obj.get("created"))
            return raw
        if self.splicing:
            obj["id"], obj["created"] = self.ident
            encoded = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            return f"data: {encoded}\n\n".encode()
        return raw


def continuation(kind: Kind, body: dict[str, Any], parts: list[str]) -> dict[str, Any] | str:
    """The body asking for the rest of ``body``'s stream after the texts ``parts`` were sent, or why
    there is none. A completion's echo (its first text) is not generated text; a body that is itself a
    continuation keeps its earlier text in front (and was not echoed)."""
    if kind in ("chat", "completion"):
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type", "text") != "text":
            return "a stream constrained by response_format cannot be resumed"
    if kind == "chat" and (body.get("tools") or body.get("functions")):
        return "a stream with tools cannot be resumed"
    if kind == "completion" and isinstance(body.get("prompt"), list) and len(body["prompt"]) > 1:
        return "a stream of several prompts cannot be resumed"
    earlier = body.get(CONTINUATION_FIELD)
    before = earlier.get("text", "") if isinstance(earlier, dict) else ""
    if kind == "completion" and body.get("echo") and earlier is None:
        parts = parts[1:]
    return {**body, CONTINUATION_FIELD: {"text": before + "".join(parts)}}
