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
- ``choose``: the first node in that order that ``fits``: its load stays bounded (``within_bound``: a
  node above ``1 + e`` times the average load of the candidates, counting the request being placed, is
  skipped) and it has a free slot while any candidate has one (``has_room``): the bound alone lets a
  node hold more requests than it has slots when every node is busy, and a request queued there while
  another node has a slot idle waits longer than evaluating the prefix again would take.
- ``PrefixPolicy``: the node's settings (``--prefix-routing``, ``--prefix-min-chars``,
  ``--prefix-load-bound``) and the key of a request's leading text under them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MESSAGE_SEP, ROLE_SEP = "\x1e", "\x1f"  # cannot be confused with a role name


@dataclass(frozen=True)
class Load:
    """One candidate node: its hashing id (a node id), requests running, waiting or being sent to it, and
    its slots (0: unknown, counts as one)."""

    key: str
    requests: int
    slots: int = 0


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
    """The key of the first node in rendezvous order that ``fits``; None for an empty pool."""
    by_key = {p.key: p for p in pool}
    for node in ranked(key, by_key):
        if fits(by_key[node], pool, e):
            return node
    return None  # not reached for a non-empty pool: the least loaded node always fits
