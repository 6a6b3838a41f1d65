# `n = await ch.recv_many_into(buf, max=None)`: one await takes every queued frame that fits
# (up to max) into buf as records, and awaitq.frames(buf, n) walks them as (tag, memoryview).
# A ready batch allocates nothing (micropython.heap_lock turns an allocation into MemoryError);
# it waits for the first frame like recv_into; a cancel consumes nothing; a buffer too small
# for the head record raises ValueError and keeps the frame; closed and drained raises
# ChannelClosed.
import asyncio
import micropython

import awaitq


def show(buf, n):
    return [(tag, bytes(p)) for tag, p in awaitq.frames(buf, n)]


async def main():
    ch = awaitq.Channel(capacity=64, max_frame=16)
    records = bytearray(64 * 24)

    # Zero allocation per ready batch (the awaitable is created once per channel).
    ch.send_nowait(b"warm-up")
    assert await ch.recv_many_into(records) == 1
    payloads = [bytes([k]) * (k % 17) for k in range(60)]
    micropython.heap_lock()
    try:
        for k in range(60):
            ch.send_nowait(payloads[k], k)
        n1 = await ch.recv_many_into(records, 25)
        n2 = await ch.recv_many_into(records)
    finally:
        micropython.heap_unlock()
    print("heap locked:", n1, n2)
    got = show(records, n2)
    print("last batch ok:", got == [(k, payloads[k]) for k in range(25, 60)])

    # Stops before a record that does not fit; the rest stays queued.
    for k in range(3):
        ch.send_nowait(b"abcdefgh", k)
    small = bytearray(40)  # two 16-byte records fit, not three
    n = await ch.recv_many_into(small)
    print("fits:", n, show(small, n), len(ch))
    print("memoryview slice:", await ch.recv_many_into(memoryview(records)[3:]), show(memoryview(records)[3:], 1))

    # Too small for the head record: ValueError, frame kept.
    ch.send_nowait(b"0123456789")
    try:
        await ch.recv_many_into(bytearray(17))
    except ValueError as e:
        print("ValueError:", e, "queued:", len(ch))
    print("then:", show(records, await ch.recv_many_into(records)))

    # Waits for the first frame; frames pushed meanwhile all arrive in one batch.
    waiter = asyncio.create_task(ch.recv_many_into(records))
    await asyncio.sleep(0)
    ch.send_nowait(b"x", 1)
    ch.send_nowait(b"y", 2)
    n = await waiter
    print("waited:", n, show(records, n))

    # Cancelled while parked: nothing consumed, the next receive gets it.
    task = asyncio.create_task(ch.recv_many_into(records))
    await asyncio.sleep(0)
    task.cancel()
    ch.send_nowait(b"kept", 9)
    try:
        await task
    except asyncio.CancelledError:
        print("cancelled; queued:", len(ch))
    print("after cancel:", show(records, await ch.recv_many_into(records)))

    # Bad arguments.
    for args in ((b"ro",), (bytearray(8), 0), (bytearray(8), "2"), (42,)):
        try:
            ch.recv_many_into(*args)
        except (TypeError, ValueError) as e:
            print(type(e).__name__, e)
    for args in ((42, 1), (records, "1"), (b"\x01\x00\x00\x00\x09\x00\x00\x00ab", 1)):
        try:
            print(list(awaitq.frames(*args)))
        except (TypeError, ValueError) as e:
            print(type(e).__name__, e)

    # Closed and drained.
    ch.send_nowait(b"last")
    ch.close()
    print("drain:", show(records, await ch.recv_many_into(records)))
    try:
        await ch.recv_many_into(records)
    except awaitq.ChannelClosed as e:
        print("ChannelClosed:", e)


asyncio.run(main())
