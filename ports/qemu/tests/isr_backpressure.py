# Overflow from an ISR. "reject": a slow consumer makes the channel refuse frames; the ISR keeps
# the refused frame and retries it at its next interrupt, so nothing is lost and the core
# counts each refusal as dropped. "drop_oldest": the ISR never fails, the oldest frames are
# overwritten. isrbus.fire() runs the ISR once, synchronously (NVIC pend), so the second part
# is deterministic.
import asyncio

import awaitq
import isrbus

COUNT = 40


async def slow_consumer(ch):
    got = []
    while True:
        try:
            tag, data = await ch.recv_tagged()
        except awaitq.ChannelClosed:
            return got
        got.append(tag)
        await asyncio.sleep_ms(3)  # slower than the 500 us interrupt


async def reject():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    isrbus.start(ch, COUNT, size=8, period_us=500, close=True)
    got = await slow_consumer(ch)
    st = isrbus.stats()
    isrbus.stop()
    print("reject: in order, none lost:", got == list(range(COUNT)))
    print("reject: ISR had to retry:", st["full"] > 0)
    print("reject: retries == core's dropped:", st["full"] == ch.stats()["dropped"])


def drop_oldest():
    ch = awaitq.Channel(capacity=4, max_frame=8, overflow="drop_oldest")
    isrbus.start(ch, COUNT, size=8, period_us=0)  # only software-triggered interrupts
    for _ in range(COUNT):
        isrbus.fire()
    st = isrbus.stats()
    isrbus.stop()
    kept = []
    while (f := ch.try_recv()) is not None:
        kept.append(int.from_bytes(f[:4], "little"))
    print("drop_oldest: irqs, pushed, retries:", st["irqs"], st["pushed"], st["full"])
    print("drop_oldest: kept the newest:", kept, "overwritten:", ch.stats()["overwritten"])


asyncio.run(reject())
drop_oldest()
