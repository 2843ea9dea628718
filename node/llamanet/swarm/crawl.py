"""``EntryCrawl``: an iterative lookup that unions entry sets from all of the k closest peers.

kademlia's ``ValueSpiderCrawl`` stops at the first value and keeps the most common one; an entry set
is spread over peers that may each hold a different subset, so this crawl keeps going until the k
closest responsive peers have all been asked, and collects (unvalidated) raw entries from every one.
"""

from __future__ import annotations

from typing import Any

from kademlia.crawling import SpiderCrawl
from kademlia.node import Node

from llamanet.swarm.contact import sane_nodes
from llamanet.swarm.protocol import RpcResult, SwarmProtocol

MAX_PAGES_PER_PEER = 128


class EntryCrawl(SpiderCrawl):  # type: ignore[misc]
    def __init__(
        self, protocol: SwarmProtocol, dkey: bytes, peers: list[Node], ksize: int, alpha: int
    ) -> None:
        super().__init__(protocol, Node(dkey), peers, ksize, alpha)
        self.raw_entries: list[str] = []
        self.rounds = 0
        self.responders = 0

    async def find(self) -> list[str]:
        result: list[str] = await self._find(self._ask)
        return result

    async def _ask(self, peer: Node, target: Node) -> RpcResult:
        ok, answer = await self.protocol.call_find_entries(peer, target.id)
        if not ok or not isinstance(answer, dict):
            return ok, []
        self._collect(answer)
        cursor, pages = answer.get("next"), 1
        while isinstance(cursor, str) and pages < MAX_PAGES_PER_PEER:
            more_ok, more = await self.protocol.call_find_entries(peer, target.id, cursor)
            if not more_ok or not isinstance(more, dict):
                break
            self._collect(more)
            cursor, pages = more.get("next"), pages + 1
        return True, answer.get("nodes", [])

    def _collect(self, answer: dict[str, Any]) -> None:
        entries = answer.get("entries")
        if isinstance(entries, list):
            self.raw_entries.extend(e for e in entries if isinstance(e, str))

    async def _nodes_found(self, responses: dict[bytes, RpcResult]) -> list[str]:
        self.rounds += 1
        unresponsive = []
        for peer_id, (ok, nodes) in responses.items():
            if not ok:
                unresponsive.append(peer_id)
            else:
                self.responders += 1
                self.nearest.push(sane_nodes(nodes, self.ksize))
        self.nearest.remove(unresponsive)
        if self.nearest.have_contacted_all():
            return self.raw_entries
        return await self.find()
