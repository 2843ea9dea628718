"""Events put on the decode thread arrive at each generation's channel, in order, after a flush."""

from __future__ import annotations

import asyncio
import threading

from llamanet.engine.events import Finished, TokenDelta
from llamanet.engine.outbox import EventChannel, Outbox


def test_channel_hands_out_pushed_events_and_waits_for_more() -> None:
    async def main() -> list[object]:
        channel = EventChannel()
        channel.push(TokenDelta("a", 1))
        first = await channel.get()
        later = asyncio.ensure_future(channel.get())
        await asyncio.sleep(0)
        assert not later.done()  # nothing pushed yet
        channel.push(TokenDelta("b", 2))
        return [first, await asyncio.wait_for(later, 5)]

    assert [e.text for e in asyncio.run(main())] == ["a", "b"]  # type: ignore[attr-defined]


def test_flush_from_another_thread_delivers_each_channels_events_in_order() -> None:
    async def main() -> tuple[list[object], list[object]]:
        outbox = Outbox(asyncio.get_running_loop())
        a, b = EventChannel(), EventChannel()

        def decode_thread() -> None:
            for i in range(3):
                outbox.put(a, TokenDelta(f"a{i}", i))
                outbox.put(b, TokenDelta(f"b{i}", i))
                outbox.flush()
            outbox.put(a, Finished("stop", 1, 3, 0, 0.0, 0.0))
            outbox.flush()

        threading.Thread(target=decode_thread).start()
        got_a = [await asyncio.wait_for(a.get(), 5) for _ in range(4)]
        got_b = [await asyncio.wait_for(b.get(), 5) for _ in range(3)]
        return got_a, got_b

    got_a, got_b = asyncio.run(main())
    assert [getattr(e, "text", "end") for e in got_a] == ["a0", "a1", "a2", "end"]
    assert [e.text for e in got_b] == ["b0", "b1", "b2"]  # type: ignore[attr-defined]
