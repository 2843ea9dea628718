"""A hostile UDP peer, run as its own process: sends one datagram (hex, argv[2]) to 127.0.0.1:argv[1]
argv[3] times, the same bytes each time (a captured frame replayed), and prints how many replies came back
within argv[4] seconds of the last send and their bytes in all."""

from __future__ import annotations

import select
import socket
import sys
import time


def main() -> None:
    port, datagram = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
    times, wait = int(sys.argv[3]), float(sys.argv[4])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for _ in range(times):
            sock.sendto(datagram, ("127.0.0.1", port))
            time.sleep(0.01)
        replies, received, deadline = 0, 0, time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if select.select([sock], [], [], left)[0]:
                received += len(sock.recv(9000))
                replies += 1
    print(replies, received)


if __name__ == "__main__":
    main()
