# Python that computes without awaiting does not starve the C tasks: the VM hook
# (MICROPY_VM_HOOK_LOOP) gives the CPU back every few hundred branches, so the producer task
# keeps filling the channel during the loop. Afterwards an asyncio consumer drains it all.
import asyncio

import awaitq
import rtos

COUNT = 1000


async def drain(ch):
    k = 0
    async for data in ch:
        if int.from_bytes(data[:4], "little") != k:
            return -1
        k += 1
    return k


def main():
    ch = awaitq.Channel(capacity=64, max_frame=8)
    rtos.start_producer(ch, COUNT, size=8, period_ms=0)
    s0 = rtos.stats()
    x = 0
    for i in range(20000):
        x += i
    s1 = rtos.stats()
    print("computed:", x)
    print("VM gave time slices:", s1["vm_hook_yields"] > s0["vm_hook_yields"])
    print("producer ran during the loop:", s1["pushed"] > s0["pushed"], "channel filled:", len(ch) == 64)
    print("received in order:", asyncio.run(drain(ch)))


main()
