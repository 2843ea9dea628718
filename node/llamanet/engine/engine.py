"""The asyncio face of the engine: tokenize, submit, iterate events, cancel.

``Engine.submit`` validates synchronously (context length, grammar, queue room) so HTTP handlers can
answer 4xx/429 before any response byte is sent; the returned ``Generation`` is then iterated.
Leaving the iteration early (a client disconnect cancels the handler) cancels the generation, and the
decode thread frees its slot at the next step.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llamanet.engine.backends import Compute, summary
from llamanet.engine.chat import ChatTemplate, choose_template
from llamanet.engine.embedder import Embedder
from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.events import Event, Failed, Finished
from llamanet.engine.outbox import EventChannel, Outbox
from llamanet.engine.params import GenerationRequest
from llamanet.engine.runtime import Runtime, RuntimeConfig
from llamanet.engine.sampler import Sampler, build_sampler
from llamanet.engine.scheduler import Job, Scheduler
from llamanet.engine.stats import EngineStats
from llamanet.engine.tool_format import Function
from llamanet.models.gguf import GGUFInfo, read_gguf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    architecture: str
    size_bytes: int
    n_ctx_train: int | None
    n_ctx_slot: int
    n_parallel: int
    chat_format: str
    n_gpu_layers: int  # what llama.cpp got: 0 where no GPU serves, whatever N_GPU_LAYERS said
    compute: Compute | None = None


def cannot_fit(n_chars: int, longest_token_bytes: int, n_ctx: int) -> bool:
    """True when a text of ``n_chars`` characters has more tokens than ``n_ctx`` however it tokenizes:
    each character is at least one byte and each token at most ``longest_token_bytes`` bytes."""
    return n_chars > (n_ctx + 1) * max(1, longest_token_bytes)


class Generation:
    """A submitted request: iterate it for events; it ends with ``Finished`` or ``Failed``."""

    def __init__(self, scheduler: Scheduler, job: Job) -> None:
        self._scheduler = scheduler
        self._job = job
        self._channel = job.channel
        self.done = False

    def cancel(self) -> None:
        if not self.done:
            self.done = True
            self._scheduler.cancel(self._job)

    async def next(self) -> Event:
        """The next event; after ``Finished`` or ``Failed`` there are none (``done`` is set)."""
        event = await self._channel.get()
        if isinstance(event, Finished | Failed):
            self.done = True
        return event

    async def __aiter__(self) -> AsyncIterator[Event]:
        try:
            while not self.done:
                yield await self.next()
        finally:
            self.cancel()


class Engine:
    def __init__(self, runtime: Runtime, info: ModelInfo, template: ChatTemplate, max_queue: int) -> None:
        self.runtime = runtime
        self.embedder: Embedder | None = None  # --embeddings: a second context on the same model
        self.info = info
        self.template = template
        self.scheduler = Scheduler(runtime, max_queue)
        self._outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Outbox] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def load(
        cls,
        path: Path,
        name: str,
        config: RuntimeConfig,
        *,
        chat_format: str | None = None,
        max_queue: int = 64,
        gguf: GGUFInfo | None = None,
        embeddings: bool = False,
    ) -> Engine:
        gguf = gguf or read_gguf(path)
        runtime = Runtime(path, config)
        bos = runtime.special_text(runtime.model.token_bos())
        eos = runtime.special_text(runtime.model.token_eos())
        template = choose_template(
            gguf_template=gguf.chat_template,
            architecture=gguf.architecture,
            override=chat_format,
            bos_token=bos,
            eos_token=eos,
            instruct=gguf.looks_instruct or gguf.chat_template is not None,
        )
        info = ModelInfo(
            name=name,
            path=path,
            architecture=gguf.architecture,
            size_bytes=path.stat().st_size,
            n_ctx_train=gguf.context_length,
            n_ctx_slot=runtime.n_ctx_slot,
            n_parallel=config.n_parallel,
            chat_format=template.name,
            n_gpu_layers=runtime.compute.gpu_layers,
            compute=runtime.compute,
        )
        engine = cls(runtime, info, template, max_queue)
        if embeddings:
            try:
                engine.embedder = Embedder(runtime, config.n_ctx, config.n_threads, max_queue)
            except BaseException:
                runtime.close()
                raise
            log.info(
                "embeddings on: %s pooling, %d dimensions, up to %d tokens per input",
                engine.embedder.pooling,
                engine.embedder.dimensions,
                engine.embedder.n_ctx,
            )
        engine.scheduler.start()
        log.info(
            "model %s loaded (%s, chat format %s, %d slots of %d tokens, on %s)",
            name,
            gguf.architecture,
            template.name,
            config.n_parallel,
            runtime.n_ctx_slot,
            summary(runtime.compute),
        )
        return engine

    # --- prompts ---------------------------------------------------------------------------------
    def check_prompt_chars(self, n_chars: int) -> None:
        """Refuse, without tokenizing it, a prompt too long for the context whatever its tokens."""
        if cannot_fit(n_chars, self.runtime.longest_token_bytes, self.info.n_ctx_slot):
            raise InvalidRequestError(
                f"the prompt has {n_chars} characters, more than this node's context of "
                f"{self.info.n_ctx_slot} tokens can hold",
                param="prompt",
                code="context_length_exceeded",
            )

    def tokenize_text(self, text: str) -> list[int]:
        """A completion prompt: BOS added as the model wants, special tokens parsed."""
        self.check_prompt_chars(len(text))
        return self.runtime.tokenize(text, add_bos=self.runtime.add_bos)

    def tokenize_continuation(self, text: str) -> list[int]:
        """Text a generation already produced, to append to its prompt: no BOS, no special tokens."""
        self.check_prompt_chars(len(text))
        return self.runtime.tokenize(text, add_bos=False, special=False)

    def tokenize_chat(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[Function] | None = None
    ) -> list[int]:
        """A chat prompt through the model's template; ``tools``: the functions offered to the model."""
        self.check_prompt_chars(sum(len(m.get("content") or "") for m in messages))
        prompt = self.template.render(messages, tools)
        self.check_prompt_chars(len(prompt))
        bos = self.template.bos_token
        add_bos = self.runtime.add_bos and not (bos and prompt.startswith(bos))
        return self.runtime.tokenize(prompt, add_bos=add_bos)

    @property
    def chat_stop(self) -> tuple[str, ...]:
        return self.template.stop

    @property
    def vocab_size(self) -> int:
        return self.runtime.n_vocab

    @property
    def context_size(self) -> int:
        """Tokens of one slot's context: a prompt plus its completion fit in it."""
        return self.info.n_ctx_slot

    # --- generation ------------------------------------------------------------------------------
    def check_fits(self, n_prompt: int, max_tokens: int) -> None:
        n_ctx = self.info.n_ctx_slot
        if n_prompt == 0:
            raise InvalidRequestError("the prompt is empty", param="prompt")
        if n_prompt >= n_ctx:
            raise InvalidRequestError(
                f"the prompt has {n_prompt} tokens; this node's context holds {n_ctx}",
                param="prompt",
                code="context_length_exceeded",
            )
        if n_prompt + max_tokens > n_ctx:
            raise InvalidRequestError(
                f"prompt ({n_prompt} tokens) plus max_tokens ({max_tokens}) exceeds the context of "
                f"{n_ctx} tokens; ask for at most {n_ctx - n_prompt} tokens",
                param="max_tokens",
                code="context_length_exceeded",
            )

    def sampler_for(self, request: GenerationRequest) -> Sampler:
        """The request's sampler (parsing its grammar, if any: callable from a worker thread)."""
        self.check_fits(len(request.prompt_tokens), request.max_tokens)
        rt = self.runtime
        return build_sampler(rt.vocab, rt.n_vocab, request.sampling, request.grammar)

    def submit(self, request: GenerationRequest, sampler: Sampler | None = None) -> Generation:
        """Queue ``request``, with the sampler ``sampler_for`` built (built here when not given)."""
        if sampler is None:
            sampler = self.sampler_for(request)
        loop = asyncio.get_running_loop()
        outbox = self._outboxes.get(loop)
        if outbox is None:
            outbox = self._outboxes[loop] = Outbox(loop)
        job = Job(
            request=request,
            sampler=sampler,
            channel=EventChannel(),
            outbox=outbox,
        )
        try:
            self.scheduler.submit(job)
        except BaseException:
            sampler.close()
            raise
        return Generation(self.scheduler, job)

    def stats(self) -> EngineStats:
        return self.scheduler.stats()

    def close(self) -> None:
        self.scheduler.close()
        if self.embedder is not None:
            self.embedder.close()
        self.runtime.close()
