# awaitq.testing.spawn_producer: a native pthread (unknown to the VM) pushing through the C ABI.
# Checks the frame pattern, ordering, pacing options, close=True, early stop on close, and
# that join() reports what was pushed.
import asyncio

import awaitq
from awaitq.testing import spawn_producer


def check(data, tag, k, size):
    return (
        tag == k
        and len(data) == size
        and int.from_bytes(data[:4], "little") == k
        and data[4:] == bytes([k & 0xFF]) * (size - 4)
    )


async def consume(ch, size):
    k = 0
    while True:
        try:
            tag, data = await ch.recv_tagged()
        except awaitq.ChannelClosed:
            return k, True
        if not check(data, tag, k, size):
            print("bad frame", k, tag, data)
            return k, False
        k += 1


async def main():
    # Full speed into a small "reject" channel: the producer retries on full, loses nothing.
    ch = awaitq.Channel(capacity=4, max_frame=32)
    p = spawn_producer(ch, 5000, size=32, close=True)
    print("running", p.running)
    print("consumed", await consume(ch, 32))
    print("joined", p.join(), "running", p.running)

    # Paced (rate_hz): the consumer parks between frames and is woken each time.
    ch = awaitq.Channel(capacity=64, max_frame=4)
    p = spawn_producer(ch, 200, size=4, rate_hz=20000, close=True)
    print("paced", await consume(ch, 4), p.join())

    # Several producers at once, tags restart per producer: count per tag stream.
    ch = awaitq.Channel(capacity=8, max_frame=8)
    ps = [spawn_producer(ch, 1000, size=8) for _ in range(3)]
    seen = [0] * 1000
    for _ in range(3000):
        tag, data = await ch.recv_tagged()
        seen[tag] += int.from_bytes(data[:4], "little") == tag
    print("three producers:", all(n == 3 for n in seen), [p.join() for p in ps])

    # Closing the channel stops a producer early; join() says how far it got.
    ch = awaitq.Channel(capacity=2, max_frame=8)
    p = spawn_producer(ch, 1000000, size=8)
    for k in range(10):
        assert int.from_bytes((await ch.recv())[:4], "little") == k
    ch.close()
    n = p.join()
    print("stopped early:", 10 <= n < 1000000, "drained:", n - 10 == len(ch))

    # drop_oldest never refuses a push: the consumer sees the newest frames, in order.
    ch = awaitq.Channel(capacity=4, max_frame=8, overflow="drop_oldest")
    p = spawn_producer(ch, 10000, size=8, close=True)
    print("drop_oldest joined", p.join())
    last = -1
    async for data in ch:
        k = int.from_bytes(data[:4], "little")
        assert k > last
        last = k
    st = ch.stats()
    print("last", last, "sent", st["sent"], "overwritten+received", st["overwritten"] + st["received"])

    # Argument checks (ValueError, TypeError) start nothing.
    ch = awaitq.Channel(capacity=2, max_frame=16)
    for kwargs in ({"size": 3}, {"size": 17}, {"rate_hz": 0}, {"rate_hz": -1.5}):
        try:
            spawn_producer(ch, 1, **kwargs)
        except ValueError as e:
            print("ValueError:", e)
    try:
        spawn_producer(b"not a channel", 1)
    except TypeError:
        print("TypeError: not a channel")
    print("nothing pushed:", ch.stats()["sent"] == 0)
    try:  # the core's rule (awaitq_core::args), as on CPython
        spawn_producer(ch, -5, size=4)
    except ValueError as e:
        print("ValueError:", e)


asyncio.run(main())
