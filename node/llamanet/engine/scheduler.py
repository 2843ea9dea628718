"""The decode thread: continuous batching over a fixed set of slots.

Each step makes one ``llama_decode`` call holding the next token of every generating sequence plus
prompt chunks of newly admitted ones, shortest first, in steps of ``step_tokens`` (``step_plan``: a
short prompt never waits behind a long one, and a long one never starves). A request
sharing a prefix with what a slot's cells hold skips it: its own slot's (a chat's next turn) or a copy
of another's, busy or idle, and one that arrives while another slot still evaluates that prefix waits
for it, then copies it: a shared system prompt is evaluated once per node. ``prefix_cache`` decides;
``cached_tokens`` is exactly the prompt tokens not evaluated.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field

from llamanet.engine.errors import EngineClosedError, EngineError, QueueFullError
from llamanet.engine.events import Event, Failed, Finished, FinishReason, TokenDelta, TokenLogprob
from llamanet.engine.logprobs import token_logprobs
from llamanet.engine.outbox import EventChannel, Outbox
from llamanet.engine.params import GenerationRequest
from llamanet.engine.prefix_cache import Placement, SlotState, awaited, common_prefix, place
from llamanet.engine.runtime import Runtime
from llamanet.engine.sampler import Greedy, Sampler
from llamanet.engine.stats import EngineStats, ThroughputMeter
from llamanet.engine.step_plan import prompt_takes
from llamanet.engine.textstream import TextStream

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Job:
    request: GenerationRequest
    sampler: Sampler
    channel: EventChannel
    outbox: Outbox
    cancelled: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.perf_counter)
    pending: list[int] = field(default_factory=list)
    n_past: int = 0
    generated: int = 0
    next_token: int | None = None
    cached_tokens: int = 0
    first_token_at: float | None = None
    admitted: float | None = None  # when it got a slot
    text: TextStream = field(init=False)

    def __post_init__(self) -> None:
        self.text = TextStream(self.request.stop)

    def emit(self, event: Event) -> None:
        """Queue an event for the job's consumer; delivered when the scheduler flushes the outbox."""
        self.outbox.put(self.channel, event)


@dataclass(eq=False)
class Slot:
    id: int
    tokens: list[int] = field(default_factory=list)  # what this sequence's KV cells hold
    job: Job | None = None
    last_used: float = 0.0


