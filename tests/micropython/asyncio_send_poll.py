# Waiting senders and polling on MicroPython's asyncio: several tasks may wait in
# `await ch.send()` on one full channel at once (each awaitable registers itself with
# asyncio's I/O queue, which holds one waiter per object), and the channel itself answers
# select.poll.
import asyncio
import select

import awaitq


async def sender(ch, name, count):
    for k in range(count):
        await ch.send(b"%s%d" % (name, k), tag=k)
    return name


async def main():
    ch = awaitq.Channel(capacity=2, max_frame=8)
    senders = [asyncio.create_task(sender(ch, n, 20)) for n in (b"a", b"b", b"c")]
    await asyncio.sleep_ms(0)  # all three fill the channel and park
    got = {b"a": [], b"b": [], b"c": []}
    for _ in range(60):
        tag, data = await ch.recv_tagged()
        got[data[:1]].append((tag, data))
    print("senders done:", await asyncio.gather(*senders))
    print(
        "per sender in order:",
        all(v == [(k, b"%s%d" % (n, k)) for k in range(20)] for n, v in got.items()),
    )
    print("no drops:", ch.stats()["dropped"] == 0, "empty:", len(ch) == 0)

    # A waiting send cancelled by a timeout queues nothing.
    ch.send_nowait(b"x")
    ch.send_nowait(b"y")
    try:
        await asyncio.wait_for_ms(ch.send(b"z"), 5)
    except asyncio.TimeoutError:
        print("send timed out; queued:", [ch.try_recv(), ch.try_recv(), ch.try_recv()])

    # drop_oldest: a send never waits.
    ch = awaitq.Channel(capacity=1, max_frame=4, overflow="drop_oldest")
    for k in range(3):
        await ch.send(b"%d" % k)
    print("drop_oldest kept:", ch.try_recv(), ch.stats()["overwritten"])

    # The channel is pollable: readable once a frame is queued or it is closed.
    ch = awaitq.Channel(capacity=2, max_frame=4)
    poller = select.poll()
    poller.register(ch, select.POLLIN | select.POLLOUT)
    print("empty:", [ev for _, ev in poller.poll(0)] == [select.POLLOUT])
    ch.send_nowait(b"1")
    ch.send_nowait(b"2")
    print("full:", [ev for _, ev in poller.poll(0)] == [select.POLLIN])
    ch.try_recv()
    ch.try_recv()
    ch.close()
    print("closed:", [ev for _, ev in poller.poll(0)] == [select.POLLIN | select.POLLOUT])

    # recv_many waits for one frame, then takes what is queued, up to n.
    ch = awaitq.Channel(capacity=8, max_frame=4)
    waiter = asyncio.create_task(ch.recv_many(3))
    await asyncio.sleep_ms(0)
    for k in range(5):
        ch.send_nowait(b"%d" % k)
    print("recv_many:", await waiter, await ch.recv_many(10))


asyncio.run(main())
