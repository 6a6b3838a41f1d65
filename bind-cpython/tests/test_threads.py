"""Many threads at once, on every interpreter (GIL or free-threaded with PYTHON_GIL=0): event
loops in their own threads, Python threads and native producers into one channel, receivers
cancelled from other threads. Each frame arrives exactly once, in each producer's order, and
nothing is left waiting (every join has a timeout; a lost wake-up fails instead of hanging).
"""

import asyncio
import queue
import random
import struct
import threading
import time

import pytest

import awaitq
from awaitq.testing import spawn_producer

from conftest import run_on

JOIN_S = 60


def seq(frame):
    """Frame k of spawn_producer: k as u32 LE first."""
    return struct.unpack_from("<I", frame)[0]


def start(target, *args):
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def join_all(threads):
    deadline = time.monotonic() + JOIN_S
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        assert not t.is_alive(), "a thread is stuck (a lost wake-up?)"


def test_six_loops_in_six_threads_each_on_its_own_channel(loop_factory):
    n, loops = 20_000, 6
    results, errors = [None] * loops, []

    def consumer(i):
        try:
            ch = awaitq.Channel(capacity=64, max_frame=16)

            async def body():
                p = spawn_producer(ch, n, size=8, close=True)
                got = [seq(f) async for f in ch]
                assert p.join() == n
                return got

            results[i] = run_on(loop_factory, body())
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    join_all([start(consumer, i) for i in range(loops)])
    assert not errors, errors
    for got in results:
        assert got == list(range(n))


def test_eight_python_threads_and_native_producers_into_one_channel(loop_factory):
    per_thread, threads, natives, per_native = 3_000, 8, 2, 10_000
    ch = awaitq.Channel(capacity=128, max_frame=16)
    py_tag = 0x8000_0000  # native frames carry tags 0..per_native-1
    sent_full = [0]

    def py_producer(t):
        for k in range(per_thread):
            frame = struct.pack("<II", k, t)
            while True:
                try:
                    ch.send_nowait(frame, tag=py_tag + t)
                    break
                except awaitq.ChannelFull:
                    sent_full[0] += 1
                    time.sleep(0)

    async def body():
        ps = [spawn_producer(ch, per_native, size=8) for _ in range(natives)]
        ts = [start(py_producer, t) for t in range(threads)]

        def closer():
            join_all(ts)
            for p in ps:
                p.join()
            ch.close()

        c = start(closer)
        got = []
        try:
            while True:
                got.append(await ch.recv_tagged())
        except awaitq.ChannelClosed:
            pass
        join_all([c])
        return got

    got = run_on(loop_factory, body())
    by_thread = {t: [] for t in range(threads)}
    native = []
    for tag, frame in got:
        if tag >= py_tag:
            k, t = struct.unpack("<II", frame)
            assert t == tag - py_tag
            by_thread[t].append(k)
        else:
            assert seq(frame) == tag
            native.append(tag)
    for t in range(threads):
        assert by_thread[t] == list(range(per_thread)), "thread %d: lost, doubled or reordered" % t
    assert sorted(native) == sorted(list(range(per_native)) * natives)
    assert ch.stats()["received"] == threads * per_thread + natives * per_native


def test_receivers_cancelled_from_other_threads_take_each_frame_once(loop_factory):
    n = 10_000
    ch = awaitq.Channel(capacity=32, max_frame=16)
    to_cancel = queue.Queue()
    rng = random.Random(1234)

    def canceller(loop):
        while True:
            task = to_cancel.get()
            if task is None:
                return
            time.sleep(rng.random() * 200e-6)
            loop.call_soon_threadsafe(task.cancel)

    async def receive_some(got):
        for _ in range(rng.randrange(1, 50)):
            got.append(seq(await ch.recv()))

    async def body():
        loop = asyncio.get_running_loop()
        cancellers = [start(canceller, loop) for _ in range(2)]
        # Paced, so receivers often wait parked when the cancel lands (and sometimes not).
        p = spawn_producer(ch, n, size=8, close=True, rate_hz=40_000)
        got, cancelled = [], 0
        while True:
            task = loop.create_task(receive_some(got))
            to_cancel.put(task)
            try:
                await task
            except asyncio.CancelledError:
                cancelled += 1
            except awaitq.ChannelClosed:
                break
        for _ in cancellers:
            to_cancel.put(None)
        join_all(cancellers)
        assert p.join() == n
        return got, cancelled

    got, cancelled = run_on(loop_factory, body())
    assert got == list(range(n)), "a cancelled receive lost or doubled a frame"
    assert cancelled > 10, "the test did not cancel anything"


def test_an_awaitable_stepped_from_two_threads_runs_one_step_at_a_time():
    # Hand-written drivers in two threads receiving from one channel: every frame is returned
    # once and the channel ends empty. With the GIL a receive step holds it throughout, so
    # this checks the bookkeeping (cache hand-out, the run flag); free-threaded, steps really
    # overlap and the atomic run flag and the cache's lock are what keep it exact.
    n = 2_000
    ch = awaitq.Channel(capacity=n, max_frame=8)
    for k in range(n):
        ch.send_nowait(struct.pack("<I", k))
    got, refused = [], [0]
    lock = threading.Lock()

    def driver():
        while True:
            with lock:
                if len(got) >= n:
                    return
            aw = ch.recv()
            try:
                aw.send(None)
            except StopIteration as e:
                with lock:
                    got.append(seq(e.value))
            except RuntimeError:
                with lock:
                    refused[0] += 1
            except awaitq.ChannelClosed:
                return

    join_all([start(driver) for _ in range(2)])
    assert sorted(got) == list(range(n))
    assert len(ch) == 0


@pytest.mark.parametrize("threads", [4])
def test_channels_created_and_dropped_from_many_threads(threads):
    def worker(errors):
        try:
            for _ in range(200):
                ch = awaitq.Channel(capacity=8, max_frame=8)
                ch.send_nowait(b"x")
                assert ch.try_recv() == b"x"
                h = ch.producer()
                del ch
                del h
        except BaseException as e:
            errors.append(e)

    errors = []
    join_all([start(worker, errors) for _ in range(threads)])
    assert not errors, errors
