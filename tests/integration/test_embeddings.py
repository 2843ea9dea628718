"""Embeddings from a real node serving SmolLM2 with --embeddings, driven by the ``openai`` and ``ollama``
packages: meaning (a paraphrase is closer than an unrelated sentence), base64 equal to floats, token-array
input, the 400s (dimensions, too long, a node without --embeddings), generation going on beside a long
embedding request, and a node without --embeddings forwarding to one with it."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import llama_cpp
import numpy as np
import ollama
import openai
import pytest

from llamanet.models.cache import ModelCache
from tests.integration.conftest import SMOL, Nodes
from tests.nodeproc import NodeProcess

pytestmark = pytest.mark.model
ARGS = ("--n-ctx", "256", "--n-parallel", "2", "--heartbeat-interval", "1", "--max-tokens-default", "16")
CAT, PARAPHRASE, UNRELATED = (
    "The cat sat on the mat.",
    "A cat was sitting on the rug.",
    "The stock market fell sharply on Monday.",
)


def node_id(node: NodeProcess) -> str:
    node_id: str = httpx.get(f"{node.url}/status", timeout=10).json()["node_id"]
    return node_id


@pytest.fixture(scope="module")
def swarm(node_logs: Path, model_cache: ModelCache, request: pytest.FixtureRequest) -> Iterator[Nodes]:
    """``embedding``: SmolLM2 with --embeddings; ``plain``: SmolLM2 without, in the same swarm."""
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    embedding = nodes.start(SMOL, *ARGS, "--embeddings", name="embed")
    plain = nodes.start(SMOL, *ARGS, "--bootstrap-nodes", f"127.0.0.1:{embedding.dht_port}", name="plain")
    assert plain is nodes.started[1]
    yield nodes
    nodes.stop_all(request.session.testsfailed > failed_before)


@pytest.fixture(scope="module")
def node(swarm: Nodes) -> NodeProcess:
    return swarm.started[0]


@pytest.fixture(scope="module")
def client(node: NodeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{node.url}/v1", api_key="unused", max_retries=0, timeout=120)


def vectors(r: openai.types.CreateEmbeddingResponse) -> np.ndarray:
    assert [d.index for d in r.data] == list(range(len(r.data)))
    return np.array([d.embedding for d in r.data], dtype=np.float64)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(client: openai.OpenAI) -> None:
    r = client.embeddings.create(model=SMOL, input=[CAT, PARAPHRASE, UNRELATED], encoding_format="float")
    assert r.object == "list" and r.model == SMOL and all(d.object == "embedding" for d in r.data)
    v = vectors(r)
    assert v.shape == (3, 576)  # SmolLM2-135M's hidden size
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)  # L2-normalised, as OpenAI's
    cos = v @ v.T  # normalised: dot products are cosine similarities
    assert cos[0, 1] > cos[0, 2] + 0.05 and cos[0, 1] > cos[1, 2]
    assert r.usage.prompt_tokens == r.usage.total_tokens > 12


def test_base64_decodes_to_the_float_answer(client: openai.OpenAI, node: NodeProcess) -> None:
    floats = vectors(client.embeddings.create(model=SMOL, input=[CAT, UNRELATED], encoding_format="float"))
    by_sdk = vectors(client.embeddings.create(model=SMOL, input=[CAT, UNRELATED]))  # base64, decoded by it
    assert np.array_equal(by_sdk, floats)
    raw = client.embeddings.create(model=SMOL, input=[CAT, UNRELATED], encoding_format="base64").data
    assert all(isinstance(d.embedding, str) for d in raw)
    decoded = [np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in raw]  # type: ignore[arg-type]
    assert np.array_equal(np.array(decoded, dtype=np.float64), floats)


def test_token_arrays_embed_as_their_text(client: openai.OpenAI, model_cache: ModelCache) -> None:
    path, _ = model_cache.resolve(SMOL)
    vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    tokens = vocab.tokenize(
        CAT.encode(), add_bos=True, special=False
    )  # as the node does: BOS as the model says
    text = vectors(client.embeddings.create(model=SMOL, input=CAT, encoding_format="float"))
    one = client.embeddings.create(model=SMOL, input=tokens, encoding_format="float")
    several = client.embeddings.create(model=SMOL, input=[tokens, tokens[:3]], encoding_format="float")
    assert np.allclose(vectors(one), text, atol=1e-5) and np.allclose(vectors(several)[0], text[0], atol=1e-5)
    assert one.usage.prompt_tokens == len(tokens) and several.usage.prompt_tokens == len(tokens) + 3


def test_dimensions_other_than_the_models_and_too_long_inputs_are_400s(client: openai.OpenAI) -> None:
    assert len(client.embeddings.create(model=SMOL, input="x", dimensions=576).data[0].embedding) == 576
    with pytest.raises(openai.BadRequestError) as dims:
        client.embeddings.create(model=SMOL, input="x", dimensions=256)
    assert dims.value.status_code == 400 and "576 dimensions" in dims.value.message
    with pytest.raises(openai.BadRequestError) as long:
        client.embeddings.create(model=SMOL, input="word " * 400)  # more than --n-ctx 256 tokens
    assert long.value.code == "context_length_exceeded" and "256 tokens per input" in long.value.message
    with pytest.raises(openai.BadRequestError) as bad_token:
        client.embeddings.create(model=SMOL, input=[[1, 2, 10**9]])
    assert bad_token.value.code == "invalid_token"


def test_a_node_without_embeddings_and_no_peer_with_them_is_a_400(smol: NodeProcess) -> None:
    alone = openai.OpenAI(base_url=f"{smol.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        alone.embeddings.create(model=SMOL, input=CAT)
    assert err.value.code == "embeddings_disabled" and "started without --embeddings" in err.value.message


def test_ollamas_embed_routes_give_the_same_vectors(client: openai.OpenAI, node: NodeProcess) -> None:
    want = vectors(client.embeddings.create(model=SMOL, input=[CAT, UNRELATED], encoding_format="float"))
    o = ollama.Client(host=node.url, timeout=60)
    r = o.embed(SMOL, [CAT, UNRELATED])
    assert r.model == SMOL and np.array_equal(np.array(r.embeddings), want) and r.prompt_eval_count
    # the older route; alone in its decode, so equal to float32 rounding (batches change the sums' order)
    assert np.allclose(np.array(o.embeddings(SMOL, CAT).embedding), want[0], atol=1e-6)
    assert o.show(SMOL).capabilities == ["completion", "embedding"]
    long = o.embed(SMOL, "word " * 400)  # Ollama's default: truncated to the context
    assert long.prompt_eval_count == 256
    with pytest.raises(ollama.ResponseError) as err:
        o.embed(SMOL, "word " * 400, truncate=False)
    assert err.value.status_code == 400 and "256 tokens per input" in err.value.error


def test_generation_goes_on_while_a_long_embedding_request_runs(
    client: openai.OpenAI, node: NodeProcess
) -> None:
    texts = [f"{i}: " + "a fairly long sentence about cats and dogs " * 25 for i in range(8)]
    done: dict[str, float] = {}

    def embed() -> None:
        client.embeddings.create(model=SMOL, input=texts)
        done["embed"] = time.monotonic()

    worker = threading.Thread(target=embed)
    worker.start()
    time.sleep(0.3)  # the embedding request is running
    started = time.monotonic()
    assert httpx.get(f"{node.url}/health", timeout=5).status_code == 200
    health_s = time.monotonic() - started
    chat = client.chat.completions.create(
        model=SMOL, max_tokens=4, messages=[{"role": "user", "content": "Hi"}], temperature=0
    )
    done["chat"] = time.monotonic()
    worker.join(timeout=120)
    assert chat.usage is not None and chat.usage.completion_tokens > 0
    assert health_s < 1.0, f"/health took {health_s:.2f}s while embeddings ran"
    assert done["chat"] < done["embed"], "the generation waited for the embedding request"


def test_a_node_without_embeddings_forwards_to_one_with_them(swarm: Nodes, client: openai.OpenAI) -> None:
    embedding, plain = swarm.started
    want = vectors(client.embeddings.create(model=SMOL, input=[CAT], encoding_format="float"))
    body = {"model": SMOL, "input": [CAT], "encoding_format": "float"}
    deadline = time.monotonic() + 60  # until the plain node has read the embedding node's record
    while (r := httpx.post(f"{plain.url}/v1/embeddings", json=body, timeout=60)).status_code != 200:
        assert r.status_code == 400 and time.monotonic() < deadline, r.text
        time.sleep(0.3)
    assert r.headers["x-llamanet-node"] == node_id(embedding)
    assert np.array_equal(np.array([d["embedding"] for d in r.json()["data"]]), want)
    o = ollama.Client(host=plain.url, timeout=60)
    assert np.array_equal(np.array(o.embed(SMOL, CAT).embeddings), want)  # Ollama's route is forwarded too
    chat = httpx.post(
        f"{plain.url}/v1/chat/completions",
        json={"model": SMOL, "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]},
        timeout=60,
    )
    assert chat.status_code == 200 and "x-llamanet-node" not in chat.headers  # generation is served there
