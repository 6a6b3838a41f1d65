# A hardware timer ISR (TIMER0, IRQ 8) pushes frames through awaitq's C API while asyncio runs
# two tasks: `await ch.recv_tagged()` suspends only the consumer; the ticker keeps running in
# between frames; every frame arrives once, in order, intact; the core sleeps (WFI) while both
# tasks wait.
import asyncio

import awaitq
import isrbus
import qemuboard

COUNT = 200
SIZE = 12


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
    # Records how far the consumer was each time this task ran.
    while progress[0] < COUNT:
        seen.append(progress[0])
        await asyncio.sleep_ms(1)


async def main():
    ch = awaitq.Channel(capacity=16, max_frame=SIZE)
    progress = [0]
    seen = []
    idle0 = qemuboard.idle_stats()
    isrbus.start(ch, COUNT, size=SIZE, period_us=1000, close=True)
    got, _ = await asyncio.gather(consumer(ch, progress), ticker(progress, seen))
    idle1 = qemuboard.idle_stats()
    st = isrbus.stats()
    isrbus.stop()
    print("received:", got)
    print("ticker ran while the consumer waited:", any(0 < p < COUNT for p in seen))
    print("isr pushed:", st["pushed"], "running:", st["running"])
    print("port wakes > 0:", st["wakes"] > 0)
    s = ch.stats()
    print("sent/received:", s["sent"], s["received"])
    # A full channel makes the ISR retry the same frame later; the core counts each refusal.
    print("refusals counted by the core:", s["dropped"] == st["full"])
    print("core slept in WFI:", idle1[0] - idle0[0] > 0)


asyncio.run(main())
