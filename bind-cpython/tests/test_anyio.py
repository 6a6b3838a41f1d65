"""A plain anyio program (nothing awaitq-specific beyond the channel) on both anyio backends:
the running library is found when a receive waits, so one channel serves runs of either."""

import anyio
import pytest

import awaitq
from awaitq.testing import spawn_producer

from conftest import frame


@pytest.fixture(params=["asyncio", "trio"])
def backend(request):
    return request.param


def test_streams_cancels_and_sends_under_anyio(backend):
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def main():
        p = spawn_producer(ch, 200, size=16, rate_hz=20000, close=False)
        got = [f async for f in _take(ch, 200)]
        p.join()
        with anyio.move_on_after(0.01) as scope:
            await ch.recv()
        assert scope.cancelled_caught and len(ch) == 0
        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(ch.send, bytes([i]))
            await anyio.sleep(0.01)
            more = sorted([await ch.recv() for _ in range(10)])
        return got, more

    got, more = anyio.run(main, backend=backend)
    assert got == [frame(k) for k in range(200)]
    assert more == [bytes([i]) for i in range(10)]


async def _take(ch, n):
    for _ in range(n):
        yield await ch.recv()


def test_one_channel_alternates_backends():
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def consume():
        return [await ch.recv() for _ in range(20)]

    for backend in ["trio", "asyncio", "trio"]:
        p = spawn_producer(ch, 20, size=16, rate_hz=10000)
        assert anyio.run(consume, backend=backend) == [frame(k) for k in range(20)]
        p.join()
