"""The trio side of awaitq's wake path (used by the extension; nothing here is public).

One system task per ``trio.run`` watches the run's wake-up descriptor. Producers make it
readable (without the GIL) on a parked -> ready edge; the task then calls the run's waker,
which ``trio.lowlevel.reschedule``s the tasks parked on the channels that became ready. A
single task waits on the descriptor, so trio's one-waiter-per-descriptor rule holds however
many tasks park.
"""

import trio


async def pump(waker):
    fd = waker.fileno()
    while True:
        await trio.lowlevel.wait_readable(fd)
        waker()
