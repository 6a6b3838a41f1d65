# When every Python task waits, the VM task blocks instead of spinning. The only frame comes
# after 10.5 s of (simulated) time; meanwhile a ticker wakes once a second. The VM task gets a
# turn per tick and one for the frame, nothing more, and the scheduler idles in between. (A
# spinning VM never lets simulated time advance: the scheduler's turn budget would end the
# run with an error.)
import asyncio

import awaitq
import rtos


async def ticker(ticks, done):
    while not done:
        ticks.append(1)
        await asyncio.sleep_ms(1000)


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    s0 = rtos.stats()
    rtos.start_producer(ch, 1, size=8, delay_ms=10500, close=False)
    ticks, done = [], []
    t = asyncio.create_task(ticker(ticks, done))
    tag, data = await ch.recv_tagged()
    done.append(1)
    s1 = rtos.stats()
    print("frame:", tag, data)
    d = {k: s1[k] - s0[k] for k in s1 if not isinstance(s1[k], bool)}
    print("simulated ms waited:", d["now_ms"], "ticks:", len(ticks))
    print("VM idle waits ended by a timeout (the ticker):", d["vm_timeouts"])
    print("VM idle waits ended by the producer:", d["vm_notified"])
    print("VM turns <= ticks + 2:", d["vm_turns"] <= len(ticks) + 2)
    print("producer turns:", d["producer_turns"])
    print("scheduler idled between events:", d["idle_jumps"] >= len(ticks))
    t.cancel()


asyncio.run(main())
