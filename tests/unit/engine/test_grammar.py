import pytest

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.grammar import json_grammar


def test_any_json_and_a_schema() -> None:
    assert "root" in json_grammar()
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert json_grammar(schema) != json_grammar()


def test_an_unsupported_schema_is_a_400_not_a_crash() -> None:
    with pytest.raises(InvalidRequestError, match="unsupported JSON schema") as info:
        json_grammar({"type": "no-such-type"})
    assert info.value.param == "response_format"
