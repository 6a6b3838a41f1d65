# recv_many_into + awaitq.frames, the same on CPython and MicroPython: what is queued arrives
# in one batch of records, up to max and as many as fit; a waiting batch receive gets what
# arrives; a cancelled one takes nothing; too small a buffer and closed-and-drained raise.
import asyncio

import awaitq


def walk(buf, n):
    return [(tag, bytes(p)) for tag, p in awaitq.frames(buf, n)]


async def main():
    ch = awaitq.Channel(capacity=8, max_frame=8)
    records = bytearray(8 * 16)
    for k in range(5):
        ch.send_nowait(bytes([65 + k]) * k, tag=k)
    n = await ch.recv_many_into(records, 2)
    print("max 2", n, walk(records, n))
    n = await ch.recv_many_into(records)
    print("rest", n, walk(records, n))

    ch.send_nowait(b"12345678")
    ch.send_nowait(b"abcdefgh")
    small = bytearray(20)
    n = await ch.recv_many_into(small)
    print("fits", n, walk(small, n), "queued", len(ch))
    try:
        await ch.recv_many_into(bytearray(15))
    except ValueError as e:
        print("ValueError", e, "queued", len(ch))
    print("then", walk(records, await ch.recv_many_into(records)))

    async def later():
        await asyncio.sleep(0)
        ch.send_nowait(b"x", tag=1)
        ch.send_nowait(b"y", tag=2)

    t = asyncio.create_task(later())
    n = await ch.recv_many_into(records)
    await t
    print("waited", n, walk(records, n))

    task = asyncio.create_task(ch.recv_many_into(records))
    await asyncio.sleep(0)
    ch.send_nowait(b"kept", tag=9)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        print("cancelled, queued", len(ch))

    ch.close()
    print("drain", walk(records, await ch.recv_many_into(records)))
    try:
        await ch.recv_many_into(records)
    except awaitq.ChannelClosed as e:
        print("ChannelClosed", e)


asyncio.run(main())
