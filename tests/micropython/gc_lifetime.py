# Memory rules under MicroPython's GC:
# - a channel referenced only by a running spawn_producer stays alive (the Producer sits in a
#   root-pointer list), so the producer thread never writes into freed or reused memory
#   (garbage allocated meanwhile must stay intact; the valgrind run checks the accesses too);
# - a collected channel releases its wake fd (finaliser): no fd leak on the unix port.
import asyncio
import gc
import os

import awaitq
from awaitq.testing import spawn_producer

N = 2000000


def fd_count():
    return len(os.listdir("/proc/self/fd"))


# Only the producer refers to this channel ("drop_oldest": it never blocks on full).
p = spawn_producer(awaitq.Channel(capacity=16, max_frame=64, overflow="drop_oldest"), N, size=64)
junk = []
collections = 0
while p.running or collections < 20:
    gc.collect()
    collections += 1
    # Allocations reuse whatever the GC freed; keep a bounded, checkable set of them.
    junk.append(bytearray(bytes([collections & 0xFF]) * 256))
    if len(junk) > 100:
        junk.pop(0)
print("producer pushed", p.join())
first = collections - len(junk) + 1
print("garbage intact:", all(b == bytes([(first + i) & 0xFF]) * 256 for i, b in enumerate(junk)))

# A channel dropped while a receive waited on it: the receive was cancelled, so nothing is
# parked, and collecting the channel is safe.
async def abandoned():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    t = asyncio.create_task(ch.recv())
    await asyncio.sleep_ms(0)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("cancelled while parked")


asyncio.run(abandoned())

gc.collect()
before = fd_count()
for _ in range(300):
    awaitq.Channel(capacity=4, max_frame=8)
gc.collect()
print("fds released:", fd_count() - before <= 2)  # the GC is conservative: allow a straggler
