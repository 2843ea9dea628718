import time

import pytest

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.grammar import json_grammar
from llamanet.engine.schema_limits import DEFAULT_LIMITS, SchemaLimits, check_grammar, check_schema


def refused(schema: object, limits: SchemaLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(InvalidRequestError) as info:
        check_schema(schema, limits)
    assert info.value.param == "response_format" and info.value.code == "schema_too_complex"
    return str(info.value)


@pytest.mark.parametrize("key", ["minItems", "maxItems", "minLength", "maxLength", "maxProperties"])
def test_repetition_counts_are_bounded_before_conversion(key: str) -> None:
    # issue 16: a 208-byte schema with "minItems": 20000000 held the event loop for 10 s
    start = time.monotonic()
    message = refused({"type": "array", "items": {"type": "string"}, key: 20_000_000})
    assert time.monotonic() - start < 0.1
    assert key in message and "max_repeat" in message
    assert "(a number of more than 64 bits)" in refused({"type": "string", "maxLength": 10**40})


def test_nesting_properties_nodes_lists_and_strings_are_bounded() -> None:
    deep: dict[str, object] = {"type": "string"}
    for _ in range(40):
        deep = {"type": "array", "items": deep}
    assert "max_depth" in refused(deep)
    many = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(300)}}
    assert "max_properties" in refused(many)
    assert "max_list" in refused({"enum": list(range(2000))})
    assert "max_string" in refused({"type": "string", "pattern": "a" * 5000})
    assert "max_nodes" in refused({"anyOf": [{"enum": list(range(1000))} for _ in range(5)]})


def test_repetition_counts_are_bounded_in_sum() -> None:
    # each count under max_repeat, but 250 strings of up to 1000 characters make a 2 MB grammar
    wide = {
        "type": "object",
        "properties": {f"k{i}": {"type": "string", "maxLength": 1000} for i in range(250)},
    }
    assert "max_total_repeat" in refused(wide)


def test_reasonable_schemas_pass_and_convert() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 100}
        },
        "required": ["tags"],
    }
    check_schema(schema)
    assert "root" in json_grammar(schema)


def test_grammar_size_is_bounded() -> None:
    with pytest.raises(InvalidRequestError, match="max_grammar_bytes"):
        check_grammar("x" * 300_000)
    tight = SchemaLimits(max_grammar_bytes=2000)
    with pytest.raises(InvalidRequestError, match="max_grammar_bytes"):
        json_grammar({"type": "array", "items": {"type": "string"}, "minItems": 1000}, tight)
