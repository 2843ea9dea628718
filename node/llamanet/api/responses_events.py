"""The output of one response as the events the openai SDK's ``responses.stream()`` reads (pure).

``response.created``, ``response.in_progress``, then each output item in order: a message as
``response.output_item.added``, ``response.content_part.added``, ``response.output_text.delta`` ...,
``response.output_text.done``, ``response.content_part.done``, ``response.output_item.done``; a function
call as ``response.output_item.added`` (arguments ``""``), ``response.function_call_arguments.delta``
..., ``response.function_call_arguments.done``, ``response.output_item.done``; then
``response.completed`` with the whole output (``response.incomplete`` when ``max_output_tokens`` cut the
answer, ``response.failed`` on an error). Each is ``event: <type>`` plus ``data: <json>`` with a growing
``sequence_number``.

Items come from the tool-call parser's pieces: text opens a message (one after a call opens another),
a call opens a ``function_call``; an answer with neither is one empty message. A whole answer goes
through the same steps (``whole``), so streamed and whole answers have the same output.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from llamanet.api.responses_shapes import (
    ResponseHead,
    Status,
    failure_code,
    function_call_item,
    message_item,
    status_of,
    text_part,
)
from llamanet.api.tools import call_id
from llamanet.engine.events import Finished
from llamanet.engine.tool_parse import CallArguments, CallStart, Piece, Text


@dataclass
class _Item:
    index: int  # in ``output``
    id: str
    call: tuple[int, str, str] | None = None  # a function call's (parser index, call_id, name)
    parts: list[str] = field(default_factory=list)
    status: Status = "in_progress"

    def shape(self) -> dict[str, Any]:
        text = "".join(self.parts)
        if self.call is None:
            return message_item(self.id, self.status, None if self.status == "in_progress" else text)
        _, cid, name = self.call
        return function_call_item(self.id, cid, name, self.status, text)


@dataclass
class ResponseEvents:
    """The SSE events of one response, numbered in order; ``final``: the closing ``response``."""

    head: ResponseHead
    sequence: int = 0
    items: list[_Item] = field(default_factory=list)
    final: dict[str, Any] | None = None

    def _event(self, type_: str, **fields: Any) -> bytes:
        data = {"type": type_, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return f"event: {type_}\ndata: {payload}\n\n".encode()

    def _open(self) -> _Item | None:
        return self.items[-1] if self.items and self.items[-1].status == "in_progress" else None

    def _where(self, item: _Item) -> dict[str, Any]:
        where = {"item_id": item.id, "output_index": item.index}
        return where if item.call is not None else {**where, "content_index": 0}

    def opening(self) -> list[bytes]:
        """Sent with the first token (so a forwarding node sees nothing before it)."""
        empty = self.head.response("in_progress", [])
        return [
            self._event("response.created", response=empty),
            self._event("response.in_progress", response=empty),
        ]

    def pieces(self, pieces: Iterable[Piece]) -> list[bytes]:
        out: list[bytes] = []
        for p in pieces:
            item = self._open()
            if isinstance(p, Text) and p.text:
                if item is None or item.call is not None:
                    out += self._close("completed") + self._start(None)
                    item = self.items[-1]
                item.parts.append(p.text)
                out.append(
                    self._event("response.output_text.delta", **self._where(item), delta=p.text, logprobs=[])
                )
            elif isinstance(p, CallStart):
                out += self._close("completed") + self._start((p.index, call_id(), p.name))
            elif isinstance(p, CallArguments) and p.fragment and item is not None and item.call is not None:
                item.parts.append(p.fragment)
                out.append(
                    self._event(
                        "response.function_call_arguments.delta", **self._where(item), delta=p.fragment
                    )
                )
        return out

    def _start(self, call: tuple[int, str, str] | None) -> list[bytes]:
        if call is None and all(i.call is not None for i in self.items):  # the first message
            item_id = self.head.item_id
        else:
            item_id = f"{'msg' if call is None else 'fc'}_{uuid.uuid4().hex}"
        item = _Item(len(self.items), item_id, call)
        self.items.append(item)
        out = [self._event("response.output_item.added", output_index=item.index, item=item.shape())]
        if call is None:
            out.append(self._event("response.content_part.added", **self._where(item), part=text_part("")))
        return out

    def _close(self, status: Status) -> list[bytes]:
        item = self._open()
        if item is None:
            return []
        item.status = status
        text, where = "".join(item.parts), self._where(item)
        if item.call is None:
            out = [
                self._event("response.output_text.done", **where, text=text, logprobs=[]),
                self._event("response.content_part.done", **where, part=text_part(text)),
            ]
        else:
            out = [self._event("response.function_call_arguments.done", **where, arguments=text)]
        return [*out, self._event("response.output_item.done", output_index=item.index, item=item.shape())]

    def closing(self, finished: Finished, calls_done: int = 0) -> list[bytes]:
        """The last item's and the response's end; ``calls_done``: the calls the parser saw to their end
        (a call cut before is ``incomplete``)."""
        status = status_of(finished)
        out = [] if self.items else self._start(None)
        item = self._open()
        if item is not None and item.call is not None:
            out += self._close("completed" if item.call[0] < calls_done else "incomplete")
        else:
            out += self._close(status)
        self.final = self.head.response(status, [i.shape() for i in self.items], finished)
        final = "response.completed" if status == "completed" else "response.incomplete"
        return [*out, self._event(final, response=self.final)]

    def failed(self, status: int, message: str) -> bytes:
        """``response.failed``, its error ``code`` one of the Responses API's (by the HTTP status)."""
        error = {"code": failure_code(status), "message": message}
        item = self._open()
        if item is not None:
            item.status = "incomplete"
        output = [i.shape() for i in self.items]
        return self._event("response.failed", response=self.head.response("failed", output, error=error))


def whole(head: ResponseHead, pieces: list[Piece], finished: Finished, calls_done: int = 0) -> dict[str, Any]:
    """The ``response`` of a whole (not streamed) answer, its output built as a stream's is."""
    out = ResponseEvents(head)
    out.pieces(pieces)
    out.closing(finished, calls_done)
    assert out.final is not None
    return out.final
