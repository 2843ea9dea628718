"""A hostile DHT peer, run as its own process: makes argv[3] fresh key pairs and stores a valid signed
record of each under ``model:argv[2]`` at every 127.0.0.1 port of argv[1] (comma-separated), from one
UDP socket on 127.0.0.2 (another host than the honest nodes, as on a real network), each record living
argv[4] seconds; prints how many stores were accepted in all."""

from __future__ import annotations

import os
import select
import socket
import sys
import time

import umsgpack

from llamanet.swarm.keys import model_key
from llamanet.swarm.wire import Contact, decode_frame, encode_frame
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields, build_record

HOST, SYBIL_HOST = "127.0.0.1", "127.0.0.2"


def answer(sock: socket.socket, msg_id: bytes, wait: float = 1.0) -> object:
    """The answer to request ``msg_id`` (other datagrams, e.g. the node's own requests, are skipped)."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
        frame = decode_frame(sock.recv(9000), secret=None)
        if frame is not None and frame.payload[:1] == b"\x01" and frame.payload[1:21] == msg_id:
            return umsgpack.unpackb(frame.payload[21:])
    return None


def main() -> None:
    ports = [int(p) for p in sys.argv[1].split(",")]
    model, count, ttl = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    accepted = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((SYBIL_HOST, 0))
        me = Contact(SYBIL_HOST, int(sock.getsockname()[1]))
        for i in range(count):
            sybil = NodeIdentity.generate()
            fields = RecordFields(urls=[f"http://{SYBIL_HOST}:{20000 + i}"], models=[model], slots_total=1000)
            record = build_record(
                fields, sybil, dht_host=SYBIL_HOST, dht_port=me.port, seq=1, expires_at=time.time() + ttl
            )
            for port in ports:
                rpc = (
                    b"\x00"
                    + os.urandom(20)
                    + umsgpack.packb(
                        ["store_entry", [sybil.node_id_bytes, model_key(model), record.to_json()]]
                    )
                )
                sock.sendto(encode_frame(rpc, secret=None, client=False, contact=me), (HOST, port))
                accepted += answer(sock, rpc[1:21]) is True
    print(accepted)


if __name__ == "__main__":
    main()
