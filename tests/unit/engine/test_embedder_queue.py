"""The embedder's thread and queue with a stand-in context (no model): the event loop stays free while
a request decodes, requests beyond ``max_queue`` waiting are refused, a cancelled request stops at the
next decode, and inputs are checked (too long, empty, outside the vocabulary) before any decode."""

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from llamanet.engine import embedder as module
from llamanet.engine.embedder import Embedder
from llamanet.engine.errors import InvalidRequestError, QueueFullError


class FakeRuntime:
    longest_token_bytes = 4
    n_vocab = 100

    def tokenize(self, text: str, add_bos: bool, special: bool = True) -> list[int]:
        return [1 + len(word) for word in text.split()]


class FakeContext:
    """Decodes when ``go`` is set; an input's vector is its first token on axis 0."""

    n_ctx, dimensions, pooling = 8, 3, 1

    def __init__(self, *_: Any) -> None:
        self.go = threading.Event()
        self.decodes: list[list[list[int]]] = []

    def decode(self, inputs: Sequence[Sequence[int]]) -> Any:
        assert self.go.wait(10)
        self.decodes.append([list(t) for t in inputs])
        return np.array([[t[0], 0, 0] for t in inputs], dtype=np.float32)

    def close(self) -> None:
        pass


@pytest.fixture
def embedder(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(module, "EmbeddingContext", FakeContext)
    e = Embedder(FakeRuntime(), 8, 1, max_queue=1)  # type: ignore[arg-type]
    yield e
    e.context.go.set()
    e.close()


async def test_the_loop_stays_free_and_requests_past_the_queue_are_429s(embedder: Any) -> None:
    running = asyncio.ensure_future(embedder.embed(["a bb"]))
    waiting = asyncio.ensure_future(embedder.embed([[5, 6]]))
    await asyncio.sleep(0.05)  # the loop runs while the first decode is held
    assert not running.done()
    with pytest.raises(QueueFullError):
        await embedder.embed(["x"])
    embedder.context.go.set()
    first, second = await running, await waiting
    assert first.prompt_tokens == 2 and first.vectors.tolist() == [[1.0, 0.0, 0.0]]  # normalised
    assert second.prompt_tokens == 2 and embedder.context.decodes == [[[2, 3]], [[5, 6]]]


async def test_a_cancelled_request_stops_before_its_next_decode(embedder: Any) -> None:
    task = asyncio.ensure_future(embedder.embed([[1] * 8, [2] * 8, [3] * 8]))  # three decodes
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    embedder.context.go.set()
    await asyncio.sleep(0.1)
    assert len(embedder.context.decodes) <= 1


@pytest.mark.parametrize(
    ("inputs", "code"),
    [(["w " * 9], "context_length_exceeded"), (["x" * 100], "context_length_exceeded"),
     ([""], "empty_input"), ([[1, 100]], "invalid_token"), ([[-1]], "invalid_token")],
)  # fmt: skip
async def test_bad_inputs_are_refused_before_any_decode(embedder: Any, inputs: list[Any], code: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        await embedder.embed(inputs)
    assert err.value.code == code and err.value.param == "input" and not embedder.context.decodes


async def test_truncate_cuts_long_inputs_to_the_context(embedder: Any) -> None:
    embedder.context.go.set()
    result = await embedder.embed(["w " * 9, "x" * 100], truncate=True)
    assert result.prompt_tokens == 9 and [len(t) for d in embedder.context.decodes for t in d] == [8, 1]
