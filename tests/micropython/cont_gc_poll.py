# Issue 15, item 7: a Rust future's wake slot points at the future being polled (`current`)
# without a GC root. Safe because the awaitable being polled is reachable from its driver
# (a Task's coro, or the C stack of the send() call). This collects inside polls, with every
# Python reference to the awaitable dropped, and churns the heap so a freed block would be
# reused; under valgrind (ci/test-micropython.sh) a dangling `current` is an invalid read.
try:
    from awaitq.testing import cont
except ImportError:
    print("SKIP")
    raise SystemExit

import asyncio
import gc


async def churn(v, tick=True):
    gc.collect()
    for _ in range(300):
        junk = bytearray(48)  # garbage of the awaitable's size class, reusing freed blocks
    gc.collect()
    if tick:  # (outside an event loop, MicroPython's own sleep(0) crashes: not there)
        await asyncio.sleep(0)
    gc.collect()
    for _ in range(300):
        junk = bytearray(48)
    return v + len(junk) * 0


print("-- by hand: only the bound send() holds the awaitable")
aw = cont.await_each([churn(1, False), churn(2, False)])
send = aw.send
del aw
gc.collect()
try:
    send(None)
except StopIteration as e:
    print("result", e.value)


print("-- in asyncio: only the Task holds it")


async def main():
    tasks = [asyncio.create_task(cont.await_each([churn(k), churn(k + 1)])) for k in range(4)]
    out = []
    for t in tasks:
        out.append(await t)
    return out


print(asyncio.run(main()))
gc.collect()
print("live futures:", cont.live_futures())
