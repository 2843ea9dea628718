"""GBNF grammars for structured output: any JSON, or JSON matching a schema (llama.cpp's converter),
with the schema's complexity and the grammar's size bounded (``schema_limits``)."""

from __future__ import annotations

import json
from typing import Any

from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.schema_limits import DEFAULT_LIMITS, SchemaLimits, check_grammar, check_schema


def json_grammar(schema: dict[str, Any] | None = None, limits: SchemaLimits = DEFAULT_LIMITS) -> str:
    """The grammar of any JSON value (``schema`` None) or of JSON matching ``schema``."""
    if schema is None:
        return JSON_GBNF
    check_schema(schema, limits)
    try:
        grammar: str = json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:  # the converter raises assorted errors on unsupported schemas
        raise InvalidRequestError(
            f"unsupported JSON schema: {str(exc)[:200]}", param="response_format"
        ) from exc
    check_grammar(grammar, limits)
    return grammar
