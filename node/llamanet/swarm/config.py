"""``SwarmConfig``: every tunable of the swarm layer, passed in by the caller (nothing read from the env)."""

from __future__ import annotations

from dataclasses import dataclass, field

from llamanet.swarm.peers import backoff_delay
from llamanet.swarm.storage import StorageCaps
from llamanet.swarm.validation import RecordLimits


@dataclass(frozen=True)
class SwarmConfig:
    heartbeat_interval_s: float = 10.0
    ttl_intervals: float = 3.0
    limits: RecordLimits = field(default_factory=RecordLimits)
    caps: StorageCaps = field(default_factory=StorageCaps)
    ksize: int = 20
    alpha: int = 3
    rpc_timeout_s: float = 5.0
    # an unanswered request is sent again after this, the wait doubling, at most ``rpc_retries`` times
    # within ``rpc_timeout_s`` (0: never): a lost first datagram costs a retry, not the whole timeout
    rpc_retry_s: float = 0.3
    rpc_retries: int = 3
    secret: bytes | None = None
    advertise_host: str | None = None
    advertise_port: int | None = None
    backoff_initial_s: float = 1.0
    backoff_cap_s: float = 30.0
    page_budget_bytes: int = 5500
    # frames older or newer than this (by the sender's clock) are dropped, and so is a nonce seen within it
    frame_window_s: float = 60.0
    frame_replay_entries: int = 200_000
    # routing-table contacts filed per IP address (a site behind one NAT address shares one)
    max_contacts_per_ip: int = 256

    @property
    def record_ttl_s(self) -> float:
        """How long a published record lives without a republish (capped by the peers' max TTL)."""
        return min(self.heartbeat_interval_s * self.ttl_intervals, self.limits.max_ttl_s)

    def retry_delay(self, attempt: int) -> float:
        """The wait before try ``attempt`` (0-based) of the configured peers: the capped backoff."""
        return backoff_delay(attempt, initial=self.backoff_initial_s, cap=self.backoff_cap_s)
