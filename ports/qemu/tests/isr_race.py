# The lost-wake-up race, made deterministic. isrbus.race(n) makes each of the next n idle
# waits raise TIMER0's interrupt inside the window between asyncio's last poll of the channel
# and the core's sleep: the ISR pushes the frame the consumer is waiting for exactly there.
# The board's idle wait must notice (the port wake hook sets a flag it checks with interrupts
# masked) and not sleep. If it slept, nothing would wake it: the timer is not running
# (period_us=0), the idle wait has no timeout and the clock wraps every 100 s, so this test
# would hang and fail on the test runner's timeout.
import asyncio

import awaitq
import isrbus
import qemuboard

N = 20


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    isrbus.start(ch, N, size=8, period_us=0)
    isrbus.race(N)
    idle0 = qemuboard.idle_stats()
    got = []
    for _ in range(N):
        got.append(await ch.recv_tagged())
    idle1 = qemuboard.idle_stats()
    st = isrbus.stats()
    isrbus.stop()
    print("received in order:", [t for t, _ in got] == list(range(N)))
    print("irqs:", st["irqs"], "wakes:", st["wakes"])
    print("sleeps skipped because of a wake:", idle1[1] - idle0[1] >= N)


asyncio.run(main())
