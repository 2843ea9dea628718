"""This node's half of resumed streams (``routing.resume``, ``routing.tape``).

``local``: the rest of a forwarded stream whose node died, served by this node's engine (the routes' own
stream builders; ``create_app`` hands it to ``dependencies``). A ``Continuation`` from a client is
refused there (``dependencies.check_continuation``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from llamanet.api import native_routes, openai_routes
from llamanet.api.schemas import ChatCompletionRequest, CompletionRequest, GenerateRequest
from llamanet.routing.tape import Kind


async def local(request: Request, kind: Kind, payload: dict[str, Any]) -> AsyncIterator[bytes]:
    """The events of the continuation ``payload`` (a body ``tape.continuation`` made), served here."""
    if kind == "chat":
        return await openai_routes.chat_stream(request, ChatCompletionRequest.model_validate(payload))
    if kind == "completion":
        return await openai_routes.completion_stream(request, CompletionRequest.model_validate(payload))
    return await native_routes.native_stream(request, GenerateRequest.model_validate(payload))
