"""Turns a stream of token byte pieces into text that is safe to show.

Two things are held back until they resolve: an incomplete UTF-8 sequence (a character split across
tokens) and a tail that might be the start of a stop string. Text after a stop string is never shown.
"""

from __future__ import annotations

import codecs


class TextStream:
    def __init__(self, stop: tuple[str, ...] | list[str] = ()) -> None:
        self._stop = [s for s in stop if s]
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self.stopped = False

    def _held_back(self) -> int:
        longest = 0
        for s in self._stop:
            for k in range(min(len(s) - 1, len(self._pending)), longest, -1):
                if self._pending.endswith(s[:k]):
                    longest = k
                    break
        return longest

    def feed(self, piece: bytes) -> str:
        """Add a token's bytes; return the text that can be released now."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(piece)
        hits = [i for i in (self._pending.find(s) for s in self._stop) if i >= 0]
        if hits:
            out = self._pending[: min(hits)]
            self._pending = ""
            self.stopped = True
            return out
        hold = self._held_back()
        cut = len(self._pending) - hold
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out

    def flush(self) -> str:
        """The generation ended: release whatever was held back."""
        if self.stopped:
            return ""
        out = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return out
