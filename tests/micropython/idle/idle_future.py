# Run by ci/test-micropython.sh under `strace -f -c`, like idle_consumer.py: a Rust future
# waiting on its Waker must sleep in the kernel (its wake slot's eventfd) until woken, never
# spin. Woken once from a native thread, then idle for 1 s.
import asyncio

from awaitq.testing import cont


async def main():
    sig = cont.Signal()
    sig.set_later(0.05)
    print("woken:", await cont.wait_signal(sig, "wake"))
    try:
        await asyncio.wait_for(cont.wait_signal(sig, "never"), 1)
    except asyncio.TimeoutError:
        print("idle 1 s: done")


asyncio.run(main())
