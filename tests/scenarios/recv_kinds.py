# Every receive kind on ready frames, then on frames pushed while the receiver waits.
import asyncio

import awaitq


async def main():
    ch = awaitq.Channel(capacity=8, max_frame=8)
    ch.send_nowait(b"one")
    ch.send_nowait(b"two", tag=2)
    ch.send_nowait(bytearray(b"three"), tag=3)
    ch.send_nowait(memoryview(b"four"))
    ch.send_nowait(b"")
    print("len", len(ch))
    print("recv", await ch.recv())
    print("recv_tagged", await ch.recv_tagged())
    buf = bytearray(8)
    n = await ch.recv_into(buf)
    print("recv_into", n, bytes(buf[:n]))
    print("recv_many", await ch.recv_many(10))
    print("try_recv empty", ch.try_recv())

    # Parked first, then a frame arrives from another task.
    async def later(data, tag):
        await asyncio.sleep(0)
        ch.send_nowait(data, tag=tag)

    for kind in ("recv", "recv_tagged", "recv_many"):
        t = asyncio.create_task(later(kind[-4:].encode(), 7))
        if kind == "recv":
            got = await ch.recv()
        elif kind == "recv_tagged":
            got = await ch.recv_tagged()
        else:
            got = await ch.recv_many(3)
        await t
        print("parked", kind, got)
    print("stats", [(k, ch.stats()[k]) for k in ("sent", "received", "dropped")])


asyncio.run(main())
