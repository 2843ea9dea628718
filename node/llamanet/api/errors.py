"""OpenAI-shaped errors: ``{"error": {"message", "type", "param", "code"}}`` with a fitting status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from llamanet.engine.errors import EngineClosedError, InvalidRequestError, QueueFullError
from llamanet_common.errors import LlamaNetError

log = logging.getLogger(__name__)


class ApiError(LlamaNetError):
    """An error with its HTTP status and OpenAI error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def clip(text: str, limit: int = 64) -> str:
    """``text`` cut to ``limit`` characters, for echoing user input in an error message."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def from_exception(exc: Exception) -> ApiError:
    """Map engine and API exceptions to an ``ApiError``; anything else is a 500."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidRequestError):
        return ApiError(400, str(exc), param=exc.param, code=exc.code)
    if isinstance(exc, QueueFullError):
        return ApiError(
            429,
            str(exc),
            "rate_limit_error",
            code="queue_full",
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, UnicodeError):  # text that has no UTF-8 form (a lone surrogate) anywhere in a request
        return ApiError(
            400,
            f"the request holds text that is not valid Unicode: {getattr(exc, 'reason', exc)}",
            code="invalid_text",
        )
    if isinstance(exc, EngineClosedError):
        return ApiError(
            503, str(exc), "service_unavailable", code="shutting_down", headers={"Retry-After": "5"}
        )
    return ApiError(500, f"internal error: {type(exc).__name__}", "server_error", code="internal_error")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    msg = first.get("msg", "invalid value")
    return (f"{param}: {msg}" if param else msg), param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return ApiError(400, message, param=param).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return ApiError(exc.status_code, str(exc.detail), type_, headers=dict(exc.headers or {})).response()

    @app.exception_handler(LlamaNetError)
    async def _ours(_: Request, exc: LlamaNetError) -> JSONResponse:
        return from_exception(exc).response()

    @app.exception_handler(UnicodeError)  # here, not as a 500: the connection is kept
    async def _unicode(_: Request, exc: UnicodeError) -> JSONResponse:
        return from_exception(exc).response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return from_exception(exc).response()
