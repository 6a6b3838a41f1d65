# A native producer thread (never takes the GIL / VM lock) feeding an asyncio consumer.
import asyncio

import awaitq
from awaitq.testing import spawn_producer


def expected(k, size):
    return (k & 0xFFFFFFFF).to_bytes(4, "little") + bytes([k & 0xFF]) * (size - 4)


async def main():
    # Full speed into a small channel: the producer retries on full, nothing is lost.
    ch = awaitq.Channel(capacity=8, max_frame=16)
    p = spawn_producer(ch, 20000, size=12, close=True)
    k = 0
    ok = True
    async for d in ch:
        ok = ok and d == expected(k, 12)
        k += 1
    print("received", k, "in order", ok, "pushed", p.join(), "running", p.running)

    # Paced: the consumer parks between frames and is woken each time.
    ch = awaitq.Channel(capacity=64, max_frame=8)
    p = spawn_producer(ch, 100, size=4, rate_hz=5000, close=True)
    tags = []
    while True:
        try:
            tag, d = await ch.recv_tagged()
        except awaitq.ChannelClosed:
            break
        tags.append(tag)
    print("paced", tags == list(range(100)), p.join())

    # A receiver parked before the producer starts is woken by it.
    ch = awaitq.Channel(capacity=4, max_frame=8)
    woken = 0
    for i in range(20):
        async def receive():
            return await ch.recv_tagged()
        t = asyncio.create_task(receive())
        await asyncio.sleep(0)
        spawn_producer(ch, 1, size=4)
        tag, d = await t
        if tag == 0 and d == expected(0, 4):
            woken += 1
    print("woken", woken)

    # Stops early when the channel is closed.
    ch = awaitq.Channel(capacity=2, max_frame=8)
    p = spawn_producer(ch, 1000000, size=4)
    await ch.recv()
    ch.close()
    print("stopped early", p.join() < 1000000)

    for bad in (3, 9):
        try:
            spawn_producer(awaitq.Channel(capacity=2, max_frame=8), 1, size=bad)
        except ValueError as e:
            print("size", bad, "->", type(e).__name__)


asyncio.run(main())
