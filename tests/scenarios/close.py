# Close: producers refused at once, receivers drain first, a waiting receiver wakes up.
import asyncio

import awaitq


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=4)
    ch.send_nowait(b"a")
    ch.send_nowait(b"b")
    ch.close()
    ch.close()
    print("closed", ch.closed, len(ch))
    try:
        ch.send_nowait(b"c")
    except awaitq.ChannelClosed as e:
        print("send after close:", e)
    print("drain", await ch.recv(), ch.try_recv())
    for name in ("recv", "recv_many", "try_recv"):
        try:
            if name == "recv":
                await ch.recv()
            elif name == "recv_many":
                await ch.recv_many(2)
            else:
                ch.try_recv()
        except awaitq.ChannelClosed as e:
            print(name, "->", type(e).__name__, e)

    # A receiver parked on an empty channel is woken by close.
    ch = awaitq.Channel(capacity=4, max_frame=4)

    async def closer():
        await asyncio.sleep(0)
        ch.close()

    t = asyncio.create_task(closer())
    try:
        await ch.recv()
    except awaitq.ChannelClosed as e:
        print("parked receiver ->", e)
    await t

    # async for ends when closed and drained.
    ch = awaitq.Channel(capacity=4, max_frame=4)
    for i in range(3):
        ch.send_nowait(bytes([48 + i]))
    ch.close()
    seen = []
    async for d in ch:
        seen.append(d)
    print("async for", seen)
    print("is an Error", issubclass(awaitq.ChannelClosed, awaitq.Error), issubclass(awaitq.ChannelFull, awaitq.Error))


asyncio.run(main())
