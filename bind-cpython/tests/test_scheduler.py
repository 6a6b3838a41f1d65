"""Outside asyncio: a hand-written scheduler drives coroutines with send(), and select()s on
the fileno() of whatever a receive yields. Several channels are multiplexed."""

import select
from collections import deque

import pytest

import awaitq
from awaitq.testing import spawn_producer

from conftest import seq


class Scheduler:
    """Round-robin coroutines; a coroutine that yields something with fileno() waits for it
    to be readable (without a timeout: a busy loop would be counted in `selects`)."""

    def __init__(self):
        self.ready = deque()
        self.waiting = {}
        self.selects = 0

    def spawn(self, coro):
        self.ready.append(coro)

    def run(self):
        while self.ready or self.waiting:
            while self.ready:
                coro = self.ready.popleft()
                try:
                    handle = coro.send(None)
                except StopIteration:
                    continue
                assert handle is not None, "never a bare None"
                self.waiting.setdefault(handle.fileno(), []).append(coro)
            if self.waiting:
                readable, _, _ = select.select(list(self.waiting), [], [])
                self.selects += 1
                for fd in readable:
                    self.ready.extend(self.waiting.pop(fd))


async def consume(ch, out):
    async for payload in ch:
        out.append(seq(payload))


def test_multiplexes_several_channels_fed_by_native_threads():
    sched = Scheduler()
    results = []
    producers = []
    for i in range(4):
        ch = awaitq.Channel(capacity=16, max_frame=16)
        out = []
        results.append(out)
        producers.append(spawn_producer(ch, 2000 * (i + 1), size=8, close=True))
        sched.spawn(consume(ch, out))
    sched.run()
    for i, out in enumerate(results):
        assert out == list(range(2000 * (i + 1)))
    assert [p.join() for p in producers] == [2000, 4000, 6000, 8000]


def test_waiting_costs_one_select_per_wake():
    sched = Scheduler()
    outs = []
    for _ in range(3):
        ch = awaitq.Channel(capacity=4, max_frame=8)
        out = []
        outs.append(out)
        # Paced: the consumers are parked most of the time.
        spawn_producer(ch, 10, size=4, rate_hz=200, close=True)
        sched.spawn(consume(ch, out))
    sched.run()
    assert outs == [list(range(10))] * 3
    # 30 frames + 3 closes could each need a wake; a polling loop would do thousands.
    assert sched.selects <= 40


def test_waiting_sends_and_receives_in_one_scheduler():
    sched = Scheduler()
    ch = awaitq.Channel(capacity=2, max_frame=8)
    got = []

    async def sender():
        for i in range(200):
            await ch.send(i.to_bytes(4, "little"), tag=i)
        ch.close()

    async def receiver():
        async for d in ch:
            got.append(int.from_bytes(d, "little"))

    sched.spawn(sender())
    sched.spawn(receiver())
    sched.run()
    assert got == list(range(200))
    assert ch.stats()["dropped"] == 0


def test_a_scheduler_can_cancel_a_wait_without_losing_the_frame():
    ch = awaitq.Channel(capacity=2, max_frame=8)

    async def waiter():
        return await ch.recv()

    coro = waiter()
    handle = coro.send(None)
    ch.producer().push(b"late")
    assert select.select([handle], [], [], 0)[0]
    with pytest.raises(TimeoutError):
        coro.throw(TimeoutError)  # the scheduler's timeout fired first
    assert ch.try_recv() == b"late"


def test_yielded_handle_outside_a_loop_after_using_a_loop(run):
    import asyncio

    ch = awaitq.Channel(capacity=2, max_frame=8)

    async def in_loop():
        task = asyncio.ensure_future(ch.recv())
        await asyncio.sleep(0)
        ch.producer().push(b"a")
        return await task

    assert run(in_loop()) == b"a"
    sched = Scheduler()
    out = []
    spawn_producer(ch, 5, size=8, close=True)
    sched.spawn(consume(ch, out))
    sched.run()
    assert out == list(range(5))
