import pytest

from llamanet.client.errors import NodeUnavailableError, RequestRejectedError
from llamanet.client.transport import DONE, classify_event_error, classify_status, parse_sse_line


def err(type_: str | None, message: str = "boom", code: str | None = None) -> dict[str, object]:
    return {"error": {"message": message, "type": type_, "code": code}}


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_statuses_another_node_may_not_have_are_retryable(status: int) -> None:
    exc = classify_status("http://n", status, err("x"))
    assert isinstance(exc, NodeUnavailableError)
    assert (exc.status, exc.url) == (status, "http://n")
    assert "boom" in exc.reason


def test_a_stale_records_model_not_found_is_retried_elsewhere() -> None:
    exc = classify_status("http://n", 404, err("invalid_request_error", code="model_not_found"))
    assert isinstance(exc, NodeUnavailableError) and exc.status == 404


@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 413, 422])
def test_bad_requests_are_not_retried(status: int) -> None:
    exc = classify_status("http://n", status, err("invalid_request_error", "bad max_tokens", "c"))
    assert isinstance(exc, RequestRejectedError)
    assert (exc.status, exc.message, exc.code) == (status, "bad max_tokens", "c")


def test_non_openai_error_bodies_are_rendered() -> None:
    assert "nope" in str(classify_status("u", 400, {"detail": "nope"}))
    assert "plain text" in str(classify_status("u", 502, "plain text"))


def test_stream_error_events_are_classified_by_type() -> None:
    assert isinstance(classify_event_error("u", err("server_error")), NodeUnavailableError)
    assert isinstance(classify_event_error("u", err("service_unavailable")), NodeUnavailableError)
    assert isinstance(classify_event_error("u", err("invalid_request_error")), RequestRejectedError)


def test_sse_lines() -> None:
    assert parse_sse_line('data: {"text": "hi", "finished": false}') == {"text": "hi", "finished": False}
    assert parse_sse_line("data: [DONE]") == DONE
    assert parse_sse_line(": keep-alive") is None
    assert parse_sse_line("") is None
    assert parse_sse_line("data: [1, 2]") is None
    with pytest.raises(ValueError):
        parse_sse_line("data: {broken")
