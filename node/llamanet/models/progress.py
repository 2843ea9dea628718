"""Progress reporting for long transfers: a redrawn bar on a terminal, a line every 10% elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


class Progress:
    """Reports ``done`` of ``total`` bytes for a labelled transfer."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self._tty = self.stream.isatty()
        self._start = time.monotonic()
        self._last_decile = -1
        self._last_draw = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        self._report(final=False)

    def close(self) -> None:
        self._report(final=True)
        if self._tty:
            self.stream.write("\n")
        self.stream.flush()

    def _report(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-6)
        rate = f"{_mib(int(self.done / elapsed))}/s"
        if self.total:
            pct = min(100.0, 100.0 * self.done / self.total)
            text = f"{self.label}: {pct:5.1f}% {_mib(self.done)} / {_mib(self.total)} {rate}"
            decile = int(pct // 10)
        else:
            text = f"{self.label}: {_mib(self.done)} {rate}"
            decile = int(self.done // (50 * 1048576))
        if self._tty:
            now = time.monotonic()
            if final or now - self._last_draw > 0.1:
                self._last_draw = now
                self.stream.write("\r" + text.ljust(78))
                self.stream.flush()
        elif final or decile != self._last_decile:
            self._last_decile = decile
            self.stream.write(text + "\n")
            self.stream.flush()
