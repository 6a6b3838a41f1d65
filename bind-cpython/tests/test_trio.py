"""Channels and native awaitables under trio (`trio.run`, no asyncio loop): every receive
kind and `send` woken by native producer threads (which never take the GIL), cancel scopes
that never lose a frame, trio's one-waiter-per-descriptor rule with many parked tasks, and
the native awaitables (C API, Rust `async fn`) awaiting trio's own coroutines."""

import gc

import pytest
import trio

import awaitq
from awaitq.testing import cont, spawn_producer

from conftest import frame, open_fds, seq
from cont_support import aw_ext




def test_every_receive_kind_parks_and_is_woken_by_a_native_thread():
    async def main():
        ch = awaitq.Channel(capacity=4, max_frame=16)
        got = []
        # Paced pushes: the consumer parks before most frames, so each is a real wake.
        p = spawn_producer(ch, 40, size=16, rate_hz=2000, close=True)
        buf = bytearray(16)
        for i in range(8):
            got.append(await ch.recv())
            got.append((await ch.recv_tagged())[1])
            n = await ch.recv_into(buf)
            got.append(bytes(buf[:n]))
            got.extend(await ch.recv_many(2))
        async for f in ch:
            got.append(f)
        assert p.join() == 40
        return got

    got = trio.run(main)
    assert [seq(f) for f in got] == list(range(40))
    assert got == [frame(k) for k in range(40)]


def test_send_parks_on_a_full_channel_from_many_tasks():
    async def main():
        ch = awaitq.Channel(capacity=2, max_frame=4)
        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(ch.send, bytes([i]))
            await trio.sleep(0.01)
            assert len(ch) == 2  # the other 18 senders are parked
            got = [await ch.recv() for _ in range(20)]
        return sorted(got)

    assert trio.run(main) == [bytes([i]) for i in range(20)]


def test_many_tasks_park_on_many_channels_with_one_descriptor_per_run():
    # trio refuses two waiters on one descriptor: one pump task waits for every channel.
    async def main():
        fds = open_fds()
        chans = [awaitq.Channel(capacity=4, max_frame=16) for _ in range(30)]
        results = {}

        async def take(i, ch):
            results[i] = await ch.recv()

        async with trio.open_nursery() as nursery:
            for i, ch in enumerate(chans):
                nursery.start_soon(take, i, ch)
            await trio.sleep(0.01)
            assert open_fds() - fds <= 2  # the run's descriptor (trio's own may add one)
            producers = [spawn_producer(ch, 1, size=16) for ch in chans]
        for p in producers:
            p.join()
        return results

    results = trio.run(main)
    assert results == {i: frame(0) for i in range(30)}


def test_the_run_descriptor_is_closed_after_the_run():
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def main():
        p = spawn_producer(ch, 100, size=16, rate_hz=5000)
        for _ in range(100):
            await ch.recv()
        p.join()

    trio.run(main)  # the first run imports and sets up what later runs reuse
    gc.collect()  # a finished run's objects may sit in a reference cycle
    before = open_fds()
    for _ in range(5):
        trio.run(main)
    gc.collect()
    assert open_fds() == before


def test_cancel_scopes_never_consume_a_frame():
    async def main():
        ch = awaitq.Channel(capacity=4, max_frame=4)
        with trio.move_on_after(0.01) as scope:
            await ch.recv()
        assert scope.cancelled_caught and len(ch) == 0
        with pytest.raises(trio.TooSlowError):
            with trio.fail_after(0.01):
                await ch.recv_many(3)
        async with trio.open_nursery() as nursery:
            async def parked():
                await ch.recv_tagged()
                raise AssertionError("cancelled, must not return")

            nursery.start_soon(parked)
            await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        ch.send_nowait(b"a")
        assert await ch.recv() == b"a"
        # The same step: the frame arrives and the scope is cancelled; exactly one happens.
        results = []
        for i in range(20):
            got = []
            async with trio.open_nursery() as nursery:
                async def take():
                    got.append(await ch.recv())

                nursery.start_soon(take)
                await trio.sleep(0)
                ch.send_nowait(bytes([i]))
                if i % 2:
                    nursery.cancel_scope.cancel()
            results.append(got[0] if got else await ch.recv())
        return results, len(ch)

    assert trio.run(main) == ([bytes([i]) for i in range(20)], 0)


def test_a_second_driver_is_refused_and_the_wait_survives():
    async def main():
        ch = awaitq.Channel(capacity=4, max_frame=4)
        aw = ch.recv()
        got = []
        async with trio.open_nursery() as nursery:
            async def first():
                got.append(await aw)

            async def second():
                with pytest.raises(RuntimeError, match="another task"):
                    await aw

            nursery.start_soon(first)
            await trio.sleep(0.01)
            nursery.start_soon(second)
            await trio.sleep(0.01)
            ch.send_nowait(b"x")
        return got

    assert trio.run(main) == [b"x"]


def test_a_channel_moves_between_trio_runs_and_asyncio():
    import asyncio

    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def consume(n):
        return [await ch.recv() for _ in range(n)]

    for _ in range(2):
        p = spawn_producer(ch, 10, size=16, rate_hz=5000)
        assert trio.run(consume, 10) == [frame(k) for k in range(10)]
        p.join()
        p = spawn_producer(ch, 10, size=16, rate_hz=5000)
        assert asyncio.run(consume(10)) == [frame(k) for k in range(10)]
        p.join()


def test_c_native_awaitable_awaits_trio_sleep():
    ext = aw_ext()

    class Conn:
        async def fetch(self, q):
            await trio.sleep(0.001)
            return [q]

        async def count(self, q):
            await trio.sleep(0)
            return 1

    async def main():
        got = [await ext.await_one(trio.sleep(0.001))]
        got.append(await ext.execute(Conn(), "q"))
        with trio.move_on_after(0.01) as scope:
            await ext.await_one(trio.sleep(10))
        got.append(scope.cancelled_caught)
        return got

    assert trio.run(main) == [None, (["q"], 1), True]


def test_rust_async_fn_awaits_trio_sleep_and_waits_on_a_thread_wake():
    async def bounded():
        got = await cont.await_each([trio.sleep(0.001), trio.sleep(0)])
        sig = cont.Signal()
        sig.set_later(0.01)  # a native thread wakes the Rust future, no GIL
        woken = await cont.wait_signal(sig, "woken")
        with trio.move_on_after(0.01) as scope:
            await cont.wait_signal(cont.Signal(), "never")
        return got, woken, scope.cancelled_caught

    assert trio.run(bounded) == ([None, None], "woken", True)


def test_trio_guest_mode_on_an_asyncio_host():
    # A trio task runs inside an asyncio callback here: the receive must take trio's path.
    import asyncio

    async def trio_main():
        ch = awaitq.Channel(capacity=4, max_frame=16)
        p = spawn_producer(ch, 50, size=16, rate_hz=5000, close=True)
        got = [f async for f in ch]
        p.join()
        return got

    async def host():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        trio.lowlevel.start_guest_run(
            trio_main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=done.set_result,
        )
        return (await done).unwrap()

    assert asyncio.run(host()) == [frame(k) for k in range(50)]
