"""Event-loop plumbing: one descriptor per loop (never per receive), loops that come and go,
wrong use from a second loop, loops in several threads, no polling while parked, fork."""

import asyncio
import os
import sys
import threading
import time

import pytest

import awaitq
from awaitq import _awaitq
from awaitq.testing import spawn_producer

from conftest import frame, open_fds, run_on


async def park_and_wake(ch, times):
    for _ in range(times):
        task = asyncio.ensure_future(ch.recv())
        await asyncio.sleep(0)
        assert not task.done()
        ch.producer().push(b"w")
        assert await task == b"w"


def test_receives_do_not_open_descriptors(run):
    ch = awaitq.Channel(capacity=4, max_frame=4)

    async def main():
        await park_and_wake(ch, 1)  # registers this loop
        before = open_fds()
        await park_and_wake(ch, 2000)
        return before, open_fds()

    before, after = run(main())
    assert after == before


def test_descriptors_are_bounded_by_live_loops(loop_factory):
    ch = awaitq.Channel(capacity=4, max_frame=4)
    run_on(loop_factory, park_and_wake(ch, 1))
    before = open_fds()
    for _ in range(30):
        run_on(loop_factory, park_and_wake(ch, 3))
    # Each new loop drops the closed ones' entries; only the last (closed) one may remain.
    assert open_fds() <= before + 1
    assert _awaitq._registered_loops() <= 2


def test_loops_dropped_without_close_are_forgotten():
    # asyncio only: an unclosed uvloop loop is never freed (its own handles keep it alive),
    # whoever else refers to it.
    import gc
    import warnings

    loop_factory = asyncio.new_event_loop
    ch = awaitq.Channel(capacity=4, max_frame=4)
    run_on(loop_factory, park_and_wake(ch, 1))
    before = open_fds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for _ in range(20):
            loop = loop_factory()
            loop.run_until_complete(park_and_wake(ch, 2))
            del loop  # never closed: only the weak registry entry remains
            gc.collect()
    run_on(loop_factory, park_and_wake(ch, 1))
    # A waker thread (AWAITQ_WAKE=thread) may still hold its last loop for the length of a
    # call_soon_threadsafe when the gc.collect above runs; that loop (a reference cycle) is
    # then freed by a later collection. Wait for that, bounded: a loop the registry kept
    # alive would never go.
    deadline = time.monotonic() + 5
    while open_fds() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.01)
        gc.collect()
    assert _awaitq._registered_loops() <= 2
    assert open_fds() <= before + 2


def test_many_channels_share_the_loop_descriptor(run):
    async def main():
        chans = [awaitq.Channel(capacity=2, max_frame=4) for _ in range(50)]
        await park_and_wake(chans[0], 1)
        before = open_fds()
        for ch in chans:
            await park_and_wake(ch, 2)
        return before, open_fds()

    before, after = run(main())
    assert after == before


def _park_in_thread(loop_factory, op):
    """Runs `op()` (an awaitable) on a loop in another thread; returns (thread, parked, out)."""
    parked = threading.Event()
    out = {}

    def loop_a():
        async def main():
            task = asyncio.ensure_future(op())
            await asyncio.sleep(0)
            parked.set()
            out["result"] = await task
        run_on(loop_factory, main())

    thread = threading.Thread(target=loop_a)
    thread.start()
    assert parked.wait(10)
    return thread, out


def test_receiver_parked_in_another_loop_is_a_clear_error(loop_factory):
    ch = awaitq.Channel(capacity=4, max_frame=4)
    thread, out = _park_in_thread(loop_factory, ch.recv)

    async def loop_b():
        with pytest.raises(RuntimeError, match="another receiver is already waiting"):
            await ch.recv()
        ch.send_nowait(b"f")  # wakes loop A's receiver, across threads

    run_on(loop_factory, loop_b())
    thread.join(10)
    assert out["result"] == b"f"


def test_sender_waiting_in_another_loop_is_a_clear_error(loop_factory):
    ch = awaitq.Channel(capacity=1, max_frame=4)
    ch.send_nowait(b"full")
    thread, out = _park_in_thread(loop_factory, lambda: ch.send(b"a"))

    async def loop_b():
        with pytest.raises(RuntimeError, match="another event loop"):
            await ch.send(b"b")
        assert ch.try_recv() == b"full"  # makes room: loop A's sender completes

    run_on(loop_factory, loop_b())
    thread.join(10)
    assert out["result"] is None
    assert ch.try_recv() == b"a" and ch.try_recv() is None, "the refused send queued nothing"


def test_loops_in_several_threads_with_native_producers(loop_factory):
    results = {}

    def worker(i):
        async def main():
            ch = awaitq.Channel(capacity=32, max_frame=16)
            p = spawn_producer(ch, 5000, size=16, close=True)
            got = [d async for d in ch]
            results[i] = (got == [frame(k) for k in range(5000)], p.join())
        run_on(loop_factory, main())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: (True, 5000) for i in range(4)}


def test_a_closed_running_loop_is_a_clear_error():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    closed = asyncio.new_event_loop()
    closed.close()
    asyncio.events._set_running_loop(closed)
    try:
        with pytest.raises(RuntimeError, match="the running event loop is closed"):
            ch.recv().send(None)
    finally:
        asyncio.events._set_running_loop(None)
    # Nothing is left parked.
    aw = ch.recv_tagged()
    assert isinstance(aw.send(None), awaitq.WaitHandle)
    aw.close()


def test_no_polling_while_parked():
    """Counts the selector's wake-ups while a receive waits for a slow producer."""
    ch = awaitq.Channel(capacity=4, max_frame=8)
    loop = asyncio.new_event_loop()
    selects = 0
    real_select = loop._selector.select

    def counting_select(timeout=None):
        nonlocal selects
        selects += 1
        return real_select(timeout)

    loop._selector.select = counting_select

    async def main():
        spawn_producer(ch, 5, size=4, rate_hz=50, close=True)  # ~100 ms
        return [d async for d in ch]

    try:
        got = loop.run_until_complete(main())
    finally:
        loop.close()
    assert len(got) == 5
    # Each frame needs a wake-up and a step or two; a yielded None would spin thousands.
    assert selects < 60


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_uses_its_own_descriptor(loop_factory):
    ch = awaitq.Channel(capacity=4, max_frame=8)
    run_on(loop_factory, park_and_wake(ch, 3))
    pid = os.fork()
    if pid == 0:  # the child: a new loop, fresh descriptors, the inherited channel
        code = 1
        try:
            run_on(loop_factory, park_and_wake(ch, 3))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    run_on(loop_factory, park_and_wake(ch, 3))  # the parent is unaffected


def test_uvloop_and_asyncio_in_turn_on_one_channel():
    import uvloop

    ch = awaitq.Channel(capacity=4, max_frame=8)
    for factory in (asyncio.new_event_loop, uvloop.new_event_loop) * 3:
        run_on(factory, park_and_wake(ch, 5))
