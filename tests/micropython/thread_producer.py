# A Python producer on another VM thread (_thread) feeding an asyncio consumer: send_nowait
# from that thread wakes the parked consumer (the core's wake hook), nothing is lost or
# reordered, and the consumer sleeps in poll() between frames rather than spinning.
try:
    import _thread
except ImportError:
    print("SKIP")
    raise SystemExit

import asyncio

import awaitq

N = 20000
done = _thread.allocate_lock()
done.acquire()
full_retries = [0]


def producer(ch):
    for k in range(N):
        payload = k.to_bytes(4, "little")
        while True:
            try:
                ch.send_nowait(payload, tag=k)
                break
            except awaitq.ChannelFull:
                full_retries[0] += 1  # the consumer is behind: try again
    ch.close()
    done.release()


async def main():
    ch = awaitq.Channel(capacity=16, max_frame=8)
    _thread.start_new_thread(producer, (ch,))
    expected = 0
    async for data in ch:
        if int.from_bytes(data, "little") != expected:
            print("out of order:", int.from_bytes(data, "little"), "expected", expected)
            break
        expected += 1
    done.acquire()  # the producer has returned
    stats = ch.stats()
    print("received", expected, "of", N)
    print("sent", stats["sent"], "received", stats["received"])
    print("dropped == full retries:", stats["dropped"] == full_retries[0])


asyncio.run(main())
