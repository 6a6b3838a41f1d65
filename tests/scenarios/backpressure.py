# await send waits for room under "reject" and never waits under "drop_oldest".
import asyncio

import awaitq


async def main():
    ch = awaitq.Channel(capacity=2, max_frame=4, overflow="reject")
    order = []

    async def producer():
        for i in range(6):
            await ch.send(bytes([i]), tag=i)
            order.append("sent %d" % i)
        ch.close()

    async def consumer():
        got = []
        async for d in ch:
            got.append(d[0])
            order.append("got %d" % d[0])
        return got

    p = asyncio.create_task(producer())
    got = await consumer()
    await p
    print("got", got)
    # Frame i can only be queued once frame i-2 was taken (capacity 2).
    print("at most 2 ahead", all(
        order.index("got %d" % (i - 2)) < order.index("sent %d" % i) for i in range(2, 6)))
    print("dropped", ch.stats()["dropped"], "high_water", ch.stats()["high_water"])

    ch = awaitq.Channel(capacity=2, max_frame=4, overflow="drop_oldest")
    for i in range(5):
        await ch.send(bytes([i]))
    print("drop_oldest kept", [ch.try_recv(), ch.try_recv()], "overwritten", ch.stats()["overwritten"])

    ch = awaitq.Channel(capacity=1, max_frame=4)
    ch.send_nowait(b"full")

    async def closer():
        await asyncio.sleep(0)
        ch.close()

    t = asyncio.create_task(closer())
    try:
        await ch.send(b"wait")
    except awaitq.ChannelClosed as e:
        print("waiting send woken by close:", e)
    await t


asyncio.run(main())
