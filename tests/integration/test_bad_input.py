"""Bad input gets a 4xx with an OpenAI-style error body; never a 500, a hang or a crash."""

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def small(session_nodes: Nodes) -> NodeProcess:
    # a small context bounds every generation the fuzzer manages to make valid
    return session_nodes.start(
        SMOL, "--n-ctx", "256", "--n-parallel", "2", "--max-tokens-default", "16", name="fuzz"
    )


def assert_openai_error(r: httpx.Response, status: int | None = None) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, r.text
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["type"], str)


CHAT = "/v1/chat/completions"
BAD = [
    (CHAT, {"messages": []}, 400),
    (CHAT, {"messages": [{"role": "wizard", "content": "hi"}]}, 400),
    (CHAT, {"messages": [{"role": "user"}]}, None),
    (CHAT, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": -1}, 400),
    (CHAT, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**9}, 400),
    (CHAT, {"messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}, 400),
    (CHAT, {"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, 400),
    (CHAT, {"messages": [{"role": "user", "content": "hi"}], "model": "nope"}, 404),
    (
        CHAT,
        {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_schema"}},
        400,
    ),
    (CHAT, {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400),
    (CHAT, {}, 400),
    (CHAT, [], 400),
    ("/v1/completions", {"prompt": "word " * 400}, 400),
    ("/v1/completions", {"prompt": ""}, 400),
    ("/v1/completions", {"prompt": "x", "logit_bias": {"abc": 1}}, 400),
    ("/v1/completions", {"prompt": "x", "logit_bias": {"99999999": 1}}, 400),
    ("/generate", {"prompt": 42}, 400),
    ("/generate", {"max_tokens": 5}, 400),
    ("/generate/stream", {"prompt": "x", "max_tokens": 0}, 400),
]


@pytest.mark.parametrize(("path", "body", "status"), BAD)
def test_bad_bodies(small: NodeProcess, path: str, body: Any, status: int | None) -> None:
    assert_openai_error(httpx.post(f"{small.url}{path}", json=body, timeout=30), status)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b'"just a string"',
        b"\xff\xfe",
        b'{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
        b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": Infinity}',
        b'{"messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": NaN}}',
    ],
)
def test_malformed_json(small: NodeProcess, raw: bytes) -> None:
    r = httpx.post(
        f"{small.url}{CHAT}", content=raw, headers={"content-type": "application/json"}, timeout=30
    )
    assert_openai_error(r, 400)


def test_body_too_large(small: NodeProcess) -> None:
    r = httpx.post(
        f"{small.url}/generate",
        content=b"x" * (9 * 1024 * 1024),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert_openai_error(r, 413)


def test_unknown_route_and_method(small: NodeProcess) -> None:
    assert_openai_error(httpx.get(f"{small.url}/v1/nothing", timeout=10), 404)
    assert_openai_error(httpx.get(f"{small.url}/generate", timeout=10), 405)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=6,
)
MSG = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "system", "assistant", "bot"]) | JSON,
        "content": st.text(max_size=40) | JSON,
    }
)
FIELDS = {
    "model": st.sampled_from([SMOL, "llamanet", "other"]) | JSON,
    "max_tokens": st.integers(-5, 400) | JSON,
    "temperature": st.floats(-1, 3, allow_nan=False) | JSON,
    "top_p": st.floats(-0.5, 1.5, allow_nan=False),
    "top_k": st.integers(-5, 2000),
    "seed": st.integers(-(2**70), 2**70),
    "stop": st.text(max_size=5) | st.lists(st.text(max_size=5), max_size=20) | JSON,
    "stream": st.booleans() | JSON,
    "logprobs": st.booleans() | st.integers(-2, 30) | JSON,
    "presence_penalty": st.floats(-3, 3, allow_nan=False),
    "response_format": st.sampled_from([{"type": "json_object"}, {"type": "text"}, {"type": "xml"}]) | JSON,
}
BODIES = {
    "/generate": st.fixed_dictionaries({"prompt": st.text(max_size=60) | JSON}, optional=FIELDS),
    "/v1/completions": st.fixed_dictionaries(
        {"prompt": st.text(max_size=60) | st.lists(st.text(max_size=20), max_size=3) | JSON}, optional=FIELDS
    ),
    CHAT: st.fixed_dictionaries({"messages": st.lists(MSG, max_size=3) | JSON}, optional=FIELDS),
}


@pytest.mark.slow
@pytest.mark.parametrize("path", list(BODIES))
def test_fuzzed_bodies_never_500(small: NodeProcess, path: str) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=BODIES[path])
    def check(body: dict[str, Any]) -> None:
        r = httpx.post(f"{small.url}{path}", json=body, timeout=120)
        assert r.status_code < 500, (body, r.status_code, r.text)
        if r.status_code >= 400:
            assert_openai_error(r)
        elif r.headers["content-type"].startswith("application/json"):
            assert r.json()

    check()
    assert httpx.get(f"{small.url}/health", timeout=10).status_code == 200
