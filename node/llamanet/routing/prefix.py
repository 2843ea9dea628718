"""Pure prefix routing: requests that share a prefix go to the same node, within a bounded load.

- ``chat_text`` / ``content_text``: the leading text of a chat request (roles and texts of its messages,
  in order: the system prompt and first messages; the same for the chat, Responses and Ollama APIs).
  A completion's leading text is its prompt. No tokenizer: the entry node may serve another model.
- ``prefix_key``: a hash of the first ``min_chars`` characters; None when the text is shorter (a short
  prefix is cheap to evaluate again: not worth steering for). Two requests have the same key exactly
  when their first ``min_chars`` characters agree.
- ``ranked``: rendezvous (highest random weight) hashing of node ids for a key: every node agrees on the
  order without coordination, and when a node leaves only the keys it ranked first move (to their
  second choice); a node that joins takes only the keys it now ranks first.
- ``choose``: among the nodes that ``fit`` (their load stays bounded, ``within_bound``: a node above
  ``1 + e`` times the average load of the candidates, counting the request being placed, is skipped;
  and a free slot while any candidate has one, ``has_room``: the bound alone lets a node hold more
  requests than it has slots when every node is busy, and a request queued there while another node
  has a slot idle waits longer than evaluating the prefix again would take), the one that holds the
  most of the chat (``Load.depth``), else the first in rendezvous order.
- ``boundary_keys`` / ``held_depth`` / ``deeper_elsewhere``: what a node holds, by message boundary.
  With ``--prefix-holdings on`` each node publishes the boundary key of the whole of each chat it
  served lately (``PrefixHoldings``, bounded, in ``/status``); a chat's next turn holds the previous
  turn's messages as a prefix, so the node that served that turn holds the deepest boundary of it and
  keeps the conversation: a turn that
  overflowed to another node's slot stays there, instead of going back to the owner, which lacks its
  history, and pushing one of the owner's own conversations out. A claim is only a preference among
  nodes within the bounded load: a node claiming keys it does not hold gets no more than its share.
- ``PrefixPolicy``: the node's settings (``--prefix-routing``, ``--prefix-min-chars``,
  ``--prefix-load-bound``) and the key of a request's leading text under them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MESSAGE_SEP, ROLE_SEP = "\x1e", "\x1f"  # cannot be confused with a role name


@dataclass(frozen=True)
class Load:
    """One candidate node: its hashing id (a node id), requests running, waiting or being sent to it, and
    its slots (0: unknown, counts as one), and how much of the request it holds."""

    key: str
    requests: int
    slots: int = 0
    depth: int = 0  # message boundaries of the request it holds (``held_depth``): the most wins


@dataclass(frozen=True)
class PrefixPolicy:
    enabled: bool = True
    min_chars: int = 512
    load_bound: float = 0.25  # e: a node above (1 + e) x the average load is skipped

    def key(self, text: str | None) -> str | None:
        """The prefix key of a request's leading text; None: route it without regard to its prefix."""
        if not self.enabled or text is None:
            return None
        return prefix_key(text, self.min_chars)


PREFIX_OFF = PrefixPolicy(enabled=False)


def content_text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of parts (dicts or objects); else ''."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        text = part.get("text") if isinstance(part, Mapping) else getattr(part, "text", None)
        if isinstance(text, str):
            texts.append(text)
    return "".join(texts)


def chat_text(messages: Iterable[tuple[str, Any]], limit: int | None = None) -> str:
    """The leading text of a chat: ``(role, content)`` pairs in order (``content_text``), ``limit``:
    stop once this long."""
    out: list[str] = []
    size = 0
    for role, content in messages:
        out.append(f"{MESSAGE_SEP}{role}{ROLE_SEP}{content_text(content)}")
        size += len(out[-1])
        if limit is not None and size >= limit:
            break
    return "".join(out)


def prefix_key(text: str, min_chars: int) -> str | None:
    """A hash of ``text``'s first ``min_chars`` characters; None when ``text`` is shorter."""
    if len(text) < max(1, min_chars):
        return None
    head = text[:min_chars].encode("utf-8", "surrogatepass")  # JSON may carry lone surrogates
    return hashlib.blake2b(head, digest_size=16).hexdigest()


def _weight(key: str, node: str) -> int:
    digest = hashlib.blake2b(f"{key}\x00{node}".encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def ranked(key: str, nodes: Iterable[str]) -> list[str]:
    """The nodes in rendezvous order for ``key``: the first owns it, the next takes it if it is skipped."""
    return sorted(set(nodes), key=lambda n: (-_weight(key, n), n))


def within_bound(node: Load, pool: Sequence[Load], e: float) -> bool:
    """True if ``node``, given the request, stays within ``1 + e`` times the pool's average load.

    Load is requests per slot, with the request being placed counted once in the pool: ``node`` may
    hold ``ceil((1 + e) * (requests + 1) * slots / total slots)`` requests with it (consistent hashing
    with bounded loads, Mirrokni et al., with slots as capacity weights). At least one node always fits.
    """
    total = sum(p.requests for p in pool) + 1
    weight = sum(max(1, p.slots) for p in pool)
    capacity = math.ceil((1 + e) * total * max(1, node.slots) / weight - 1e-9)
    return node.requests + 1 <= capacity


def has_room(node: Load) -> bool:
    """A free slot for one more request (unknown slots: always)."""
    return node.slots <= 0 or node.requests < node.slots


def fits(node: Load, pool: Sequence[Load], e: float) -> bool:
    """Within the bounded load, and with a free slot unless no node in the pool has one."""
    return within_bound(node, pool, e) and (has_room(node) or not any(has_room(p) for p in pool))


def choose(key: str, pool: Sequence[Load], e: float) -> str | None:
    """The key of the node that ``fits`` holding the most of the request (its ``depth``), the first
    in rendezvous order among equals; None for an empty pool."""
    by_key = {p.key: p for p in pool}
    fitting = [node for node in ranked(key, by_key) if fits(by_key[node], pool, e)]
    if not fitting:
        return None  # not reached for a non-empty pool: the least loaded node always fits
    deepest = max(by_key[node].depth for node in fitting)
    return next(node for node in fitting if by_key[node].depth == deepest)


MAX_BOUNDARIES = 64  # the deepest boundaries of a chat hashed: a longer chat's earlier ones do not matter


def boundary_keys(messages: Iterable[tuple[str, Any]]) -> tuple[str, ...]:
    """A chat's leading text (``chat_text``) hashed at each message boundary: the key after the first
    message, after the second, and so on (the last ``MAX_BOUNDARIES``); the last is the whole chat's."""
    hasher = hashlib.blake2b(digest_size=8)
    keys: list[str] = []
    for role, content in messages:
        piece = f"{MESSAGE_SEP}{role}{ROLE_SEP}{content_text(content)}"
        hasher.update(piece.encode("utf-8", "surrogatepass"))
        keys.append(hasher.copy().hexdigest())
    return tuple(keys[-MAX_BOUNDARIES:])


def held_depth(boundaries: Sequence[str], held: Container[str]) -> int:
    """How many of a chat's message boundaries a node holds: 1 + the deepest one in ``held``, 0: none."""
    for i in range(len(boundaries) - 1, -1, -1):
        if boundaries[i] in held:
            return i + 1
    return 0


def deeper_elsewhere(boundaries: Sequence[str], depth: int) -> bool:
    """True if another node may hold more of a chat than ``depth`` boundaries: the chat has an earlier
    turn (its messages but the last two: the answer and the new question) and this node does not hold
    all of that turn."""
    return len(boundaries) >= 3 and depth < len(boundaries) - 2
