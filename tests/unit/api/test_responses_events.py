"""The Responses API's output: the ``response`` object, its items and the streamed events, checked
against the openai SDK's own types and accumulated by the state machine ``responses.stream()`` runs."""

import json
from typing import Any

from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from llamanet.api.responses_events import ResponseEvents, whole
from llamanet.api.responses_schemas import ResponsesRequest
from llamanet.api.responses_shapes import ResponseHead, failure_code, usage
from llamanet.engine.events import Finished
from llamanet.engine.tool_parse import CallArguments, CallStart, Piece, Text

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
ADD = {"type": "function", "name": "add", "parameters": {"type": "object"}, "strict": True}
CALL: list[Piece] = [CallStart(0, "add"), CallArguments(0, '{"a": 1, '), CallArguments(0, '"b": 2}')]


def body(**fields: Any) -> ResponsesRequest:
    return ResponsesRequest.model_validate({"model": "m", "input": "hi", **fields})


def finished(reason: str = "stop") -> Finished:
    return Finished(reason, 12, 5, 3, 0.1, 0.5)  # type: ignore[arg-type]


def head(**fields: Any) -> ResponseHead:
    return ResponseHead("resp_1", "msg_1", 100, "m", body(**fields))


def parse(raw: list[bytes]) -> list[Any]:
    out = []
    for chunk in raw:
        event_line, data_line = chunk.decode().rstrip("\n").split("\n")
        event = EVENTS.validate_python(json.loads(data_line.removeprefix("data: ")))
        assert event_line == f"event: {event.type}"
        out.append(event)
    return out


def stream(pieces: list[Piece], end: Finished, calls_done: int = 0, **fields: Any) -> list[Any]:
    out = ResponseEvents(head(**fields))
    return parse([*out.opening(), *out.pieces(pieces), *out.closing(end, calls_done)])


def accumulated(events: list[Any], tools: Any = omit) -> Any:
    """What ``responses.stream()``'s ``get_final_response()`` gives for these events."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=tools, text_format=omit)
    for e in events:
        state.handle_event(e)
    return state._completed_response


def without_ids(response: Any) -> Any:
    data = (Response.model_validate(response) if isinstance(response, dict) else response).model_dump()
    output = [{k: v for k, v in i.items() if k not in ("id", "call_id")} for i in data["output"]]
    return {**data, "output": output}


def test_response_object_is_the_sdks() -> None:
    r = Response.model_validate(whole(head(metadata={"k": "v"}), [Text("Hello")], finished()))
    assert r.output_text == "Hello" and r.status == "completed" and r.metadata == {"k": "v"}
    assert r.output[0].id == "msg_1" and r.tools == [] and r.tool_choice == "auto"
    assert r.usage is not None and (r.usage.input_tokens, r.usage.output_tokens) == (12, 5)
    assert r.usage.total_tokens == 17 and r.usage.input_tokens_details.cached_tokens == 3
    cut = Response.model_validate(whole(head(), [Text("Hel")], finished("length")))
    assert cut.status == "incomplete" and cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens" and cut.output[0].status == "incomplete"  # type: ignore[union-attr]
    assert usage(finished())["output_tokens_details"] == {"reasoning_tokens": 0}
    empty = Response.model_validate(whole(head(), [], finished()))
    assert [i.type for i in empty.output] == ["message"] and empty.output_text == ""


def test_event_sequence() -> None:
    events = stream([Text("Hel"), Text(""), Text("lo")], finished())
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(10))
    assert events[0].response.status == "in_progress" and events[0].response.output == []
    assert events[6].text == "Hello" and events[7].part.text == "Hello"
    assert events[8].item.id == "msg_1" and events[8].item.status == "completed"
    assert events[9].response.output_text == "Hello" and events[9].response.usage.output_tokens == 5
    assert accumulated(events).output_text == "Hello"


def test_function_call_events_and_item() -> None:
    fields = {"tools": [ADD], "tool_choice": {"type": "function", "name": "add"}}
    events = stream(CALL, finished(), 1, **fields)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done, item_done, completed = events[2], events[5], events[6], events[7]
    assert added.item.type == "function_call" and added.item.arguments == "" and added.item.name == "add"
    assert added.item.status == "in_progress" and added.item.call_id.startswith("call_")
    assert {(e.item_id, e.output_index) for e in events[3:6]} == {(added.item.id, 0)}
    assert done.arguments == '{"a": 1, "b": 2}'
    assert item_done.item.status == "completed" and item_done.item.arguments == done.arguments
    (call,) = completed.response.output
    assert call.type == "function_call" and call.id.startswith("fc_") and call.call_id == added.item.call_id
    assert completed.response.tools[0].name == "add" and completed.response.tool_choice.name == "add"
    final = accumulated(events, [ADD])
    assert final.output[0].arguments == done.arguments and final.output[0].parsed_arguments == {
        "a": 1,
        "b": 2,
    }
    assert without_ids(whole(head(**fields), CALL, finished(), 1)) == without_ids(completed.response)


def test_text_and_calls_are_items_in_order() -> None:
    pieces: list[Piece] = [Text("Sure."), *CALL, CallStart(1, "add"), CallArguments(1, "{}"), Text("Done.")]
    events = stream(pieces, finished(), 2)
    response = events[-1].response
    assert [(i.type, i.status) for i in response.output] == [
        ("message", "completed"),
        ("function_call", "completed"),
        ("function_call", "completed"),
        ("message", "completed"),
    ]
    assert response.output[0].id == "msg_1" and response.output[3].id.startswith("msg_")
    assert (
        len({i.id for i in response.output}) == 4 and response.output[1].call_id != response.output[2].call_id
    )
    added = [e.output_index for e in events if e.type == "response.output_item.added"]
    done = [e.output_index for e in events if e.type == "response.output_item.done"]
    assert added == done == [0, 1, 2, 3]
    final = accumulated(events)
    assert final.output_text == "Sure.Done." and [i.type for i in final.output] == [
        i.type for i in response.output
    ]


def test_a_call_cut_by_max_output_tokens_is_incomplete() -> None:
    events = stream(CALL[:2], finished("length"), 0)
    assert events[-1].type == "response.incomplete"
    (call,) = events[-1].response.output
    assert call.status == "incomplete" and call.arguments == '{"a": 1, '
    whole_call = events[-2].item
    assert whole_call.status == "incomplete"
    # a call read to its end before the cut stays completed
    assert stream(CALL, finished("length"), 1)[-1].response.output[0].status == "completed"


def test_incomplete_and_failed_streams() -> None:
    events = stream([Text("a")], finished("length"))
    assert events[-1].type == "response.incomplete" and events[-1].response.status == "incomplete"
    out = ResponseEvents(head())
    failed = parse([*out.opening(), *out.pieces([Text("a")]), out.failed(429, "busy")])[-1]
    assert failed.type == "response.failed" and failed.response.error.message == "busy"
    assert failed.response.error.code == "rate_limit_exceeded" and failed.sequence_number == 5
    assert (
        failed.response.output[0].content[0].text == "a" and failed.response.output[0].status == "incomplete"
    )
    assert failure_code(400) == "invalid_prompt" and failure_code(503) == "server_error"
    out = ResponseEvents(head())
    cut = parse([*out.opening(), *out.pieces(CALL[:2]), out.failed(500, "boom")])[-1]
    assert cut.response.output[0].arguments == '{"a": 1, ' and cut.response.output[0].status == "incomplete"
