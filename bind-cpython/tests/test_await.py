"""Awaiting on a real event loop (default asyncio and uvloop): every receive kind, `async
for`, waiting sends, close while waiting, and native producers that wake a parked receiver."""

import asyncio

import pytest

import awaitq
from awaitq.testing import spawn_producer

from conftest import frame, seq


def test_every_receive_kind_when_ready(run):
    ch = awaitq.Channel(capacity=8, max_frame=8)

    async def main():
        ch.send_nowait(b"one", tag=1)
        ch.send_nowait(b"two", tag=2)
        ch.send_nowait(b"three", tag=3)
        ch.send_nowait(b"four", tag=4)
        ch.send_nowait(b"five", tag=5)
        a = await ch.recv()
        b = await ch.recv_tagged()
        buf = bytearray(8)
        n = await ch.recv_into(buf)
        rest = await ch.recv_many(64)
        return a, b, n, bytes(buf[:n]), rest

    assert run(main()) == (b"one", (2, b"two"), 5, b"three", [b"four", b"five"])


def test_recv_many_limits_and_waits_for_the_first(run):
    ch = awaitq.Channel(capacity=16, max_frame=4)

    async def main():
        for i in range(5):
            ch.send_nowait(bytes([i]))
        first = await ch.recv_many(2)
        second = await ch.recv_many(10)
        task = asyncio.ensure_future(ch.recv_many(3))
        await asyncio.sleep(0)
        assert not task.done()
        ch.send_nowait(b"late")
        return first, second, await task

    assert run(main()) == ([b"\x00", b"\x01"], [b"\x02", b"\x03", b"\x04"], [b"late"])


def test_parked_receivers_are_woken_by_a_native_thread(run):
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def main():
        got = []
        for k in range(50):
            # Park first, then let a native thread push (no GIL, no call_soon_threadsafe).
            task = asyncio.ensure_future(ch.recv_tagged())
            await asyncio.sleep(0)
            assert not task.done()
            p = spawn_producer(ch, 1, size=16)
            got.append(await task)
            assert p.join() == 1
        return got

    assert run(main()) == [(0, frame(0))] * 50


def test_async_for_ends_when_closed_and_drained(run):
    ch = awaitq.Channel(capacity=64, max_frame=16)

    async def main():
        p = spawn_producer(ch, 10_000, size=12, close=True)
        seen = [seq(d) async for d in ch]
        return seen, p.join()

    seen, pushed = run(main())
    assert pushed == 10_000
    assert seen == list(range(10_000))


def test_frames_match_the_spawn_producer_contract(run):
    ch = awaitq.Channel(capacity=300, max_frame=32)

    async def main():
        spawn_producer(ch, 300, size=7, close=True).join()
        return [await ch.recv_tagged() for _ in range(300)]

    got = run(main())
    assert got == [(k, frame(k, 7)) for k in range(300)]


def test_close_wakes_a_parked_receiver(run):
    ch = awaitq.Channel(capacity=4, max_frame=4)

    async def main():
        task = asyncio.ensure_future(ch.recv())
        await asyncio.sleep(0)
        ch.close()
        with pytest.raises(awaitq.ChannelClosed):
            await task
        with pytest.raises(awaitq.ChannelClosed):
            await ch.recv_many(3)

    run(main())


def test_producer_close_wakes_async_for(run):
    ch = awaitq.Channel(capacity=4, max_frame=4)

    async def main():
        h = ch.producer()
        task = asyncio.ensure_future(_collect(ch))
        await asyncio.sleep(0)
        h.push(b"x")
        h.close()
        return await task

    assert run(main()) == [b"x"]


async def _collect(ch):
    return [d async for d in ch]


def test_second_receiver_is_busy_and_loses_nothing(run):
    ch = awaitq.Channel(capacity=4, max_frame=4)

    async def main():
        first = asyncio.ensure_future(ch.recv())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="another receiver is already waiting"):
            await ch.recv()
        ch.send_nowait(b"x")
        return await first

    assert run(main()) == b"x"


def test_send_waits_for_room_under_reject(run):
    ch = awaitq.Channel(capacity=2, max_frame=4, overflow="reject")

    async def main():
        await ch.send(b"a")
        await ch.send(b"b", tag=5)
        senders = [asyncio.ensure_future(ch.send(bytes([c]))) for c in b"cde"]
        await asyncio.sleep(0)
        assert not any(s.done() for s in senders)
        got = []
        while len(got) < 5:
            got.append(await ch.recv())
        await asyncio.gather(*senders)
        return got, ch.stats()["dropped"]

    got, dropped = run(main())
    assert got[:2] == [b"a", b"b"] and sorted(got[2:]) == [b"c", b"d", b"e"]
    assert dropped == 0  # a waiting send is not a drop


