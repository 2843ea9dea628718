"""``BanList``: nodes that failed recently are skipped for a while, longer after each failure in a row.

One ban list type for the node's router and the client, keyed by ``NodeView.key`` (a record's node id;
a fixed-URL node's URL). The clock is passed in (``now``), so the decisions are plain arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamanet.swarm.peers import backoff_delay


@dataclass(frozen=True)
class Ban:
    failures: int  # failures in a row
    until: float  # skipped until this time


def next_ban(previous: Ban | None, now: float, *, base_s: float, cap_s: float) -> Ban:
    """The ban after one more failure: base_s, 2*base_s, 4*base_s ... capped at cap_s."""
    failures = (previous.failures if previous else 0) + 1
    return Ban(failures, now + backoff_delay(failures - 1, initial=base_s, cap=cap_s))


class BanList:
    def __init__(self, base_s: float = 1.0, cap_s: float = 60.0) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self._bans: dict[str, Ban] = {}

    def fail(self, key: str, now: float) -> Ban:
        """Record a failure of the node ``key`` and ban it (again, for longer)."""
        ban = next_ban(self._bans.get(key), now, base_s=self.base_s, cap_s=self.cap_s)
        self._bans[key] = ban
        return ban

    def succeed(self, key: str) -> None:
        """A success forgives every earlier failure."""
        self._bans.pop(key, None)

    def is_banned(self, key: str, now: float) -> bool:
        ban = self._bans.get(key)
        return ban is not None and ban.until > now

    def until(self, key: str) -> float:
        ban = self._bans.get(key)
        return ban.until if ban else 0.0

    def snapshot(self, now: float) -> dict[str, float]:
        """Banned node keys and the seconds left on each ban."""
        return {key: ban.until - now for key, ban in self._bans.items() if ban.until > now}
