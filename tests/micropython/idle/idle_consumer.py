# Run by ci/test-micropython.sh under `strace -f -c`, which counts the poll() calls: a receive
# that waits must sleep in the kernel (the channel's eventfd) until woken, never spin. The
# consumer is woken once, then idles for 1 s; a handful of poll calls is right, thousands
# mean busy polling (e.g. a wake-up fd that is never drained).
import asyncio

import awaitq


async def main():
    ch = awaitq.Channel()
    t = asyncio.create_task(ch.recv())
    await asyncio.sleep_ms(0)  # the receive parks
    ch.send_nowait(b"wake")  # and is woken once
    print("woken:", await t)
    try:
        await asyncio.wait_for(ch.recv(), 1)
    except asyncio.TimeoutError:
        print("idle 1 s: done")


asyncio.run(main())