def test_send_never_waits_under_drop_oldest(run):
    ch = awaitq.Channel(capacity=2, max_frame=4, overflow="drop_oldest")

    async def main():
        for i in range(5):
            await ch.send(bytes([i]))
        return [ch.try_recv(), ch.try_recv()], ch.stats()["overwritten"]

    assert run(main()) == ([b"\x03", b"\x04"], 3)


def test_send_errors(run):
    ch = awaitq.Channel(capacity=1, max_frame=4)

    async def main():
        with pytest.raises(ValueError, match="exceeds max_frame"):
            await ch.send(b"12345")
        await ch.send(b"x")  # room: queued at once
        ch.close()
        with pytest.raises(awaitq.ChannelClosed):
            await ch.send(b"z")

    run(main())


def test_waiting_send_is_woken_by_close(run):
    ch = awaitq.Channel(capacity=1, max_frame=4)

    async def main():
        ch.send_nowait(b"full")
        waiting = asyncio.ensure_future(ch.send(b"x"))
        await asyncio.sleep(0)
        assert not waiting.done()
        ch.close()
        with pytest.raises(awaitq.ChannelClosed):
            await waiting

    run(main())


def test_recv_into_too_small_keeps_the_frame(run):
    ch = awaitq.Channel(capacity=2, max_frame=8)

    async def main():
        ch.send_nowait(b"1234567", tag=4)
        with pytest.raises(ValueError, match="buffer of 3 bytes is too small for a 7-byte frame"):
            await ch.recv_into(bytearray(3))
        buf = memoryview(bytearray(10))
        n = await ch.recv_into(buf)
        return n, bytes(buf[:n])

    assert run(main()) == (7, b"1234567")


def test_recv_into_waits_and_accepts_any_writable_buffer(run):
    import array
    ch = awaitq.Channel(capacity=2, max_frame=8)

    async def main():
        arr = array.array("B", bytes(8))
        task = asyncio.ensure_future(ch.recv_into(arr))
        await asyncio.sleep(0)
        ch.producer().push(b"\x09\x08")
        n = await task
        return n, arr.tobytes()[:n]

    assert run(main()) == (2, b"\x09\x08")


def test_channel_works_across_successive_loops(loop_factory):
    from conftest import run_on

    ch = awaitq.Channel(capacity=4, max_frame=16)
    for i in range(5):
        async def main():
            task = asyncio.ensure_future(ch.recv())
            await asyncio.sleep(0)
            spawn_producer(ch, 1).join()
            return await task
        assert run_on(loop_factory, main()) == frame(0)


@pytest.mark.parametrize("max_frame, size", [(16, 16), (5000, 4100)])
def test_recv_many_batches_keep_order_and_limits(run, max_frame, size):
    # With 5000-byte frames a batch buffer holds one record: the batching loop runs per frame.
    ch = awaitq.Channel(capacity=64, max_frame=max_frame)

    async def main():
        p = spawn_producer(ch, 3000, size=size, close=True)
        got, sizes = [], []
        while True:
            try:
                batch = await ch.recv_many(100)
            except awaitq.ChannelClosed:
                break
            assert 1 <= len(batch) <= 100
            sizes.append(len(batch))
            got.extend(batch)
        return got, p.join(), max(sizes)

    got, pushed, biggest = run(main())
    assert pushed == 3000
    assert got == [frame(k, size) for k in range(3000)]
    assert biggest > 1


def test_spawn_producer_arguments_and_stamps():
    import time

    ch = awaitq.Channel(capacity=16, max_frame=16)
    for size in (3, 17):
        with pytest.raises(ValueError, match="size must be between 4 and max_frame \\(16\\)"):
            spawn_producer(ch, 1, size=size)
    with pytest.raises(ValueError, match="stamp=True needs size >= 12"):
        spawn_producer(ch, 1, size=8, stamp=True)
    with pytest.raises(ValueError, match="rate_hz"):
        spawn_producer(ch, 1, rate_hz=0)
    with pytest.raises(TypeError):
        spawn_producer(object(), 1)
    t0 = time.monotonic_ns()
    assert spawn_producer(ch.producer(), 5, size=12, stamp=True).join() == 5
    t1 = time.monotonic_ns()
    for k in range(5):
        d = ch.try_recv()
        assert seq(d) == k
        assert t0 <= int.from_bytes(d[4:12], "little") <= t1


def test_pinger_pushes_one_frame_per_ping(run):
    from awaitq.testing import Pinger

    ch = awaitq.Channel(capacity=4, max_frame=4)

    async def main():
        pinger = Pinger(ch)
        got = []
        for i in range(20):
            pinger.ping(i)
            got.append(await ch.recv_tagged())
        pinger.close()
        with pytest.raises(awaitq.ChannelClosed):
            pinger.ping(99)
        return got

    assert run(main()) == [(i, b"") for i in range(20)]
