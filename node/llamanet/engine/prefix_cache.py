"""Where a new request's cached prefix comes from: the pure decision of the prompt cache.

Every slot keeps the tokens its KV cells hold (its last prompt and what it generated), busy or idle.
A request goes into a free slot and skips the longest prefix it shares with any slot:

- the free slot whose own cells share the longest prefix, with no copy, if that prefix has at least
  ``min_copy`` tokens or is the whole prompt (ties: the least recently used);
- or, when another slot (busy, perhaps still generating) shares a prefix at least ``min_copy`` tokens
  longer, that slot's first ``keep`` positions are copied into the least recently used free slot;
- else the least recently used free slot, keeping what it shares (a chat template's opening).

Whatever a free slot held beyond the kept prefix is evicted, so slots are evicted least recently used
first, and a short common opening never costs another slot's long cached prompt. Each slot has its own
``n_ctx`` cells, so a request that fits the context always fits its slot: eviction frees no space,
it only decides which cached prompts survive. A copy costs one pass over a slot's KV buffers, which a
few tokens of gain do not repay.

Positions a generating slot holds never change, so any prefix of them can be copied. At least the
prompt's last token is always evaluated (its logits give the first token), so ``keep`` is at most
``len(prompt) - 1``: the ``cached_tokens`` a request reports.

Requests that arrive together find no slot holding their shared prefix yet: the first is still
evaluating it. ``awaited`` says when a request should wait instead of being placed: a busy slot is
still evaluating a prompt (``pending``) that shares at least ``min_copy`` more tokens with the request
than it could reuse now. The request stays queued (others behind it may be placed) until that slot's
evaluated positions cover the shared part, then ``place`` copies them, so the prefix is evaluated
once, not once per slot. It cannot deadlock: only a slot with work in flight is waited for, and that
work advances (``step_plan``: the oldest prompt gets a share of every step, and each prompt becomes the
oldest in turn); if it is cancelled, the request no longer waits and is placed as any other.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

COPY_MIN_TOKENS = 32  # copy another slot's prefix only when it saves at least this many tokens


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class SlotState:
    id: int
    tokens: Sequence[int]  # what the slot's KV cells hold, position by position
    busy: bool
    last_used: float  # when its last request ended (monotonic); 0 for never
    pending: Sequence[int] = ()  # prompt tokens its request has yet to evaluate, after ``tokens``


@dataclass(frozen=True)
class Placement:
    slot: int  # the free slot the request takes
    keep: int  # prompt tokens taken from the cache, not evaluated
    source: int | None = None  # the slot whose first ``keep`` positions are copied in; None: its own


def lru_order(slots: Sequence[SlotState]) -> list[SlotState]:
    """Free slots, least recently used first: the order their cached tokens are evicted in."""
    return sorted((s for s in slots if not s.busy), key=lambda s: (s.last_used, s.id))


def place(
    prompt: Sequence[int],
    slots: Sequence[SlotState],
    *,
    reuse: bool = True,
    min_copy: int = COPY_MIN_TOKENS,
    no_source: Collection[int] = (),
) -> Placement | None:
    """The slot a request with ``prompt`` takes and what it reuses; None when every slot is busy.

    ``reuse`` off: the least recently used free slot, nothing kept. ``no_source``: slots that may not
    be copied from (their own cells are still waiting for a copy).
    """
    free = lru_order(slots)
    if not free:
        return None
    if not reuse:
        return Placement(free[0].id, 0)
    limit = max(0, len(prompt) - 1)

    def shared(s: SlotState) -> int:
        return min(common_prefix(s.tokens, prompt), limit)

    own = max(free, key=shared)  # max keeps the first of equals: the least recently used
    if shared(own) < min(min_copy, limit):  # a whole short prompt counts; a short opening does not
        own = free[0]
    own_keep = shared(own)
    sources = [s for s in slots if s.busy and s.id not in no_source]
    if sources:
        src = max(sources, key=shared)
        src_keep = shared(src)
        if src_keep >= own_keep + max(1, min_copy):
            return Placement(free[0].id, src_keep, src.id)
    return Placement(own.id, own_keep)


def awaited(
    prompt: Sequence[int], slots: Sequence[SlotState], keep_now: int, *, min_copy: int = COPY_MIN_TOKENS
) -> int | None:
    """The busy slot a request should wait for, or None to place it now (reusing ``keep_now`` tokens).

    A slot is waited for while it is still evaluating a prompt whose prefix shared with ``prompt``
    (at most ``len(prompt) - 1`` tokens) is at least ``min_copy`` tokens more than ``keep_now`` and more
    than the slot has evaluated so far; of several, the one sharing the most (ties: the lowest id).
    """
    limit = max(0, len(prompt) - 1)
    best, best_shared = None, keep_now + max(1, min_copy) - 1
    for s in slots:
        if not s.busy or not s.pending:
            continue
        done = common_prefix(s.tokens, prompt)
        if done < len(s.tokens):
            continue  # the prompts part within what is evaluated: nothing more to wait for
        shared = min(done + common_prefix(s.pending, prompt[done:]), limit)
        if shared > done and shared > best_shared:
            best, best_shared = s.id, shared
    return best
