# Soak test (issue 15): minutes of mixed native producers, cancels, timeouts, closes and
# re-created channels, on CPython or MicroPython (the same file). Not in the default CI run:
#   ci/soak.sh [seconds]        (both targets at once; default 600 s)
#   python soak.py [seconds]    /   micropython soak.py [seconds]
# Each round makes a channel, starts 1-3 native producers (awaitq.testing.spawn_producer:
# frame k carries tag k and k in its first 4 bytes) and consumes with a mix of receives:
# recv, recv_tagged, recv_into, recv_many, async for, some under wait_for timeouts, some in
# tasks cancelled from outside, some channels closed early by the consumer. After each round
# every frame a producer pushed must have been received exactly once, in order per producer:
# "lost" counts the difference and must stay 0. RSS and open fds are printed at start and end.
import sys

import asyncio
import awaitq
from awaitq.testing import spawn_producer

MICRO = sys.implementation.name == "micropython"


def _env(name, default):
    import os

    v = os.getenv(name)
    return default if v is None else v


# AWAITQ_SOAK_WAIT_FOR=0 leaves asyncio.wait_for out (MicroPython's wait_for can drop the
# result of the awaitable it wraps when its timeout or a cancel races the result: issue 15,
# item 3, open on MicroPython), to soak everything else.
WAIT_FOR = _env("AWAITQ_SOAK_WAIT_FOR", "1") != "0"


def now():
    if MICRO:
        import time

        return time.ticks_ms() / 1000
    import time

    return time.monotonic()


def rss_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def fds():
    import os

    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


class Rng:
    # A small LCG: the same sequence on both Pythons (MicroPython's random is optional).
    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


class Totals:
    def __init__(self):
        self.sent = self.received = self.lost = self.dup = 0
        self.rounds = self.timeouts = self.cancels = self.early_closes = 0


def frame_no(data):
    return int.from_bytes(bytes(data[:4]), "little")


async def round_(rng, t, buf):
    producers = 1 + rng.below(3)
    per = 200 + rng.below(2000)
    size = 8 + rng.below(25)
    ch = awaitq.Channel(capacity=4 + rng.below(60), max_frame=32)
    rate = None if rng.below(3) else 2000 + rng.below(20000)
    ps = [spawn_producer(ch, per, size=size, rate_hz=rate) for _ in range(producers)]
    # Several producers interleave on one channel: frames are told apart by (tag == k) only
    # per producer, so count occurrences of each k: each must arrive exactly `producers`
    # times (the producers push the same numbering).
    seen = {}
    early = rng.below(8) == 0
    received = 0

    def take(data):
        nonlocal received
        k = frame_no(data)
        seen[k] = seen.get(k, 0) + 1
        received += 1

    async def one():
        mode = rng.below(7)
        if mode == 0:
            take(await ch.recv())
        elif mode == 1:
            tag, data = await ch.recv_tagged()
            take(data)
        elif mode == 2:
            n = await ch.recv_into(buf)
            take(buf[:n])
        elif mode == 3:
            for d in await ch.recv_many(1 + rng.below(16)):
                take(d)
        elif mode == 4 and not WAIT_FOR:
            take(await ch.recv())
        elif mode == 4:
            try:
                take(await asyncio.wait_for(ch.recv(), 0.001 * rng.below(3)))
            except asyncio.TimeoutError:
                t.timeouts += 1
        elif mode == 5:
            task = asyncio.create_task(ch.recv())
            await asyncio.sleep(0)
            task.cancel()
            try:
                take(await task)  # it may have completed before the cancel
            except asyncio.CancelledError:
                t.cancels += 1
        else:
            async for d in ch:
                take(d)
                if rng.below(4) == 0:
                    break

    async def closer():
        # Closes the channel once every producer is done (a waiting receive then drains and
        # ends), or early (the consumer gives up half way: producers stop, the rest drains).
        while any(p.running for p in ps):
            if early and received > per // 2:
                t.early_closes += 1
                break
            await asyncio.sleep(0.005)
        ch.close()

    watcher = asyncio.create_task(closer())
    while True:
        try:
            await one()
        except awaitq.ChannelClosed:
            break
    await watcher
    pushed = sum(p.join() for p in ps)
    t.sent += pushed
    t.received += received
    t.lost += pushed - received
    t.dup += sum(1 for c in seen.values() if c > producers)
    t.rounds += 1


async def main(seconds):
    t = Totals()
    rng = Rng(12345)
    buf = bytearray(32)
    start = now()
    rss0, fd0 = rss_kb(), fds()
    print("%s, wait_for %s" % (sys.implementation.name, "on" if WAIT_FOR else "off"))
    print("start: rss %d kB, fds %d" % (rss0, fd0))
    last = start
    while now() - start < seconds:
        await round_(rng, t, buf)
        if now() - last >= 60:
            last = now()
            print(
                "%4d s: rounds %d sent %d received %d lost %d rss %d kB fds %d"
                % (now() - start, t.rounds, t.sent, t.received, t.lost, rss_kb(), fds())
            )
    if MICRO:
        import gc

        gc.collect()
    else:
        import gc

        gc.collect()
    print(
        "end: %d s, rounds %d, frames sent %d received %d lost %d duplicated %d; "
        "timeouts %d cancels %d early closes %d"
        % (now() - start, t.rounds, t.sent, t.received, t.lost, t.dup, t.timeouts, t.cancels,
           t.early_closes)
    )
    print("end: rss %d kB (start %d), fds %d (start %d)" % (rss_kb(), rss0, fds(), fd0))
    print("SOAK", "PASS" if t.lost == 0 and t.dup == 0 else "FAIL")
    return t.lost == 0 and t.dup == 0


secs = float(sys.argv[1]) if len(sys.argv) > 1 else 600
ok = asyncio.run(main(secs))
sys.exit(0 if ok else 1)
