"""The tool call parser on recorded model outputs: whole and token by token give the same answer."""

import json

import pytest

from llamanet.engine.tool_parse import CallArguments, CallStart, Text, ToolCallParser, collect

NAMES = ["get_weather", "add"]
# recorded from SmolLM2-135M through the node (greedy), plus hand-made malformed ones
ONE = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
FORCED_TWO = (
    '<tool_call>\n{ "city": "Paris", "unit": "celsius"}\n</tool_call>'  # malformed: no name
    '\n<tool_call>\n{"name": "add", "arguments": { "a": 20, "b": 30 }}\n</tool_call>'
)
PLAIN = "The weather in Paris today is mostly sunny with a moderate temperature of 22°C (72°F)."
MIMIC = '<tool_response>\n{"temperature": 25, "sky": "sunny"}\n</tool_response>'


def parse(text: str, step: int | None = None, names: list[str] = NAMES, **kw: bool):  # type: ignore[no-untyped-def]
    parser = ToolCallParser(names, **kw)
    step = step or max(1, len(text))
    pieces = []
    for i in range(0, len(text), step):
        pieces += parser.feed(text[i : i + step])
    return collect(pieces + parser.finish())


@pytest.mark.parametrize("step", [1, 2, 7, None])
def test_no_call_is_content(step: int | None) -> None:
    assert parse(PLAIN, step) == (PLAIN, [])
    assert parse(MIMIC, step) == (MIMIC, [])  # starts like <tool_call>, is not one
    assert parse("  Hello <tool_ca", step) == ("Hello <tool_ca", [])  # held back, then released


@pytest.mark.parametrize("step", [1, 3, None])
def test_one_call(step: int | None) -> None:
    assert parse(ONE, step) == (None, [("get_weather", '{"city": "Rome"}')])


@pytest.mark.parametrize("step", [1, 5, None])
def test_several_calls_with_text_around(step: int | None) -> None:
    text = (
        "Let me check.\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris {1}", "n": [1,{"a":"}"}]}}\n'
        "</tool_call>\n"
        '<tool_call>\n{"arguments": {"a": 1, "b": 2}, "name": "add"}\n</tool_call>\nDone.'
    )
    content, calls = parse(text, step)
    assert content == "Let me check.\n\n\nDone."  # the text between the calls, without the calls
    # streamed fragments keep the model's own spelling; a reordered call is re-serialised
    assert calls == [
        ("get_weather", '{"city": "Paris {1}", "n": [1,{"a":"}"}]}'),
        ("add", '{"a": 1, "b": 2}'),
    ]
    first, _ = parse(text, step, parallel=False)
    assert parse(text, step, parallel=False)[1] == calls[:1] and first == content


@pytest.mark.parametrize("step", [1, None])
def test_malformed_and_unknown_blocks_stay_content(step: int | None) -> None:
    content, calls = parse(FORCED_TWO, step)
    assert calls == [("add", '{ "a": 20, "b": 30 }')]
    assert content == '<tool_call>\n{ "city": "Paris", "unit": "celsius"}\n</tool_call>'
    unknown = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>'
    assert parse(unknown, step) == (unknown, [])
    # a known name opens the call and its arguments go out as written (streamed before they could be
    # checked); only required / named calls are held to JSON by a grammar
    broken = '<tool_call>{"name": "add", "arguments": {"a": 1,}}</tool_call>'
    assert parse(broken, step) == (None, [("add", '{"a": 1,}')])


def test_string_arguments_and_parameters_key() -> None:
    text = '<tool_call>{"name": "add", "arguments": "{\\"a\\": 1}"}</tool_call>'
    assert parse(text) == (None, [("add", '{"a": 1}')])
    assert parse('<tool_call>{"name": "add", "parameters": {"a": 2}}</tool_call>', 1)[1] == [
        ("add", '{"a": 2}')
    ]


@pytest.mark.parametrize("step", [1, None])
def test_bare_json_calls_llama_style(step: int | None) -> None:
    assert parse('{"name": "add", "parameters": {"a": 1, "b": 2}}', step) == (
        None,
        [("add", '{"a": 1, "b": 2}')],
    )
    both = json.dumps([{"name": "add", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "X"}}])
    assert [n for n, _ in parse(both, step)[1]] == ["add", "get_weather"]
    assert parse('{"answer": 42}', step) == ('{"answer": 42}', [])  # JSON, but no call


def test_unclosed_last_block_and_cut_arguments() -> None:
    assert parse('<tool_call>\n{"name": "add", "arguments": {"a": 1}}')[1] == [("add", '{"a": 1}')]
    # cut by max_tokens inside the arguments: the fragments so far (finish_reason says "length")
    assert parse('<tool_call>\n{"name": "add", "arguments": {"a": ', 1)[1] == [("add", '{"a": ')]


def test_stream_pieces_open_each_call_before_its_arguments() -> None:
    parser = ToolCallParser(NAMES)
    pieces = []
    for ch in "Hi " + ONE:
        pieces += parser.feed(ch)
    pieces += parser.finish()
    opened = next(i for i, p in enumerate(pieces) if isinstance(p, CallStart))
    assert pieces[opened] == CallStart(0, "get_weather")
    assert "".join(p.text for p in pieces[:opened] if isinstance(p, Text)) == "Hi"
    assert all(isinstance(p, CallArguments) for p in pieces[opened + 1 :])
    args = [p for p in pieces if isinstance(p, CallArguments)]
    assert len(args) > 3 and "".join(a.fragment for a in args) == '{"city": "Rome"}'
    assert parser.calls == 1
