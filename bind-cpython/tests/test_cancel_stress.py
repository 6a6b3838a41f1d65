"""A frame is never lost or duplicated when a waiting receive is cancelled or times out.

A native producer pushes 1,000,000 sequence-numbered frames. The consumer receives them with
`asyncio.wait_for` and `asyncio.timeout` at tiny timeouts, through tasks it cancels at random,
while a chaos task cancels the consumer itself at random. Every number must arrive exactly
once, in order."""

import asyncio
import random
import sys
from collections import Counter

import pytest

import awaitq
from awaitq.testing import spawn_producer

from conftest import seq

COUNT = 1_000_000
TIMEOUTS = (0, 1e-6, 1e-5, 5e-5, 2e-4)


def uncancel():
    task = asyncio.current_task()
    if hasattr(task, "uncancel"):  # 3.11+: keep the task's cancel count balanced
        task.uncancel()


async def settle(task, counts):
    """Waits for `task` whatever happens to us; its frames must never be dropped."""
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            counts["chaos"] += 1
            uncancel()
    if task.cancelled():
        counts["task_cancelled"] += 1
        return []
    return task.result()  # ChannelClosed at the end


async def receive_some(ch, rng, counts):
    """One receive, by a randomly chosen cancellable route. Returns the frames taken."""
    route = rng.random()
    timeout = rng.choice(TIMEOUTS)
    if route < 0.35:
        return await asyncio.wait_for(ch.recv_many(rng.randint(1, 64)), timeout)
    if route < 0.55:
        return [await asyncio.wait_for(ch.recv(), timeout)]
    if route < 0.75 and sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await ch.recv_many(rng.randint(1, 64))
    task = asyncio.ensure_future(ch.recv_many(rng.randint(1, 16)))
    try:
        for _ in range(rng.randint(0, 2)):
            await asyncio.sleep(0)
        if rng.random() < 0.5:
            task.cancel()
    except asyncio.CancelledError:
        counts["chaos"] += 1
        uncancel()
    return await settle(task, counts)


async def consume(ch, rng, counts):
    expected = 0
    while True:
        try:
            frames = await receive_some(ch, rng, counts)
        except asyncio.TimeoutError:
            counts["timeout"] += 1
            continue
        except asyncio.CancelledError:
            counts["chaos"] += 1
            uncancel()
            continue
        except awaitq.ChannelClosed:
            return expected
        for payload in frames:
            n = seq(payload)
            assert n == expected, f"got frame {n}, expected {expected}"
            expected += 1


async def chaos(consumer, rng):
    while not consumer.done():
        await asyncio.sleep(rng.choice((0, 0, 1e-5, 1e-4)))
        if rng.random() < 0.2 and not consumer.done():
            consumer.cancel()


@pytest.mark.parametrize("seed", [20240601])
def test_one_million_frames_survive_cancellation(run, seed):
    rng = random.Random(seed)
    ch = awaitq.Channel(capacity=128, max_frame=8)
    counts = Counter()

    async def main():
        producer = spawn_producer(ch, COUNT, size=4, close=True)
        consumer = asyncio.ensure_future(consume(ch, rng, counts))
        noise = asyncio.ensure_future(chaos(consumer, rng))
        received = await consumer
        await noise
        return received, producer.join()

    received, pushed = run(main())
    print(dict(counts))
    assert pushed == COUNT
    assert received == COUNT
    st = ch.stats()
    assert st["sent"] == st["received"] == COUNT
    # The cancellation paths really ran, many times each.
    assert counts["timeout"] > 1000, counts
    assert counts["chaos"] > 1000, counts
    assert counts["task_cancelled"] > 1000, counts
