"""``Offload``: large inputs are prepared (rendered, tokenized, their grammar built) in a small bounded
thread pool instead of on the event loop, so ``/health``, the DHT and other requests keep answering.

Small inputs run inline: their preparation takes microseconds and the GIL-holding llama.cpp calls
(``engine.gil_calls``) make that the fast path; a thread hand-over would cost more than the work. The
pool has ``workers`` threads and at most ``max_waiting`` jobs waiting; beyond that a request gets a
429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from starlette.requests import Request

from llamanet.engine.errors import QueueFullError

T = TypeVar("T")
LARGE_CHARS = 16 * 1024  # prompt characters (or schema JSON characters) from which work leaves the loop


def is_large(n_chars: int) -> bool:
    return n_chars >= LARGE_CHARS


class Offload:
    def __init__(self, workers: int = 2, max_waiting: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prepare")
        self.max_pending = workers + max_waiting
        self.pending = 0  # submitted and not finished (a cancelled request's job still runs to its end)
        self._lock = threading.Lock()

    async def run(self, large: bool, fn: Callable[[], T], discard: Callable[[T], None] | None = None) -> T:
        """``fn()`` inline when not ``large``, else in the pool. ``discard`` frees a result nobody will
        use (the request was cancelled while ``fn`` ran)."""
        if not large:
            return fn()
        with self._lock:
            if self.pending >= self.max_pending:
                raise QueueFullError("too many large requests being prepared; retry shortly", retry_after=1)
            self.pending += 1
        future: Future[T] = self._pool.submit(fn)
        future.add_done_callback(self._finished)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if discard is not None:
                future.add_done_callback(lambda f: _discard(f, discard))
            raise

    def _finished(self, _: Future[T]) -> None:
        with self._lock:
            self.pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _discard(future: Future[T], discard: Callable[[T], None]) -> None:
    if not future.cancelled() and future.exception() is None:
        discard(future.result())


async def prepare(request: Request, fn: Callable[[], T], discard: Callable[[T], None] | None = None) -> T:
    """``fn()`` for ``request``: off the loop when the request's body is large (the app's ``Offload``)."""
    offload: Offload = request.app.state.offload
    size = len(await request.body())  # already read (and capped) by ``body_limit``
    return await offload.run(is_large(size), fn, discard)
