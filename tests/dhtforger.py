"""A forging DHT peer, run as its own process: from one UDP socket on 127.0.0.1 it pings the node at
port argv[1] claiming each id of argv[3] (comma-separated: hex node ids, ``own`` for its own key's id,
``random:N`` for N fresh random ids), one after the other, and answers the challenges the node sends
back as argv[2] says (``tests.dhtpeer`` modes: ``honest`` signs with its own key, which proves its own
id and no other; ``bad-sig`` sends a signature over another challenge; ``silent`` answers none). It
waits argv[4] seconds after each ping for the node's challenge, then prints how many pings were answered
and how many challenges it received."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.dhtpeer import Peer, ping


def claims(spec: str, own: bytes) -> list[bytes]:
    ids: list[bytes] = []
    for item in spec.split(","):
        if item == "own":
            ids.append(own)
        elif item.startswith("random:"):
            ids.extend(os.urandom(20) for _ in range(int(item.removeprefix("random:"))))
        else:
            ids.append(bytes.fromhex(item))
    return ids


async def main() -> None:
    port, mode, spec, wait = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
    peer = await Peer(mode=mode).start()
    answered = 0
    for claimed in claims(spec, peer.node_id):
        seen = peer.challenges
        answered += await peer.ask(ping(peer.contact, claimed), port, wait=1.0) is not None
        for _ in range(int(wait / 0.02)):  # the node's challenge for this claim, answered as mode says
            if peer.challenges > seen:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
    peer.close()
    print(answered, peer.challenges)


if __name__ == "__main__":
    asyncio.run(main())
