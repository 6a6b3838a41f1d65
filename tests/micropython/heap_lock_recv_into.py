# A ready `await ch.recv_into(buf)` allocates nothing: the awaitable is recycled, the payload is
# copied into the caller's buffer and the result is a small int delivered through
# mp_make_stop_iteration. micropython.heap_lock() turns any allocation into a MemoryError, so
# this test fails if the ready path ever allocates. send_nowait is allocation-free too.
import asyncio
import micropython

import awaitq

N = 200


async def main():
    ch = awaitq.Channel(capacity=N, max_frame=16)
    payloads = [bytes([k & 0xFF]) * (1 + k % 16) for k in range(N)]
    buf = bytearray(16)

    # The first call on a channel creates its recyclable awaitable (one allocation per
    # channel, not per receive).
    ch.send_nowait(b"warm-up")
    assert await ch.recv_into(buf) == 7

    micropython.heap_lock()
    try:
        for k in range(N):
            ch.send_nowait(payloads[k], tag=k)
        total = 0
        for k in range(N):
            n = await ch.recv_into(buf)
            if buf[0] != k & 0xFF or n != 1 + k % 16:
                break
            total += n
    finally:
        micropython.heap_unlock()

    print("received", total, "bytes in", N, "frames")
    print("expected", sum(1 + k % 16 for k in range(N)))
    print(ch.stats())


asyncio.run(main())
