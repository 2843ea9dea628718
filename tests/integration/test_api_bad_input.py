"""Fuzzed bodies to Ollama's routes and ``/v1/responses`` on a real node: a 4xx in the route's own error
shape or an answer, never a 500, a hang or a crash."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = [pytest.mark.model, pytest.mark.slow]

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=6,
)
MODEL = st.sampled_from([SMOL, f"{SMOL}:latest", "llamanet", "other"]) | JSON
OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "num_predict": st.integers(-3, 8) | JSON,
        "temperature": st.floats(-1, 3, allow_nan=False) | JSON,
        "top_k": st.integers(-5, 2000),
        "seed": st.integers(-(2**70), 2**70),
        "stop": st.lists(st.text(max_size=5), max_size=20) | JSON,
        "mirostat": st.integers(-1, 3),
        "typical_p": st.floats(0, 2, allow_nan=False),
        "repeat_last_n": st.integers(-3, 100),
        "num_ctx": st.integers(-5, 10**6) | JSON,
    },
)
OLLAMA_FIELDS = {
    "model": MODEL,
    "stream": st.booleans() | JSON,
    "options": OPTIONS | JSON,
    "format": st.sampled_from(["", "json", "yaml", {"type": "object"}, {"type": "wat"}]) | JSON,
    "keep_alive": st.sampled_from(["5m", -1, 0]) | JSON,
    "think": st.booleans() | JSON,
    "logprobs": st.booleans() | JSON,
    "top_logprobs": st.integers(-2, 30),
}
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", "bot"]) | JSON},
    optional={"content": st.text(max_size=40) | JSON, "images": JSON},
)
ITEM = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "developer", "assistant", "wizard"]) | JSON},
    optional={
        "type": st.sampled_from(["message", "function_call_output"]) | JSON,
        "content": st.text(max_size=40)
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["input_text", "input_image"]) | JSON, "text": st.text(max_size=10)}
            ),
            max_size=2,
        )
        | JSON,
    },
)
RESPONSES_FIELDS = {
    "model": MODEL,
    "instructions": st.text(max_size=30) | JSON,
    "max_output_tokens": st.integers(-2, 8) | JSON,
    "temperature": st.floats(-1, 3, allow_nan=False) | JSON,
    "stream": st.booleans() | JSON,
    "text": st.sampled_from([{"format": {"type": "json_object"}}, {"format": {"type": "json_schema"}}])
    | JSON,
    "metadata": st.dictionaries(st.text(max_size=70), st.text(max_size=10), max_size=20) | JSON,
    "truncation": st.sampled_from(["auto", "disabled", "sometimes"]) | JSON,
    "tool_choice": st.sampled_from(["none", "auto", "required"]) | JSON,
    "store": JSON,
    "reasoning": JSON,
}
BODIES = {
    "/api/chat": st.fixed_dictionaries(
        {"messages": st.lists(MESSAGE, max_size=3) | JSON}, optional=OLLAMA_FIELDS
    ),
    "/api/generate": st.fixed_dictionaries(
        {"prompt": st.text(max_size=60) | JSON},
        optional={**OLLAMA_FIELDS, "system": st.text(max_size=20) | JSON, "raw": st.booleans() | JSON},
    ),
    "/api/show": st.fixed_dictionaries({}, optional={"model": MODEL, "name": MODEL}),
    "/v1/responses": st.fixed_dictionaries(
        {"input": st.text(max_size=60) | st.lists(ITEM, max_size=3) | JSON}, optional=RESPONSES_FIELDS
    ),
}


@pytest.fixture(scope="module")
def small(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(
        SMOL, "--n-ctx", "256", "--n-parallel", "2", "--max-tokens-default", "8", name="api-fuzz"
    )


def assert_error_shape(path: str, r: httpx.Response) -> None:
    err = r.json()["error"]
    if path.startswith("/api/"):
        assert isinstance(err, str) and err, r.text
    else:
        assert isinstance(err["message"], str) and err["message"] and isinstance(err["type"], str), r.text


def assert_answer(path: str, r: httpx.Response) -> None:
    if r.headers["content-type"].startswith("application/x-ndjson"):
        lines = [json.loads(line) for line in r.text.splitlines() if line]
        assert lines and (lines[-1].get("done") is True or isinstance(lines[-1].get("error"), str)), r.text
    elif r.headers["content-type"].startswith("text/event-stream"):
        assert "event: response.created" in r.text, r.text
    else:
        assert r.json()


@pytest.mark.parametrize("path", list(BODIES))
def test_fuzzed_bodies_never_500(small: NodeProcess, path: str) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=BODIES[path])
    def check(body: dict[str, Any]) -> None:
        r = httpx.post(f"{small.url}{path}", json=body, timeout=120)
        assert r.status_code < 500, (body, r.status_code, r.text)
        if r.status_code >= 400:
            assert_error_shape(path, r)
        else:
            assert_answer(path, r)

    check()
    assert httpx.get(f"{small.url}/health", timeout=10).status_code == 200