class Scheduler:
    def __init__(self, runtime: Runtime, max_queue: int) -> None:
        self.rt = runtime
        self.max_queue = max_queue
        self.slots = [Slot(i) for i in range(runtime.config.n_parallel)]
        self._waiting: deque[Job] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self._meter = ThroughputMeter()
        self._requests_done = 0
        self._avg_job_seconds = 2.0
        self._outboxes: weakref.WeakSet[Outbox] = weakref.WeakSet()
        self._thread = threading.Thread(target=self._run, name="llamanet-decode", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # --- called from the event loop ---------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._cv:
            if self._closed:
                raise EngineClosedError("the node is shutting down")
            free = sum(1 for s in self.slots if s.job is None)
            if len(self._waiting) >= self.max_queue + free:
                eta = self._avg_job_seconds * (len(self._waiting) + 1) / len(self.slots)
                raise QueueFullError(
                    f"all {len(self.slots)} slots are busy and {len(self._waiting)} requests are waiting",
                    retry_after=max(1, round(eta)),
                )
            self._waiting.append(job)
            self._outboxes.add(job.outbox)
            self._cv.notify()

    def cancel(self, job: Job) -> None:
        job.cancelled.set()
        with self._cv:
            if job in self._waiting:
                self._waiting.remove(job)
                job.sampler.close()
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def stats(self) -> EngineStats:
        with self._cv:
            busy, waiting = sum(1 for s in self.slots if s.job is not None), len(self._waiting)
        return EngineStats(
            slots_total=len(self.slots),
            slots_busy=busy,
            queue_depth=waiting,
            tokens_per_second=self._meter.rate(),
            tokens_generated=self._meter.total,
            requests_completed=self._requests_done,
        )

    # --- the decode thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and not self._waiting and all(s.job is None for s in self.slots):
                    self._cv.wait()
                if self._closed:
                    break
                self._admit()
            try:
                self._step()
            except Exception as exc:  # keep the thread alive; fail only the jobs in flight
                log.exception("decode step failed")
                self._fail_all(EngineError(f"generation failed: {exc}"))
            self._flush()
        self._fail_all(EngineClosedError("the node shut down before the request finished"))
        with self._cv:
            while self._waiting:
                job = self._waiting.popleft()
                job.emit(Failed(EngineClosedError("the node shut down before the request started")))
                job.sampler.close()
        self._flush()

    def _flush(self) -> None:
        for outbox in list(self._outboxes):
            outbox.flush()

    def _admit(self) -> None:
        copied: set[int] = set()  # slots whose cells wait for a copy at the next decode: no sources yet
        reuse = self.rt.config.prefix_cache
        for job in list(self._waiting):  # in order; one waiting for a prefix in evaluation stays queued
            prompt = job.request.prompt_tokens
            states = [
                SlotState(s.id, s.tokens, s.job is not None, s.last_used, s.job.pending if s.job else ())
                for s in self.slots
            ]
            placed = place(prompt, states, reuse=reuse, no_source=copied)
            if placed is None:
                return
            if reuse and awaited(prompt, states, placed.keep) is not None:
                continue
            self._waiting.remove(job)
            job.n_past = job.cached_tokens = keep = self._take(self.slots[placed.slot], placed, prompt)
            if placed.source is not None and keep == placed.keep:
                copied.add(placed.slot)
            job.pending = list(prompt[keep:])
            job.admitted = time.perf_counter()
            self.slots[placed.slot].job = job

    def _take(self, slot: Slot, placed: Placement, prompt: list[int]) -> int:
        """Set up ``slot``'s cells for ``placed``; returns the prompt tokens they hold."""
        if placed.source is not None:
            if self.rt.seq_copy(placed.source, slot.id, placed.keep):
                slot.tokens = self.slots[placed.source].tokens[: placed.keep]
                return placed.keep
            # the source's sliding window moved past the prefix: fall back to the slot's own cells
            keep = min(common_prefix(slot.tokens, prompt), len(prompt) - 1)
        else:
            keep = placed.keep
        if not self.rt.seq_trim(slot.id, keep):
            keep = 0
        slot.tokens = slot.tokens[:keep]
        return keep

    def _release(self, slot: Slot) -> None:
        if slot.job is not None:
            slot.job.sampler.close()
        slot.job = None
        slot.last_used = time.monotonic()

    def _fail_all(self, error: EngineError) -> None:
        for slot in self.slots:
            if slot.job is not None:
                slot.job.emit(Failed(error))
                self._release(slot)
            slot.tokens = []
        self.rt.clear()

    def _step(self) -> None:
        rt = self.rt
        for slot in self.slots:
            if slot.job is not None and slot.job.cancelled.is_set():
                self._release(slot)
        active = [s for s in self.slots if s.job is not None]
        if not active:
            return
        outputs: list[tuple[int, Slot]] = []
        chunks: list[tuple[Slot, int]] = []
        generating = [s for s in active if s.job is not None and s.job.next_token is not None]
        for n, slot in enumerate(generating):
            assert slot.job is not None and slot.job.next_token is not None
            rt.batch_set(n, slot.job.next_token, slot.job.n_past, slot.id, True)
            outputs.append((n, slot))
        n = len(generating)
        prompting = sorted(
            ((s, s.job) for s in active if s.job is not None and s.job.pending),
            key=lambda pair: pair[1].submitted,
        )
        takes = prompt_takes(n, [len(j.pending) for _, j in prompting], rt.config.n_batch, rt.step_tokens)
        for (slot, prompter), take in zip(prompting, takes, strict=True):
            if take <= 0:
                continue
            chunk = prompter.pending[:take]
            done = len(chunk) == len(prompter.pending)
            for j, tok in enumerate(chunk):
                rt.batch_set(n + j, tok, prompter.n_past + j, slot.id, done and j == len(chunk) - 1)
            n += len(chunk)
            chunks.append((slot, len(chunk)))
            if done:
                outputs.append((n - 1, slot))
        rc = rt.decode(n)
        if rc != 0:
            raise EngineError(f"llama_decode returned {rc}")
        for slot in generating:
            job = slot.job
            assert job is not None and job.next_token is not None
            slot.tokens.append(job.next_token)
            job.n_past += 1
            job.next_token = None
        for slot, k in chunks:
            job = slot.job
            assert job is not None
            slot.tokens.extend(job.pending[:k])
            job.n_past += k
            job.pending = job.pending[k:]
        produced = 0
        for idx, slot in outputs:
            produced += self._sample(idx, slot)
        self._meter.add(produced)

    def _sample(self, idx: int, slot: Slot) -> int:
        rt = self.rt
        job = slot.job
        assert job is not None
        if isinstance(job.sampler, Greedy):
            token = rt.pick_greedy(idx, job.sampler)
        else:
            token = rt.sample(job.sampler, idx, hold_gil=job.request.grammar is None)
        if job.first_token_at is None:
            job.first_token_at = time.perf_counter()
        if rt.ends_generation(token):
            self._finish(slot, "stop")
            return 0
        logprob = None
        if job.request.logprobs is not None:
            lp, top = token_logprobs(rt.logits_row(idx), token, job.request.logprobs)
            logprob = TokenLogprob(rt.token_text(token), lp, [(rt.token_text(t), v) for t, v in top])
        job.generated += 1
        text = job.text.feed(rt.piece(token))
        job.emit(TokenDelta(text, token, logprob))
        if job.text.stopped:
            self._finish(slot, "stop")
        elif job.generated >= job.request.max_tokens or job.n_past + 1 >= rt.n_ctx_slot:
            self._finish(slot, "length")
        else:
            job.next_token = token
        return 1

    def _finish(self, slot: Slot, reason: FinishReason) -> None:
        job = slot.job
        assert job is not None
        now = time.perf_counter()
        first = job.first_token_at or now
        prompt = len(job.request.prompt_tokens) - job.request.resumed_tokens
        job.emit(
            Finished(
                finish_reason=reason,
                prompt_tokens=prompt,
                completion_tokens=job.generated + job.request.resumed_tokens,
                cached_tokens=min(job.cached_tokens, prompt),
                time_to_first_token=first - job.submitted,
                generation_time=now - job.submitted,
                text_tail=job.text.flush(),
                queue_time=(job.admitted or now) - job.submitted,
            )
        )
        self._requests_done += 1
        self._avg_job_seconds = 0.8 * self._avg_job_seconds + 0.2 * (now - job.submitted)
        self._release(slot)
