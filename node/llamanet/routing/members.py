"""``CertifiedPeers``: with a swarm authority, forwarded work is taken only from certified members.

``PeerProofMiddleware`` hands it every verified forward proof (``admit``). The sender's record is
looked up in the directory's cached answer, else fetched fresh under ``node:{id}``; its certificate
chain is checked again with the current clock (records were checked when looked up, but a cached one
may have expired since). A sender with no such record is remembered as refused for ``negative_s``, so
a stream of proofs by fresh keys costs one DHT lookup per key and window at most, in bounded memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from llamanet.swarm.errors import InvalidRecordError
from llamanet.swarm.validation import check_membership
from llamanet_common.proofs import ForwardProof
from llamanet_common.record import NodeRecord

Records = Callable[[], Awaitable[list[NodeRecord]]]
FetchRecord = Callable[[str], Awaitable[NodeRecord | None]]


class CertifiedPeers:
    def __init__(
        self,
        authorities: frozenset[str],
        cached: Records,
        fetch: FetchRecord,
        *,
        clock_skew_s: float = 5.0,
        negative_s: float = 2.0,
        max_negative: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.authorities = authorities
        self._cached = cached
        self._fetch = fetch
        self.clock_skew_s = clock_skew_s
        self.negative_s = negative_s
        self.max_negative = max_negative
        self._clock = clock
        self._refused: OrderedDict[str, float] = OrderedDict()  # sender id -> refused until

    async def admit(self, proof: ForwardProof) -> str | None:
        """None when the proof's sender holds a valid certificate now, else why it is refused."""
        now = self._clock()
        record = next((r for r in await self._cached() if r.node_id == proof.sender_id), None)
        why = "no record in the swarm" if record is None else self._why(record, proof, now)
        if why is None:
            return None
        until = self._refused.get(proof.sender_id)
        if until is None or until <= now:  # perhaps renewed, or not in the cached answer yet
            fresh = await self._fetch(proof.sender_id)
            if fresh is not None:
                why = self._why(fresh, proof, now)
                if why is None:
                    return None
            self._remember(proof.sender_id, now)
        return f"sender {proof.sender_id[:12]} is not a certified member: {why}"

    def _why(self, record: NodeRecord, proof: ForwardProof, now: float) -> str | None:
        if record.public_key != proof.public_key or record.node_id != proof.sender_id:
            return "the sender's record is for another key"
        try:
            check_membership(record, self.authorities, now=now, clock_skew_s=self.clock_skew_s)
        except InvalidRecordError as exc:
            return str(exc)
        return None

    def _remember(self, sender_id: str, now: float) -> None:
        self._refused.pop(sender_id, None)
        self._refused[sender_id] = now + self.negative_s
        while len(self._refused) > self.max_negative:
            self._refused.popitem(last=False)
