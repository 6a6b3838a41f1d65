"""`n = await ch.recv_many_into(buf, max=None)` and `awaitq.frames(buf, n)`: one await takes
every queued frame that fits (up to max) into buf as records; the walker yields (tag,
memoryview) views into buf. Same semantics as on MicroPython (tests/micropython/recv_many_into.py)."""

import asyncio
import random

import pytest

import awaitq
from awaitq.testing import spawn_producer


def walk(buf, n):
    return [(tag, bytes(p)) for tag, p in awaitq.frames(buf, n)]


def test_takes_what_is_queued_up_to_max_in_order(run):
    ch = awaitq.Channel(capacity=64, max_frame=16)
    records = bytearray(64 * 24)
    payloads = [bytes([k]) * (k % 17) for k in range(60)]

    async def main():
        for k, p in enumerate(payloads):
            ch.send_nowait(p, k)
        n1 = await ch.recv_many_into(records, 25)
        first = walk(records, n1)
        n2 = await ch.recv_many_into(records)
        return n1, first, n2, walk(records, n2)

    n1, first, n2, second = run(main())
    assert (n1, n2) == (25, 35)
    assert first + second == list(enumerate(payloads))
    assert ch.stats()["received"] == 60


def test_views_share_the_buffer_and_a_memoryview_slice_works(run):
    ch = awaitq.Channel(capacity=4, max_frame=8)
    records = bytearray(64)

    async def main():
        ch.send_nowait(b"abc", 5)
        return await ch.recv_many_into(memoryview(records)[3:])

    assert run(main()) == 1
    ((tag, view),) = list(awaitq.frames(memoryview(records)[3:], 1))
    assert (tag, bytes(view)) == (5, b"abc")
    records[3 + 8] = ord("X")
    assert bytes(view) == b"Xbc", "a view, not a copy"


def test_stops_before_a_record_that_does_not_fit(run):
    ch = awaitq.Channel(capacity=4, max_frame=8)
    small = bytearray(40)  # two 16-byte records, not three

    async def main():
        for k in range(3):
            ch.send_nowait(b"abcdefgh", k)
        return await ch.recv_many_into(small)

    assert run(main()) == 2
    assert walk(small, 2) == [(0, b"abcdefgh"), (1, b"abcdefgh")]
    assert len(ch) == 1


def test_buffer_too_small_for_the_head_record_keeps_it(run):
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def main():
        ch.send_nowait(b"0123456789")
        with pytest.raises(ValueError, match="too small"):
            await ch.recv_many_into(bytearray(17))
        assert len(ch) == 1
        buf = bytearray(18)
        return walk(buf, await ch.recv_many_into(buf))

    assert run(main()) == [(0, b"0123456789")]


def test_waits_for_the_first_then_takes_everything_queued(run):
    ch = awaitq.Channel(capacity=8, max_frame=4)
    records = bytearray(256)

    async def main():
        task = asyncio.ensure_future(ch.recv_many_into(records))
        await asyncio.sleep(0)
        assert not task.done()
        ch.send_nowait(b"x", 1)
        ch.send_nowait(b"y", 2)
        return walk(records, await task)

    assert run(main()) == [(1, b"x"), (2, b"y")]


def test_cancel_while_parked_consumes_nothing(run):
    ch = awaitq.Channel(capacity=8, max_frame=4)
    records = bytearray(256)

    async def main():
        task = asyncio.ensure_future(ch.recv_many_into(records))
        await asyncio.sleep(0)
        ch.send_nowait(b"kept", 9)
        task.cancel()  # woken, cancelled before it re-checked
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(ch) == 1
        return walk(records, await ch.recv_many_into(records))

    assert run(main()) == [(9, b"kept")]


def test_timeouts_deliver_every_frame_exactly_once(run):
    # A producer thread streams while a consumer awaits batches under tight timeouts: every
    # frame arrives once, in order, whatever the cancellations hit.
    ch = awaitq.Channel(capacity=32, max_frame=8)
    records = bytearray(32 * 16)
    total = 20_000
    rng = random.Random(7)

    async def main():
        p = spawn_producer(ch, total, size=8, close=True)
        tags = []
        while True:
            try:
                n = await asyncio.wait_for(
                    ch.recv_many_into(records, rng.randint(1, 40)), rng.choice((0, 1e-5, 1e-4))
                )
            except asyncio.TimeoutError:
                continue
            except awaitq.ChannelClosed:
                break
            tags.extend(tag for tag, _ in awaitq.frames(records, n))
        p.join()
        return tags

    assert run(main()) == list(range(total))


def test_closed_and_drained(run):
    ch = awaitq.Channel(capacity=4, max_frame=8)
    records = bytearray(64)

    async def main():
        ch.send_nowait(b"last")
        ch.close()
        got = walk(records, await ch.recv_many_into(records))
        with pytest.raises(awaitq.ChannelClosed):
            await ch.recv_many_into(records)
        return got

    assert run(main()) == [(0, b"last")]


def test_bad_arguments_raise_typed_errors_and_lose_nothing():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    ch.send_nowait(b"x")
    with pytest.raises(TypeError, match="buf"):
        ch.recv_many_into(b"read-only")
    with pytest.raises(TypeError, match="buf"):
        ch.recv_many_into(42)
    with pytest.raises(ValueError, match="max must be at least 1"):
        ch.recv_many_into(bytearray(8), 0)
    with pytest.raises(TypeError, match="max"):
        ch.recv_many_into(bytearray(8), "2")
    with pytest.raises(TypeError, match="buf"):
        awaitq.frames(42, 1)
    with pytest.raises(TypeError, match="n"):
        awaitq.frames(bytearray(8), "1")
    with pytest.raises(ValueError, match="fewer records"):
        list(awaitq.frames(b"\x01\x00\x00\x00\x09\x00\x00\x00ab", 1))
    assert len(ch) == 1
