from llamanet.client.responses import ChatResponse, GenerateResponse, chunk_from_chat, chunk_from_native


def test_generate_response_keeps_the_seed_fields() -> None:
    body = {"text": "Hi", "node_id": "n", "model": "m", "tokens_generated": 3, "finish_reason": "length"}
    res = GenerateResponse.from_body(body, "http://u")
    assert (res.text, res.node_id, res.tokens_generated, res.url, res.finish_reason) == (
        "Hi", "n", 3, "http://u", "length",
    )  # fmt: skip


def test_chat_response_reads_the_first_choice_and_usage() -> None:
    body = {
        "model": "m",
        "choices": [{"message": {"role": "assistant", "content": "Yo"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
    }
    res = ChatResponse.from_body(body, "http://u", "id1")
    assert (res.text, res.finish_reason, res.tokens_generated, res.prompt_tokens) == ("Yo", "stop", 2, 5)
    assert (res.node_id, res.url, res.raw) == ("id1", "http://u", body)


def test_native_stream_events() -> None:
    assert chunk_from_native({"text": "", "finished": False}, "u", "n") is None
    mid = chunk_from_native({"text": "a", "finished": False}, "u", "n")
    assert mid is not None and (mid.text, mid.finished, mid.node_id) == ("a", False, "n")
    end = chunk_from_native({"text": "", "finished": True, "tokens_generated": 4, "node_id": "x"}, "u", "n")
    assert end is not None and (end.finished, end.tokens_generated, end.node_id) == (True, 4, "x")


def test_chat_stream_events() -> None:
    def ev(delta: dict[str, str], reason: str | None = None) -> dict[str, object]:
        return {"choices": [{"delta": delta, "finish_reason": reason}]}

    assert chunk_from_chat(ev({"role": "assistant", "content": ""}), "u", "n") is None
    assert chunk_from_chat({"choices": [], "usage": {}}, "u", "n") is None
    mid = chunk_from_chat(ev({"content": "hi"}), "u", "n")
    assert mid is not None and (mid.text, mid.finished) == ("hi", False)
    end = chunk_from_chat(ev({}, "stop"), "u", "n")
    assert end is not None and (end.text, end.finished, end.finish_reason) == ("", True, "stop")
