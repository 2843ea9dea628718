"""HTTP to one node (the client's only I/O besides the DHT): JSON calls, SSE streams, failure classes.

Every failure becomes ``NodeUnavailableError`` (try another node) or ``RequestRejectedError`` (don't),
by routing's ``retry`` policy, the same the node's router follows.

The API key is sent only where a call says ``authorized=True``: to URLs the user gave, and to DHT nodes
whose URL proved its record's key (``Planner.admit``). Nothing sends it by default.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx

from llamanet.client.errors import ClientError, NodeUnavailableError, RequestRejectedError
from llamanet.routing.retry import error_fields, event_fails_over, fails_over

DONE = "[DONE]"


def classify_status(url: str, status: int, body: Any) -> ClientError:
    """The exception for an HTTP error answer (``retry.fails_over``)."""
    message, _, code = error_fields(body)
    if fails_over(status, code):
        return NodeUnavailableError(url, f"HTTP {status}: {message}", status)
    return RequestRejectedError(url, status, message, code)


def classify_event_error(url: str, body: dict[str, Any]) -> ClientError:
    """The exception for an error event inside an SSE stream (``retry.event_fails_over``)."""
    message, type_, code = error_fields(body)
    if event_fails_over(type_):
        return NodeUnavailableError(url, f"stream error: {message}")
    return RequestRejectedError(url, 400, message, code)


def parse_sse_line(line: str) -> dict[str, Any] | str | None:
    """A ``data:`` line's JSON object, ``DONE`` for ``[DONE]``, None for comments and other fields."""
    if not line.startswith("data:"):
        return None
    payload = line[5:].strip()
    if payload == DONE:
        return DONE
    data = json.loads(payload)
    return data if isinstance(data, dict) else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class Transport:
    def __init__(
        self,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        headers: Mapping[str, str] | None = None,  # sent with every request (e.g. the allowed sites)
    ) -> None:
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}  # only where a call says so
        self._http = httpx.AsyncClient(
            headers=dict(headers or {}), timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        )

    def _headers(self, authorized: bool) -> dict[str, str]:
        return self._auth if authorized else {}

    async def get_json(
        self,
        url: str,
        path: str,
        timeout: float | None = None,
        *,
        authorized: bool = False,
        params: dict[str, str] | None = None,
    ) -> Any:
        """GET ``url + path``; raises a classified error for anything but a 2xx."""
        headers = self._headers(authorized)
        try:
            if timeout is None:
                response = await self._http.get(url + path, headers=headers, params=params)
            else:
                response = await self._http.get(url + path, headers=headers, params=params, timeout=timeout)
        except httpx.HTTPError as exc:
            raise NodeUnavailableError(url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise classify_status(url, response.status_code, _json(response))
        return _json(response)

    async def post_json(
        self, url: str, path: str, body: dict[str, Any], *, authorized: bool = False
    ) -> dict[str, Any]:
        try:
            response = await self._http.post(url + path, json=body, headers=self._headers(authorized))
        except httpx.HTTPError as exc:
            raise NodeUnavailableError(url, f"{type(exc).__name__}: {exc}") from exc
        data = _json(response)
        if response.status_code >= 400:
            raise classify_status(url, response.status_code, data)
        if not isinstance(data, dict):
            raise NodeUnavailableError(url, "answer is not a JSON object", response.status_code)
        return data

    async def stream(
        self, url: str, path: str, body: dict[str, Any], *, authorized: bool = False
    ) -> AsyncGenerator[dict[str, Any], None]:
        """POST and yield each SSE event's JSON object until ``[DONE]`` or the end of the stream.

        Error events raise (classified); so do connection failures, before or during the stream.
        """
        try:
            async with self._http.stream(
                "POST", url + path, json=body, headers=self._headers(authorized)
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise classify_status(url, response.status_code, _json(response))
                async for line in response.aiter_lines():
                    try:
                        event = parse_sse_line(line)
                    except ValueError as exc:
                        raise NodeUnavailableError(url, f"bad SSE data: {line[:80]!r}") from exc
                    if event == DONE:
                        return
                    if isinstance(event, dict):
                        if "error" in event:
                            raise classify_event_error(url, event)
                        yield event
        except httpx.HTTPError as exc:
            raise NodeUnavailableError(url, f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        await self._http.aclose()
