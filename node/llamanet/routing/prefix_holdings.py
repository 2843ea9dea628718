"""``PrefixHoldings``: the chats this node served lately, as the boundary key of each whole chat
(``prefix.boundary_keys``), least recently used first out.

Bounded to a few times the node's slots: a slot's KV cache holds the last chat it served (and with it
every earlier turn of that chat, a prefix of it), so older entries would claim what the cache no longer
holds. Published in ``/status`` (``NodeStatus.prefixes``) for the entry nodes' prefix rule.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from llamanet_common.status import MAX_PREFIXES

KEYS_PER_SLOT = 4


def holdings_capacity(slots: int) -> int:
    """The entries kept for a node of ``slots`` slots (at least 16, at most what ``/status`` carries)."""
    return max(16, min(MAX_PREFIXES, KEYS_PER_SLOT * max(1, slots)))


class PrefixHoldings:
    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, min(MAX_PREFIXES, capacity))  # 0: records nothing (--prefix-holdings off)
        self._keys: OrderedDict[str, None] = OrderedDict()

    def served(self, boundaries: tuple[str, ...]) -> None:
        """A chat served here: its whole key goes in (or to the front)."""
        if not boundaries or not self.capacity:
            return
        key = boundaries[-1]
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> list[str]:
        """Most recent first, as ``/status`` lists them."""
        return list(reversed(self._keys))
