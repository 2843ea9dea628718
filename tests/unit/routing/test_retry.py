import json

import pytest

from llamanet.routing.retry import error_code, error_fields, event_fails_over, fails_over


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 508])
def test_busy_and_broken_nodes_fail_over(status: int) -> None:
    assert fails_over(status)


def test_a_stale_records_model_not_found_fails_over_other_404s_do_not() -> None:
    assert fails_over(404, "model_not_found")
    assert not fails_over(404)
    assert not fails_over(404, "not_found")


def test_a_peer_refusing_this_nodes_forward_proof_fails_over_a_refused_user_key_does_not() -> None:
    assert fails_over(401, "invalid_forward_proof") and fails_over(403, "forwarding_refused")
    assert not fails_over(401, "invalid_api_key") and not fails_over(400, "invalid_forward_proof")


@pytest.mark.parametrize("status", [400, 401, 403, 408, 413, 422])
def test_other_client_errors_never_fail_over(status: int) -> None:
    assert not fails_over(status, "model_not_found" if status == 400 else None)


def test_stream_error_events() -> None:
    assert event_fails_over("server_error") and event_fails_over("rate_limit_error")
    assert not event_fails_over("invalid_request_error") and not event_fails_over(None)


def test_error_bodies() -> None:
    body = {"error": {"message": "gone", "type": "invalid_request_error", "code": "model_not_found"}}
    assert error_fields(body) == ("gone", "invalid_request_error", "model_not_found")
    assert error_fields({"error": {"message": "m", "code": 7}})[2] is None  # a code must be a string
    assert error_fields({"detail": "nope"})[0] == "nope"
    assert error_code(json.dumps(body).encode()) == "model_not_found"
    assert error_code(b"<html>") is None
    assert error_code(b"[1]") is None
