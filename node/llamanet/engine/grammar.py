"""GBNF grammars for structured output: any JSON, or JSON matching a schema (llama.cpp's converter)."""

from __future__ import annotations

import json
from typing import Any

from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

from llamanet.engine.errors import InvalidRequestError


def json_grammar(schema: dict[str, Any] | None = None) -> str:
    """The grammar of any JSON value (``schema`` None) or of JSON matching ``schema``."""
    if schema is None:
        return JSON_GBNF
    try:
        grammar: str = json_schema_to_gbnf(json.dumps(schema))
        return grammar
    except Exception as exc:  # the converter raises assorted errors on unsupported schemas
        raise InvalidRequestError(f"unsupported JSON schema: {exc}", param="response_format") from exc
