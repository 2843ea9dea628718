"""The one retry policy of the node's router and the client: which failures of one node mean "try the next".

Fail over (ban the node, try the next candidate) on what another node may not share:
- no answer: connection errors and timeouts (the callers map those themselves);
- 429 (busy) and every 5xx (broken, loading, shutting down);
- 404 ``model_not_found``: the node no longer serves the model its record still names (a stale record);
- 401/403 ``invalid_forward_proof`` / ``forwarding_refused``: the peer refused this node's forward proof
  (clock skew, another swarm secret, a keyed node without a secret), not the request.

Never on any other 4xx: the request itself is wrong (400, 401, 413 ...) and would fail anywhere. A plain
404 (no such route) and 408 are other 4xx too.
"""

from __future__ import annotations

import json
from typing import Any

STALE_RECORD_CODE = "model_not_found"
PEER_REFUSAL_CODES = frozenset({"invalid_forward_proof", "forwarding_refused"})  # ``api.peer_auth``
# error ``type``s of an event inside an SSE stream that say the node, not the request, failed
FAILOVER_EVENT_TYPES = frozenset({"server_error", "service_unavailable", "rate_limit_error"})
_MAX_ERROR_BODY = 64 * 1024


def fails_over(status: int, code: str | None = None) -> bool:
    """True if an HTTP error answer ``status`` (with OpenAI error ``code``) should go to another node."""
    return (
        status == 429
        or status >= 500
        or (status == 404 and code == STALE_RECORD_CODE)
        or (status in (401, 403) and code in PEER_REFUSAL_CODES)
    )


def event_fails_over(error_type: str | None) -> bool:
    """True if an error event in a stream (before its first token) should go to another node."""
    return error_type in FAILOVER_EVENT_TYPES


def error_fields(body: Any) -> tuple[str, str | None, str | None]:
    """(message, type, code) of an OpenAI-shaped error body, or a plain rendering of anything else."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code, type_ = err.get("code"), err.get("type")
        return (
            str(err.get("message") or err)[:500],
            type_ if isinstance(type_, str) else None,
            code if isinstance(code, str) else None,
        )
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:500], None, None
    return str(body)[:200], None, None


def error_code(content: bytes) -> str | None:
    """The OpenAI error ``code`` in a raw error body, if it has one (bodies too big to be errors: None)."""
    if len(content) > _MAX_ERROR_BODY:
        return None
    try:
        return error_fields(json.loads(content))[2]
    except ValueError:
        return None
