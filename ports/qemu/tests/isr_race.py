# The lost-wake-up race, made deterministic. isrbus.race(n) makes each of the next n idle
# waits raise TIMER0's interrupt inside the window between asyncio's last poll of the channel
# and the core's sleep: the ISR pushes the frame the consumer is waiting for exactly there.
# Both ends of the window are run (see board_clock.c):
# - at the start of the idle wait, interrupts enabled: the ISR runs before the wait looks at
#   the wake flag. The port wake hook sets that flag, so the wait must not sleep;
# - right before WFI, interrupts masked (the flag was checked already): the interrupt stays
#   pending, so WFI must return at once and the ISR runs when the mask is lifted. A wait that
#   checked the flag with interrupts enabled would have let the ISR run between its check and
#   WFI, and slept.
# If the core slept through a frame, nothing would wake it: the timer is not running
# (period_us=0), the idle wait has no timeout and the clock wraps every 100 s, so this test
# would hang and fail on the test runner's timeout.
import asyncio

import awaitq
import isrbus
import qemuboard

N = 20


async def race(at_wfi):
    ch = awaitq.Channel(capacity=4, max_frame=8)
    isrbus.start(ch, N, size=8, period_us=0)
    isrbus.race(N, at_wfi=at_wfi)
    idle0 = qemuboard.idle_stats()
    got = []
    for _ in range(N):
        got.append(await ch.recv_tagged())
    idle1 = qemuboard.idle_stats()
    st = isrbus.stats()
    isrbus.stop()
    where = "at WFI:" if at_wfi else "at idle entry:"
    print(where, "received in order:", [t for t, _ in got] == list(range(N)))
    print(where, "irqs:", st["irqs"], "wakes:", st["wakes"])
    if at_wfi:
        # Each frame came from an interrupt pended just before a WFI that then returned.
        print(where, "WFI woken by the pending interrupt:", idle1[0] - idle0[0] >= N)
    else:
        print(where, "sleeps skipped because of a wake:", idle1[1] - idle0[1] >= N)


asyncio.run(race(False))
asyncio.run(race(True))
