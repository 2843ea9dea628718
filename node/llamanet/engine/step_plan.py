"""How many tokens of each pending prompt one decode step evaluates: the pure decision of the scheduler.

A step holds the next token of every generating sequence, then prompt tokens up to a budget. On a CPU a
step's time grows with its tokens (measured with SmolLM2 on one thread: 162 prompt tokens/s whether
the chunks are 64 or 512 tokens, so a 512-token step takes 3.2 s, a 128-token one 0.8 s), and every
sequence in the step waits for all of it. So:

- the budget is ``step_tokens`` in all (generating tokens included; the node's ``--step-tokens``,
  128 on a CPU, ``n_batch`` on a GPU, where a larger batch costs little more time): a long prompt is
  evaluated in such chunks, and a request arriving meanwhile waits for one short step, not a long one;
- the oldest pending prompt always gets a quarter of the budget (progress: each prompt becomes the
  oldest in turn, so none starves, and ``prefix_cache.awaited``'s waiters are released);
- the rest goes shortest remaining prompt first: a chat's next turn (a few dozen new tokens once its
  history is cached) is evaluated in the next step instead of behind another request's 1000-token
  system prompt, which takes a few tokens less per step meanwhile.

With one thread per step the total work is the same, only its order changes; ``n_batch`` stays the
hard limit of a step (the llama.cpp batch's size).
"""

from __future__ import annotations

from collections.abc import Sequence

CPU_STEP_TOKENS = 128  # measured: the same prompt tokens/s as 512-token steps on 1 thread, -3 % on 2


def prompt_budget(generating: int, n_batch: int, step_tokens: int) -> int:
    """Prompt tokens a step may hold beside ``generating`` tokens: what ``step_tokens`` leaves, at least
    a quarter of it (many generating sequences never starve the prompts), never beyond ``n_batch``."""
    room = max(0, n_batch - generating)
    return min(room, max(step_tokens - generating, step_tokens // 4, 1))


def prompt_takes(generating: int, pending: Sequence[int], n_batch: int, step_tokens: int) -> list[int]:
    """Tokens of each pending prompt this step evaluates; ``pending``: their remaining lengths, oldest
    first (each > 0). The result is in the same order and sums to at most ``prompt_budget``."""
    takes = [0] * len(pending)
    budget = prompt_budget(generating, n_batch, step_tokens)
    if not pending or budget <= 0:
        return takes
    takes[0] = min(pending[0], max(1, budget // 4))
    budget -= takes[0]
    for i in sorted(range(len(pending)), key=lambda i: (pending[i] - takes[i], i)):
        extra = min(pending[i] - takes[i], budget)
        takes[i] += extra
        budget -= extra
        if budget == 0:
            break
    return takes
