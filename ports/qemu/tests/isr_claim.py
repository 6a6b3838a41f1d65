# A thread producer interrupted between claiming a slot and publishing it by an ISR producer,
# on one core (awaitq's ring takes no lock, so neither may wait for the other).
# isrbus.claim_race(tag): the VM reserves a slot and writes into it, TIMER0's ISR then pushes
# its own frame into the same channel while the VM's claim is still unpublished, then the VM
# commits. A consumer task is parked on the channel the whole time: the ISR's frame sits behind
# the unpublished claim (the consumer must see the channel not ready, not take the ISR's frame
# first, not hang) and must be woken (the ISR's publish already wakes it: it re-checks and
# finds the VM's frame committed). A lost wake hangs the test (the timer is not running,
# period_us=0) and fails it on the runner's timeout.
import asyncio

import awaitq
import isrbus

N = 100
VM = 0x40000000


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    isrbus.start(ch, N, size=8, period_us=0)
    got = []

    async def consumer():
        for _ in range(2 * N):
            got.append((await ch.recv_tagged())[0])

    task = asyncio.create_task(consumer())
    await asyncio.sleep(0)  # the consumer parks on the empty channel
    lens = []
    for i in range(N):
        lens.append(isrbus.claim_race(VM + i))
        while len(ch):  # let the parked consumer drain both frames
            await asyncio.sleep(0)
    await task
    st = isrbus.stats()
    isrbus.stop()
    want = []
    for i in range(N):
        want += [VM + i, i]
    print("the ISR ran while the claim was pending:", lens == [2] * N)
    print("claim order kept, nothing lost:", got == want)
    print("ISR never found the channel full:", st["full"] == 0)
    print("wakes:", st["wakes"] >= N)


asyncio.run(main())
