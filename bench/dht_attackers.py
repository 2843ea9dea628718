"""The hostile peers of ``bench/dht_hostile.py``: each is a ``SwarmNode`` that joined like any other
(so it sits in honest routing tables) and then misbehaves through its own protocol object.

- sybil storer (``sybil_records``, ``garbage_records``, ``flood``): stores valid records signed by fresh
  keys (claiming every model, 1000 free slots, the longest TTL peers accept) under ``model:X`` at the k
  peers closest to each key, plus records that must be refused (forged node id, bad signature, not JSON,
  another node's ``node:`` key);
- bogus-contact peer (``make_bogus``, ``poison``): answers ``find_node``/``find_entries`` with k invented
  contacts whose ids are closer to the asked key than any real node's (``near_ids``): half at addresses
  where nothing listens, half at endpoints from its routing table (mostly honest nodes) under a wrong
  id; swallows stores; and pings honest nodes under many invented ids from its one socket
  (routing-table poisoning);
- replayer (``Tap``, ``Replayer``): sees the requests of the honest nodes on its links (an attacker on the
  path) and sends each captured frame again, several times to its destination and once to another node,
  counting the answers that come back to it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from kademlia.crawling import NodeSpiderCrawl
from kademlia.node import Node
from kademlia.utils import digest

from bench.dht_defences_off import AllProven
from llamanet.swarm.keys import node_key
from llamanet.swarm.protocol import SwarmProtocol
from llamanet.swarm.wire import decode_frame
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields, build_record

DEAD_NET = "127.0.50."  # nothing listens there: a contact pointing at it never answers
Contact = tuple[bytes, str, int]
FLOOD_IN_FLIGHT = 32  # stores a sybil has in flight (more only queues behind the one event loop)


def near_ids(key: bytes, count: int, rng: random.Random) -> list[bytes]:
    """``count`` 20-byte ids sharing ``key``'s first 16 bytes: XOR-closer to ``key`` than any real id of a
    swarm of fewer than 2**100 nodes, so a crawl for ``key`` puts them first."""
    return [key[:16] + rng.randbytes(4) for _ in range(count)]


def sybil_records(
    identities: list[NodeIdentity], models: list[str], host: str, port: int, ttl_s: float
) -> list[str]:
    """One valid signed record per fresh key, claiming every model with 1000 free slots."""
    fields = RecordFields(urls=[f"http://{host}:8080"], models=models, slots_total=1000, slots_free=1000)
    expires = time.time() + ttl_s
    return [
        build_record(fields, ident, dht_host=host, dht_port=port, seq=1, expires_at=expires).to_json()
        for ident in identities
    ]


def garbage_records(honest_id: str, models: list[str], host: str, ttl_s: float) -> list[tuple[str, str]]:
    """(key, raw) stores every storing peer must refuse."""
    forger = NodeIdentity.generate()
    fields = RecordFields(urls=[f"http://{host}:8080"], models=models)
    good = build_record(fields, forger, dht_host=host, dht_port=1, seq=1, expires_at=time.time() + ttl_s)
    stolen_id = good.model_copy(update={"node_id": honest_id}).to_json()
    bad_sig = good.model_copy(update={"signature": "00" * 64}).to_json()
    key = f"model:{models[0]}"
    return [(key, stolen_id), (key, bad_sig), (key, "{not json"), (node_key(honest_id), good.to_json())]


async def closest_peers(protocol: SwarmProtocol, key: str, ksize: int, alpha: int) -> list[Node]:
    target = Node(digest(key))
    nearest = protocol.router.find_neighbors(target)
    found: list[Node] = await NodeSpiderCrawl(protocol, target, nearest, ksize, alpha).find()
    return found


async def flood(protocol: SwarmProtocol, peers: list[Node], stores: list[tuple[str, str]]) -> int:
    """Send every (key, raw) store to every peer, ``FLOOD_IN_FLIGHT`` RPCs at a time; how many were
    accepted."""
    calls = [(peer, key, raw) for key, raw in stores for peer in peers]
    accepted = 0
    for first in range(0, len(calls), FLOOD_IN_FLIGHT):
        chunk = calls[first : first + FLOOD_IN_FLIGHT]
        results = await asyncio.gather(*(protocol.call_store_entry(p, k, r) for p, k, r in chunk))
        accepted += sum(results)
    return accepted


def make_bogus(protocol: SwarmProtocol, rng: random.Random) -> None:
    """From now on ``protocol`` answers lookups with invented contacts and swallows stores."""
    ksize = protocol.router.ksize

    def contacts(key: Any) -> list[Contact]:
        if not isinstance(key, bytes) or len(key) != 20:
            return []
        table = [n for bucket in protocol.router.buckets for n in bucket.get_nodes()]
        out: list[Contact] = []
        for i, fake in enumerate(near_ids(key, ksize, rng)):
            if i % 2 == 0 or not table:
                out.append((fake, f"{DEAD_NET}{rng.randint(1, 250)}", rng.randint(1024, 65535)))
            else:
                other = rng.choice(table)
                out.append((fake, other.ip, other.port))
        return out

    def find_node(sender: Any, nodeid: Any, key: Any) -> list[Contact]:
        return contacts(key)

    def find_entries(sender: Any, nodeid: Any, dkey: Any, after: Any) -> dict[str, Any]:
        return {"entries": [], "next": None, "nodes": contacts(dkey)}

    def store_entry(sender: Any, nodeid: Any, key: Any, raw: Any) -> bool:
        return True

    protocol.rpc_find_node = find_node  # type: ignore[method-assign]
    protocol.rpc_find_value = find_node  # type: ignore[method-assign]
    protocol.rpc_find_entries = find_entries  # type: ignore[method-assign]
    protocol.rpc_store_entry = store_entry  # type: ignore[method-assign]
    protocol.proven = AllProven()  # a hostile node holds its own replies to nobody


async def poison(protocol: SwarmProtocol, targets: list[tuple[str, int]], ids: list[bytes]) -> int:
    """Ping every target under each of ``ids`` from this one socket; how many pings were answered."""
    answered = 0
    for fake in ids:
        results = await asyncio.gather(*(protocol.ping(t, fake) for t in targets))
        answered += sum(bool(ok) for ok, _ in results)
    return answered


class Replayer:
    """A hostile node that captures honest requests (through ``Tap``) and sends them again."""

    def __init__(self, protocol: SwarmProtocol, limit: int) -> None:
        self.protocol = protocol
        self.limit = limit
        self.capturing = False
        self.captured: list[tuple[bytes, tuple[str, int]]] = []
        self._expected: set[tuple[bytes, tuple[str, int]]] = set()
        self.answers: dict[str, int] = {"same": 0, "other": 0, "bytes": 0}
        original = protocol.datagram_received

        def received(data: bytes, addr: Any) -> None:
            frame = decode_frame(data, secret=None)
            if frame is not None and frame.payload[:1] == b"\x01":
                where = (str(addr[0]), int(addr[1]))
                for kind in ("same", "other"):
                    if (frame.payload[1:21] + kind.encode(), where) in self._expected:
                        self.answers[kind] += 1
                        self.answers["bytes"] += len(data)
                        return
            original(data, addr)

        protocol.datagram_received = received  # type: ignore[method-assign]

    def capture(self, datagram: bytes, addr: Any) -> None:
        if self.capturing and len(self.captured) < self.limit and not str(addr[0]).startswith(DEAD_NET):
            frame = decode_frame(datagram, secret=None)
            if frame is not None and frame.payload[:1] == b"\x00":
                self.captured.append((datagram, (str(addr[0]), int(addr[1]))))

    async def replay(self, times: int, other: Callable[[tuple[str, int]], tuple[str, int]]) -> dict[str, int]:
        """Each captured frame ``times`` times to its destination and once to ``other(destination)``."""
        raw = self.protocol.transport._inner  # the socket itself: the frames are already framed
        sent = {"same": 0, "other": 0, "bytes": 0}
        for datagram, dest in self.captured:
            msg_id = decode_frame(datagram, secret=None).payload[1:21]  # type: ignore[union-attr]
            elsewhere = other(dest)
            self._expected |= {(msg_id + b"same", dest), (msg_id + b"other", elsewhere)}
            for _ in range(times):
                raw.sendto(datagram, dest)
            raw.sendto(datagram, elsewhere)
            sent["same"] += times
            sent["other"] += 1
            sent["bytes"] += (times + 1) * len(datagram)
            await asyncio.sleep(0.005)  # paced: a burst would overflow our socket's receive buffer
        return sent


class Tap:
    """An honest node's socket as seen by an attacker on its link: every datagram goes out unchanged,
    and a copy goes to the ``Replayer``."""

    def __init__(self, inner: Any, replayer: Replayer) -> None:
        self._inner = inner
        self._replayer = replayer

    def sendto(self, data: bytes, addr: Any) -> None:
        self._inner.sendto(data, addr)
        self._replayer.capture(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
