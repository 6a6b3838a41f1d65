"""Under trio, a frame is never lost or duplicated when a waiting receive is cancelled.

A native producer pushes 1,000,000 sequence-numbered frames. The consumer receives them
inside `move_on_after` / `fail_after` scopes with tiny deadlines, in child tasks whose
nursery it cancels at random, while a chaos task cancels the scope around the whole consumer
at random. Every number must arrive exactly once, in order."""

import random
from collections import Counter

import trio

import awaitq
from awaitq.testing import spawn_producer

from conftest import seq

COUNT = 1_000_000
DEADLINES = (0, 1e-6, 1e-5, 5e-5, 2e-4)


async def receive_some(ch, rng, counts, got):
    """One receive, by a randomly chosen cancellable route, into `got` (a frame a child task
    took is kept even if the chaos cancels us right after)."""
    route = rng.random()
    deadline = rng.choice(DEADLINES)
    if route < 0.35:
        with trio.move_on_after(deadline) as scope:
            got.extend(await ch.recv_many(rng.randint(1, 64)))
        if scope.cancelled_caught:
            counts["moved_on"] += 1
        return
    if route < 0.55:
        try:
            with trio.fail_after(deadline):
                got.append(await ch.recv())
        except trio.TooSlowError:
            counts["too_slow"] += 1
        return
    closed = []
    async with trio.open_nursery() as nursery:
        async def child():
            try:
                got.extend(await ch.recv_many(rng.randint(1, 16)))
            except awaitq.ChannelClosed:  # raised below, not as a nursery's ExceptionGroup
                closed.append(True)

        nursery.start_soon(child)
        for _ in range(rng.randint(0, 2)):
            await trio.sleep(0)
        if rng.random() < 0.5:
            nursery.cancel_scope.cancel()
    if closed:
        raise awaitq.ChannelClosed
    if not got:
        counts["child_cancelled"] += 1


async def consume(ch, rng, counts, scopes):
    expected = 0
    while True:
        frames = []
        with trio.CancelScope() as scope:
            scopes.append(scope)
            try:
                await receive_some(ch, rng, counts, frames)
            except awaitq.ChannelClosed:
                return expected
        if scope.cancelled_caught:
            counts["chaos"] += 1
        for payload in frames:
            n = seq(payload)
            assert n == expected, f"got frame {n}, expected {expected}"
            expected += 1


async def chaos(rng, scopes, done):
    while not done.is_set():
        await trio.sleep(rng.choice((0, 0, 1e-5, 1e-4)))
        if rng.random() < 0.2 and scopes:
            scopes[-1].cancel()


def test_one_million_frames_survive_trio_cancellation():
    rng = random.Random(20240602)
    ch = awaitq.Channel(capacity=128, max_frame=8)
    counts = Counter()

    async def main():
        # Paced (in bursts: the thread sleeps whenever it is ahead of schedule), so the consumer
        # drains each burst and parks between them: only a parked receive can be cancelled
        # (a ready one completes without a checkpoint), and an unpaced producer keeps the
        # channel non-empty nearly all the time on a fast machine.
        producer = spawn_producer(ch, COUNT, size=4, rate_hz=250_000, close=True)
        scopes, done, result = [], trio.Event(), []

        async def consumer():
            result.append(await consume(ch, rng, counts, scopes))
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consumer)
            nursery.start_soon(chaos, rng, scopes, done)
        return result[0], producer.join()

    received, pushed = trio.run(main)
    print(dict(counts))
    assert pushed == COUNT
    assert received == COUNT
    st = ch.stats()
    assert st["sent"] == st["received"] == COUNT
    # The cancellation paths really ran, many times each (a ready receive completes without
    # a checkpoint, so only the receives that parked can be cancelled: 44-4000 per route seen with
    # the paced producer, on a loaded machine too).
    assert counts["moved_on"] > 10, counts
    assert counts["too_slow"] > 10, counts
    assert counts["child_cancelled"] > 10, counts
    assert counts["chaos"] > 1000, counts
