"""Tool calls parsed from a model's output as it streams (pure). The same parser serves streamed and
whole answers, so both give the same calls and the same content.

Recognised: Hermes-style ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks anywhere in
the text (``"parameters"`` is taken for ``"arguments"``; a last block may lack its closing tag), and,
when the whole answer is one JSON object of that shape or a list of them, that (Llama 3.x style). A call
counts only if it names one of the offered functions; anything else stays content, as written.

While streaming, a call's ``arguments`` object is passed on piece by piece once ``{"name": "<known>",
"arguments": `` has been read; other shapes are read to the closing tag first. Text that might still
become ``<tool_call>`` is held back, and so is an answer starting with ``{`` or ``[`` (a bare JSON
call) until the end. Content loses its leading and trailing whitespace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from llamanet.engine.tool_format import CLOSE, OPEN

_HEAD = re.compile(r'\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"(?:arguments|parameters)"\s*:\s*(?=\S)')


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class CallStart:
    index: int
    name: str


@dataclass(frozen=True)
class CallArguments:
    index: int
    fragment: str


Piece = Text | CallStart | CallArguments


def _call(value: Any, names: Collection[str]) -> tuple[str, str] | None:
    """``(name, arguments as JSON text)`` if ``value`` is a call of a known function."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or value["name"] not in names:
        return None
    args = value.get("arguments", value.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    if not isinstance(args, dict):
        return None
    return value["name"], json.dumps(args, ensure_ascii=False)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _held(text: str, marker: str) -> int:
    """How many trailing characters of ``text`` could begin ``marker``."""
    for k in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:k]):
            return k
    return 0


class ToolCallParser:
    """Feed text as it is released; get content and call pieces back."""

    def __init__(self, names: Collection[str], *, parallel: bool = True) -> None:
        self.names, self.parallel = set(names), parallel
        self.calls = 0
        self._state = "text"  # text | bare | head | body | args | tail | skip
        self._buf = ""
        self._ws = ""  # trailing whitespace of content, sent only if more content follows
        self._started = False  # content sent already
        self._depth, self._in_string, self._escaped = 0, False, False

    def feed(self, text: str) -> list[Piece]:
        self._buf += text
        out: list[Piece] = []
        while self._step(out):
            pass
        return out

    def finish(self) -> list[Piece]:
        out: list[Piece] = []
        buf, self._buf = self._buf, ""
        if self._state == "text":
            out += self._content(buf)
        elif self._state == "bare":
            value = _json(buf.strip())
            values = value if isinstance(value, list) and value else [value]
            found = [c for c in (_call(v, self.names) for v in values) if c is not None]
            if len(found) == len(values):
                for name, args in found if self.parallel else found[:1]:
                    out += self._whole_call(name, args)
            else:
                out += self._content(buf)
        elif self._state in ("head", "body"):
            out += self._block(buf, closed=False)
        self._state = "done"
        return out

    # --- states ------------------------------------------------------------------------------------
    def _step(self, out: list[Piece]) -> bool:
        """Advance as far as the buffer allows; True to go on."""
        state, buf = self._state, self._buf
        if state == "text":
            if not self._started and self.calls == 0 and buf.lstrip()[:1] in ("{", "["):
                self._state = "bare"
                return False
            at = buf.find(OPEN)
            if at < 0:
                cut = len(buf) - _held(buf, OPEN)
                out += self._content(buf[:cut])
                self._buf = buf[cut:]
                return False
            out += self._content(buf[:at])
            self._buf = buf[at + len(OPEN) :]
            self._state = "head" if self.parallel or self.calls == 0 else "skip"
            return True
        if state == "head":
            head = _HEAD.match(buf)
            if head is not None:
                name = json.loads(head.group(1))
                if name in self.names and buf[head.end()] == "{":
                    out.append(CallStart(self.calls, name))
                    self._buf, self._state = buf[head.end() :], "args"
                    self._depth, self._in_string, self._escaped = 0, False, False
                    return True
                self._state = state = "body"
        if state in ("head", "body", "tail", "skip"):
            end = buf.find(CLOSE)
            if end < 0:
                return False
            if state in ("head", "body"):
                out += self._block(buf[:end])
            self._buf, self._state = buf[end + len(CLOSE) :], "text"
            return True
        if state == "args":
            end = self._scan(buf)
            if end:
                out.append(CallArguments(self.calls, buf[:end]))
            if self._depth == 0 and end:
                self.calls += 1
                self._buf, self._state = buf[end:], "tail"
                return True
            self._buf = ""
            return False
        return False  # bare, done: wait for the end

    def _scan(self, buf: str) -> int:
        """Characters of ``buf`` that belong to the arguments object (all, while it is open)."""
        for i, ch in enumerate(buf):
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif ch == "\\":
                    self._escaped = True
                elif ch == '"':
                    self._in_string = False
            elif ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
            elif ch in "}]":
                self._depth -= 1
                if self._depth == 0:
                    return i + 1
        return len(buf)

    # --- output ------------------------------------------------------------------------------------
    def _block(self, body: str, closed: bool = True) -> list[Piece]:
        """A whole ``<tool_call>`` block's body: a call, or content as written."""
        found = _call(_json(body.strip()), self.names)
        if found is None:
            return self._content(OPEN + body + (CLOSE if closed else ""))
        return self._whole_call(*found)

    def _whole_call(self, name: str, args: str) -> list[Piece]:
        index = self.calls
        self.calls += 1
        return [CallStart(index, name), CallArguments(index, args)]

    def _content(self, text: str) -> list[Piece]:
        text = self._ws + text
        if not self._started:
            text = text.lstrip()
        body = text.rstrip()
        self._ws = text[len(body) :]
        if not body:
            return []
        self._started = True
        return [Text(body)]


def collect(pieces: list[Piece]) -> tuple[str | None, list[tuple[str, str]]]:
    """A whole answer: its content (None when empty) and its calls as ``(name, arguments)``."""
    content = "".join(p.text for p in pieces if isinstance(p, Text))
    calls: list[list[str]] = []
    for p in pieces:
        if isinstance(p, CallStart):
            calls.append([p.name, ""])
        elif isinstance(p, CallArguments):
            calls[p.index][1] += p.fragment
    return content or None, [(name, args) for name, args in calls]
