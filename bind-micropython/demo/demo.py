# awaitq on MicroPython: native producers feeding asyncio consumers.
#
# Three native producer threads (awaitq.testing.spawn_producer: pthreads pushing through the C
# ABI, as a driver or an ISR would in firmware) feed three asyncio consumers, each awaiting its
# own channel; a heartbeat task shows the event loop stays responsive meanwhile. At the end
# every stream is checked (all frames, in order) and the throughput printed.
#
#   micropython bind-micropython/demo/demo.py        (ci/demo-micropython.sh builds + runs it)
import asyncio
import time

import awaitq
from awaitq.testing import spawn_producer

STREAMS = (
    # name, frames, frame size, rate_hz (None = as fast as the consumer takes them)
    ("sensor", 4000, 8, 2000),
    ("canbus", 2000, 12, 1000),
    ("bulk", 400000, 32, None),
)


class Stream:
    def __init__(self, name, frames, size, rate_hz):
        self.name, self.frames, self.size = name, frames, size
        self.ch = awaitq.Channel(capacity=256, max_frame=size)
        self.producer = spawn_producer(self.ch, frames, size=size, rate_hz=rate_hz, close=True)
        self.received = 0
        self.in_order = True
        self.t0 = time.ticks_ms()
        self.ms = 0

    async def consume(self):
        buf = bytearray(self.size)
        while True:
            try:
                n = await self.ch.recv_into(buf)
            except awaitq.ChannelClosed:
                break
            # Frame k starts with k as u32 little-endian.
            if n != self.size or int.from_bytes(buf[:4], "little") != self.received:
                self.in_order = False
            self.received += 1
        self.ms = time.ticks_diff(time.ticks_ms(), self.t0)


async def heartbeat(streams, stop):
    beats = 0
    worst = 0
    last = time.ticks_ms()
    while not stop[0]:
        await asyncio.sleep_ms(250)
        now = time.ticks_ms()
        worst = max(worst, time.ticks_diff(now, last) - 250)
        last = now
        beats += 1
        print(
            "  heartbeat %2d:" % beats,
            "  ".join("%s %d/%d" % (s.name, s.received, s.frames) for s in streams),
        )
    return beats, worst


async def main():
    print("awaitq demo: 3 native producers -> 3 asyncio consumers + heartbeat")
    streams = [Stream(*spec) for spec in STREAMS]
    stop = [False]
    hb = asyncio.create_task(heartbeat(streams, stop))
    await asyncio.gather(*(s.consume() for s in streams))
    stop[0] = True
    beats, worst = await hb
    ok = True
    total = 0
    for s in streams:
        pushed = s.producer.join()
        good = s.in_order and s.received == s.frames == pushed
        ok = ok and good
        total += s.received
        print(
            "%-7s %7d frames in %5d ms = %8d frames/s  %s"
            % (s.name, s.received, s.ms, s.received * 1000 // max(s.ms, 1), "ok" if good else "FAILED")
        )
    print("total   %7d frames; heartbeat %d beats, worst lateness %d ms" % (total, beats, worst))
    print("demo", "ok" if ok else "FAILED")
    return ok


if not asyncio.run(main()):
    raise SystemExit(1)
