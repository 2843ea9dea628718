"""How complex a JSON schema for structured output may be, checked before any conversion runs.

llama.cpp's converter spells repetitions out (``"minItems": 20000000`` becomes twenty million copies of
the item rule), and parsing the grammar is linear in its size: a 200-byte schema could hold the node for
seconds and gigabytes. ``check_schema`` walks the schema once, iteratively, and raises
``InvalidRequestError`` naming the first limit passed; ``check_grammar`` bounds the converter's output.
A ``Subject`` says which schema it was (a ``response_format``, or a request's tool parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llamanet.engine.errors import InvalidRequestError

_REPEATS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
_LISTS = ("enum", "anyOf", "oneOf", "allOf", "prefixItems", "required")


@dataclass(frozen=True)
class SchemaLimits:
    max_repeat: int = 1024  # minItems, maxItems, minLength, maxLength, min/maxProperties
    max_total_repeat: int = 16384  # those counts summed over the whole schema
    max_depth: int = 32  # objects and arrays nested in each other
    max_properties: int = 256  # properties of one object
    max_nodes: int = 4096  # values in the whole schema
    max_list: int = 1024  # entries of one enum, anyOf, oneOf, allOf, prefixItems, required
    max_string: int = 4096  # characters of any one string (pattern, enum value, key ...)
    max_grammar_bytes: int = 256 * 1024  # the GBNF grammar the schema becomes


DEFAULT_LIMITS = SchemaLimits()


@dataclass(frozen=True)
class Subject:
    """What a refusal names: the schema's description and the request parameter it came in."""

    what: str = "response_format json_schema"
    param: str = "response_format"


RESPONSE_FORMAT = Subject()


class _Failure:
    def __init__(self, subject: Subject) -> None:
        self.subject = subject

    def __call__(self, message: str) -> InvalidRequestError:
        return InvalidRequestError(
            f"{self.subject.what} too complex: {message}", param=self.subject.param, code="schema_too_complex"
        )


def check_schema(
    schema: Any, limits: SchemaLimits = DEFAULT_LIMITS, subject: Subject = RESPONSE_FORMAT
) -> None:
    """Raise ``InvalidRequestError`` if ``schema`` passes any of ``limits``."""
    _fail = _Failure(subject)
    stack: list[tuple[Any, int]] = [(schema, 0)]
    nodes = repeats = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise _fail(f"more than {limits.max_nodes} values in the schema (max_nodes)")
        if depth > limits.max_depth:
            raise _fail(f"nested deeper than {limits.max_depth} levels (max_depth)")
        if isinstance(value, str):
            if len(value) > limits.max_string:
                raise _fail(f"a string longer than {limits.max_string} characters (max_string)")
        elif isinstance(value, list):
            if len(value) > limits.max_list:
                raise _fail(f"a list of more than {limits.max_list} entries (max_list)")
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, dict):
            repeats += _check_object(value, limits, _fail)
            if repeats > limits.max_total_repeat:
                raise _fail(
                    f"its repetition counts add up to more than {limits.max_total_repeat} (max_total_repeat)"
                )
            stack.extend((k, depth + 1) for k in value)
            stack.extend((v, depth + 1) for v in value.values())


def _check_object(value: dict[Any, Any], limits: SchemaLimits, _fail: _Failure) -> int:
    """Check one schema object; its repetition counts, summed."""
    total = 0
    for key in _REPEATS:
        n = value.get(key)
        if isinstance(n, int | float) and not isinstance(n, bool):
            if n > limits.max_repeat:
                raise _fail(f"{key} {_short(n)} is over {limits.max_repeat} (max_repeat)")
            total += max(0, int(n))
    for key in _LISTS:
        items = value.get(key)
        if isinstance(items, list) and len(items) > limits.max_list:
            raise _fail(f"{key} has more than {limits.max_list} entries (max_list)")
    props = value.get("properties")
    if isinstance(props, dict) and len(props) > limits.max_properties:
        raise _fail(f"an object with more than {limits.max_properties} properties (max_properties)")
    return total


def _short(n: float) -> str:
    if isinstance(n, int) and n.bit_length() > 64:
        return "(a number of more than 64 bits)"
    text = repr(n)
    return text if len(text) <= 24 else text[:20] + "..."


def check_grammar(
    grammar: str, limits: SchemaLimits = DEFAULT_LIMITS, subject: Subject = RESPONSE_FORMAT
) -> None:
    _fail = _Failure(subject)
    if len(grammar) > limits.max_grammar_bytes:
        raise _fail(
            f"its grammar has {len(grammar)} bytes, over {limits.max_grammar_bytes} (max_grammar_bytes)"
        )
