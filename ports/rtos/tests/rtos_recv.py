# MicroPython as one task of a cooperative RTOS, a C task filling the channel in bursts.
# `await ch.recv_tagged()` suspends only the consumer: the ticker task keeps running, the
# producer task keeps running (it even has to wait for room: capacity 4 < bursts of 6), no
# frame is lost, and the VM task only runs when an event (the producer's notification, a
# timeout, its own time slice) makes it.
import asyncio

import awaitq
import rtos

COUNT = 300
SIZE = 16


def check(tag, data, k):
    return (
        tag == k
        and len(data) == SIZE
        and int.from_bytes(data[:4], "little") == k
        and data[4:] == bytes([k & 0xFF]) * (SIZE - 4)
    )


async def consumer(ch, progress):
    k = 0
    while True:
        try:
            tag, data = await ch.recv_tagged()
        except awaitq.ChannelClosed:
            return k
        if not check(tag, data, k):
            print("bad frame", k, tag, data)
            return -1
        k += 1
        progress[0] = k


async def ticker(progress, seen):
    while progress[0] < COUNT:
        seen.append(progress[0])
        await asyncio.sleep_ms(2)


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=SIZE)
    progress = [0]
    seen = []
    s0 = rtos.stats()
    rtos.start_producer(ch, COUNT, size=SIZE, period_ms=5, burst=6)
    got, _ = await asyncio.gather(consumer(ch, progress), ticker(progress, seen))
    s1 = rtos.stats()
    d = {k: s1[k] - s0[k] for k in s1 if not isinstance(s1[k], bool)}
    print("received:", got)
    print("ticker ran while the consumer waited:", any(0 < p < COUNT for p in seen))
    print("producer pushed:", s1["pushed"], "waited for room:", s1["full"] > 0)
    print("core counted each refusal:", ch.stats()["dropped"] == s1["full"])
    print("VM blocked in its idle wait:", d["vm_waits"] > 0, "woken by the producer:", d["vm_notified"] > 0)
    # A VM that spun (an idle wait that only yields) would take turns no event explains.
    explained = d["vm_notified"] + d["vm_timeouts"] + d["vm_hook_yields"] + 1
    print("every VM turn had a cause:", d["vm_turns"] <= explained)


asyncio.run(main())
