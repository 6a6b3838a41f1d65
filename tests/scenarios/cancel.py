# A cancelled or timed-out receive never consumes a frame.
import asyncio

import awaitq


async def receive(ch):
    return await ch.recv()


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=4)

    # Cancel a task parked on recv, then push: the frame is still queued.
    t = asyncio.create_task(receive(ch))
    await asyncio.sleep(0)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("cancelled")
    ch.send_nowait(b"a")
    print("after cancel", len(ch), await ch.recv())

    # Time out while parked: nothing consumed, the channel is free again.
    try:
        await asyncio.wait_for(receive(ch), 0.01)
    except asyncio.TimeoutError:
        print("timed out")
    ch.send_nowait(b"b")
    print("after timeout", len(ch), await asyncio.wait_for(receive(ch), 1))

    # Cancel in the same step the frame arrives: exactly one of the two happens.
    results = []
    for i in range(20):
        t = asyncio.create_task(receive(ch))
        await asyncio.sleep(0)
        ch.send_nowait(bytes([i]))
        if i % 2:
            t.cancel()
        try:
            results.append(await t)
        except asyncio.CancelledError:
            results.append(await ch.recv())
    print("in order", results == [bytes([i]) for i in range(20)], len(ch))


asyncio.run(main())
