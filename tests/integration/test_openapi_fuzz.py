"""Every route of a real node's OpenAPI schema, fuzzed from that schema (issue 16): bodies drawn from
each request schema (valid ones, and ones bent out of shape), path parameters, wrong methods. No answer
is a 500 (a 503 only where a documented capacity limit says so), and the node is healthy after.

The JSON-schema-to-hypothesis translation is small and local (the schemas are pydantic's): types,
``anyOf``, ``$ref``, ``enum``, bounds, required and optional properties. Bounded examples and a tiny
context keep it fast: generation lengths are drawn small, and anything longer is refused by the node.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.timeout(600)]

ALLOWED_5XX = {503}  # model loading / no capacity / too many connections: documented, with Retry-After
SMALL_INTS = {"max_tokens", "max_completion_tokens", "top_logprobs", "logprobs", "n"}
LONE = st.sampled_from(["\ud800", "\udfff"])  # text with no UTF-8 form: sent as JSON escapes
JUNK = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.text(max_size=12)
    | st.just([])
    | st.just({})
)
KEYS = st.text(max_size=8) | st.integers(0, 10**30).map(str) | st.just("9" * 5000)


def texts(max_size: int) -> Any:
    plain = st.text(max_size=max_size)
    return plain | st.tuples(plain, LONE).map("".join)


@pytest.fixture(scope="module")
def fuzz_node(session_nodes: Nodes) -> NodeProcess:
    return session_nodes.start(
        SMOL,
        "--n-ctx",
        "256",
        "--n-parallel",
        "2",
        "--max-tokens-default",
        "4",
        "--embeddings",
        name="openapi-fuzz",
    )


@pytest.fixture(scope="module")
def spec(fuzz_node: NodeProcess) -> dict[str, Any]:
    r = httpx.get(f"{fuzz_node.url}/openapi.json", timeout=10)
    r.raise_for_status()
    spec: dict[str, Any] = r.json()
    return spec


def from_schema(schema: dict[str, Any], defs: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A hypothesis strategy for ``schema``: mostly valid values, sometimes junk in their place."""
    return st.one_of(_valid(schema, defs, name, depth), JUNK) if depth else _valid(schema, defs, name, depth)


def _valid(schema: dict[str, Any], defs: dict[str, Any], name: str, depth: int) -> Any:
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name, depth)
    if "anyOf" in schema:
        return st.one_of([_valid(s, defs, name, depth) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return st.just({})
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not schema.get("properties"):
            return st.dictionaries(KEYS, from_schema(extra, defs, name, depth + 1), max_size=3)
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = {k: from_schema(v, defs, k, depth + 1) for k, v in props.items()}
        return st.fixed_dictionaries(
            {k: s for k, s in fields.items() if k in required},
            optional={k: s for k, s in fields.items() if k not in required},
        )
    if kind == "array":
        items = schema.get("items", {})
        return st.lists(from_schema(items, defs, name, depth + 1), max_size=min(3, schema.get("maxItems", 3)))
    if kind == "string":
        return texts(min(40, schema.get("maxLength", 40)))
    if kind == "integer":
        if name in SMALL_INTS:
            return st.integers(-2, 8)
        lo, hi = schema.get("minimum", -(2**64)), schema.get("maximum", 2**64)
        return st.integers(lo - 1, hi + 1)
    if kind == "number":
        lo, hi = schema.get("minimum", -1e6), schema.get("maximum", 1e6)
        return st.floats(lo - 1, hi + 1, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    return JUNK


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def check(r: httpx.Response) -> None:
    assert r.status_code < 500 or r.status_code in ALLOWED_5XX, (r.request.url, r.status_code, r.text[:300])
    if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
        error = r.json()["error"]
        if r.request.url.path.startswith("/api/") and isinstance(error, str):
            assert error  # Ollama's shape, {"error": "..."}, from its routes (a 405 or 401 is OpenAI's)
        else:
            assert isinstance(error["message"], str)  # OpenAI's shape


def test_schema_has_every_route(spec: dict[str, Any]) -> None:
    paths = set(spec["paths"])
    assert {"/generate", "/v1/chat/completions", "/v1/completions", "/v1/models/{model_id}"} <= paths
    assert {"/v1/embeddings", "/api/embed", "/api/embeddings"} <= paths


def test_every_route_fuzzed_from_its_schema_never_500s(fuzz_node: NodeProcess, spec: dict[str, Any]) -> None:
    defs = spec["components"]["schemas"]
    ops = operations(spec)
    with httpx.Client(base_url=fuzz_node.url, timeout=60) as client:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            path, method, op = data.draw(st.sampled_from(ops))
            url = path
            for param in op.get("parameters", []):
                value = data.draw(
                    st.text(min_size=1, max_size=300) | st.sampled_from([SMOL, "..", "%00", "m" * 9000])
                )
                url = url.replace("{" + param["name"] + "}", quote(value, safe=""))
            body = None
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                body = data.draw(from_schema(content["application/json"]["schema"], defs))
            if data.draw(st.integers(0, 9)) == 0:  # now and then the wrong method
                method = data.draw(st.sampled_from(["get", "post", "put", "delete"]))
            sent = None if body is None else json.dumps(body).encode()  # ensure_ascii: surrogates escaped
            headers = {"content-type": "application/json"}
            check(client.request(method.upper(), url, content=sent, headers=headers))

        run()
        assert client.get("/health").status_code == 200
