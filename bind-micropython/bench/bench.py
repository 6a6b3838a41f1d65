# awaitq on MicroPython (unix port): throughput, idle wake-ups and allocation, each next to the
# idiomatic MicroPython alternative measured in the same run.
#
#   micropython bind-micropython/bench/bench.py            (ci/bench-micropython.sh builds + runs it)
#
# 1. Streaming: a native producer (awaitq.testing.spawn_producer, a pthread pushing through the
#    C ABI) into an asyncio consumer (`await ch.recv_into(buf)`), versus the ThreadSafeFlag
#    pattern: a _thread producer appending to a list under a lock and setting an
#    asyncio.ThreadSafeFlag, the consumer awaiting the flag and draining the list. Both hold at
#    most CAPACITY frames and both producers back off 20 us when full (as firmware must bound
#    its buffer); an unbounded list would only measure how fast Python builds frames.
#    Each figure is the median of RUNS runs (the two threads' interleaving varies from run to
#    run; the median is what a reader can reproduce).
# 2. Idle: poll()/ppoll()/epoll/select system calls per second while a consumer waits and
#    nothing arrives (strace -c -f on this script in "idle" mode), awaitq versus ThreadSafeFlag.
# 3. Allocation: GC heap bytes allocated per ready receive (gc.mem_alloc with the GC disabled),
#    recv_into versus recv.
#
# 4. Batch receive: frames/s of `n = await ch.recv_many_into(buf)` (one await per batch, records
#    packed into one buffer, nothing allocated) against per-frame `await ch.recv_into(buf)`
#    and `await ch.recv_many(64)`, in the same run: (a) draining a full channel (the receive
#    cost alone: frames queued by send_nowait outside the timed part), (b) streaming from the
#    native producer thread; with and without walking the records with awaitq.frames().
#
# Targets (bind-micropython/README.md): >= 10x the ThreadSafeFlag pattern, <= 5 poll calls/s
# idle, 0 allocations per ready recv_into, batch receive >= 3x recv_into. Timings are printed,
# never asserted.
import asyncio
import gc
import os
import sys
import time

import awaitq
from awaitq.testing import spawn_producer

FRAMES = 1_000_000  # awaitq stream (long enough to average out scheduling noise)
FLAG_FRAMES = 300_000  # ThreadSafeFlag stream (Python builds every frame: slower per frame)
SIZE = 16
CAPACITY = 256  # both patterns hold at most this many frames
RUNS = 5
IDLE_S = 3


def median(xs):
    return sorted(xs)[len(xs) // 2]


def rate(n, ms):
    return n * 1000 // max(ms, 1)


async def awaitq_stream():
    ch = awaitq.Channel(capacity=CAPACITY, max_frame=SIZE)
    buf = bytearray(SIZE)
    t0 = time.ticks_ms()
    p = spawn_producer(ch, FRAMES, size=SIZE, close=True)
    n = 0
    while True:
        try:
            await ch.recv_into(buf)
        except awaitq.ChannelClosed:
            break
        n += 1
    ms = time.ticks_diff(time.ticks_ms(), t0)
    p.join()
    assert n == FRAMES
    return rate(n, ms)


async def flag_stream():
    import _thread

    flag = asyncio.ThreadSafeFlag()
    lock = _thread.allocate_lock()
    box = [[]]
    done = [False]

    def producer():
        for k in range(FLAG_FRAMES):
            frame = k.to_bytes(4, "little") + bytes([k & 0xFF]) * (SIZE - 4)
            # Same bound and the same full policy as the native producer into the channel:
            # at CAPACITY queued frames, back off 20 us and retry (nothing is dropped).
            while len(box[0]) >= CAPACITY:
                time.sleep_us(20)
            with lock:
                box[0].append(frame)
            flag.set()
        done[0] = True
        flag.set()

    buf = bytearray(SIZE)
    t0 = time.ticks_ms()
    _thread.start_new_thread(producer, ())
    n = 0
    while True:
        await flag.wait()
        with lock:
            batch = box[0]
            box[0] = []
        for frame in batch:  # per-frame work comparable to a receive
            buf[:] = frame
        n += len(batch)
        if done[0] and n == FLAG_FRAMES:
            break
    ms = time.ticks_diff(time.ticks_ms(), t0)
    return rate(n, ms)


async def idle(kind):
    # A consumer with nothing to receive for IDLE_S seconds (a timeout ends it).
    if kind == "awaitq":
        aw = awaitq.Channel().recv()
    else:
        aw = asyncio.ThreadSafeFlag().wait()
    try:
        await asyncio.wait_for(aw, IDLE_S)
    except asyncio.TimeoutError:
        pass


def poll_calls_per_s(kind):
    out = "/tmp/awaitq-bench-strace-%s.txt" % kind
    cmd = "strace -f -c -o %s %s %s idle %s >/dev/null 2>&1" % (out, sys.executable, __file__, kind)
    if os.system(cmd) != 0:
        return None
    calls = 0
    with open(out) as f:
        for line in f:
            parts = line.split()
            if parts and parts[-1] in ("poll", "ppoll", "epoll_wait", "epoll_pwait", "select", "pselect6"):
                calls += int(parts[3])  # % time, seconds, usecs/call, calls, [errors,] syscall
    return calls / IDLE_S


def alloc_per_receive(method):
    ch = awaitq.Channel(capacity=256, max_frame=SIZE)
    buf = bytearray(SIZE)
    payload = bytes(SIZE)

    async def run():
        for _ in range(256):
            ch.send_nowait(payload)
        if method == "recv_into":
            await ch.recv_into(buf)  # the channel's recyclable awaitable is created once
        else:
            await ch.recv()
        gc.collect()
        gc.disable()
        before = gc.mem_alloc()
        if method == "recv_into":
            for _ in range(255):
                await ch.recv_into(buf)
        else:
            for _ in range(255):
                await ch.recv()
        after = gc.mem_alloc()
        gc.enable()
        return (after - before) / 255

    return asyncio.run(run())


BATCH_ROUNDS = 400  # drains of a full channel per figure
BATCH_STREAM = 1_000_000


async def drain(method):
    # frames/s receiving CAPACITY queued frames, BATCH_ROUNDS times; only receiving is timed.
    ch = awaitq.Channel(capacity=CAPACITY, max_frame=SIZE)
    payload = bytes(SIZE)
    buf = bytearray(SIZE)
    records = bytearray(CAPACITY * (8 + SIZE))
    frames = awaitq.frames
    us = 0
    for _ in range(BATCH_ROUNDS):
        for _ in range(CAPACITY):
            ch.send_nowait(payload, 7)
        t0 = time.ticks_us()
        got = 0
        if method == "recv_into":
            recv_into = ch.recv_into
            while got < CAPACITY:
                await recv_into(buf)
                got += 1
        elif method == "recv_many":
            recv_many = ch.recv_many
            while got < CAPACITY:
                got += len(await recv_many(64))
        elif method == "recv_many_into":
            recv_many_into = ch.recv_many_into
            while got < CAPACITY:
                got += await recv_many_into(records)
        else:  # recv_many_into + frames(): every payload visited as a memoryview
            recv_many_into = ch.recv_many_into
            while got < CAPACITY:
                n = await recv_many_into(records)
                for tag, p in frames(records, n):
                    pass
                got += n
        us += time.ticks_diff(time.ticks_us(), t0)
    return CAPACITY * BATCH_ROUNDS * 1_000_000 // max(us, 1)


async def batch_stream(method):
    # frames/s from the native producer thread, as in awaitq_stream.
    ch = awaitq.Channel(capacity=CAPACITY, max_frame=SIZE)
    records = bytearray(CAPACITY * (8 + SIZE))
    frames = awaitq.frames
    t0 = time.ticks_ms()
    p = spawn_producer(ch, BATCH_STREAM, size=SIZE, close=True)
    got = 0
    recv_many_into = ch.recv_many_into
    while True:
        try:
            n = await recv_many_into(records)
        except awaitq.ChannelClosed:
            break
        if method == "walk":
            for tag, payload in frames(records, n):
                pass
        got += n
    ms = time.ticks_diff(time.ticks_ms(), t0)
    p.join()
    assert got == BATCH_STREAM
    return rate(got, ms)


def batch_section(stream_recv_into):
    print("batch receive, %d-byte frames (median of %d runs):" % (SIZE, RUNS))
    fig = {}
    for m in ("recv_into", "recv_many", "recv_many_into", "walk"):
        fig[m] = median([asyncio.run(drain(m)) for _ in range(RUNS)])
    print("  draining a full channel (%d frames, receive only):" % CAPACITY)
    print("    await recv_into(buf) per frame:          %9d frames/s" % fig["recv_into"])
    print("    await recv_many(64):                     %9d frames/s  %.1fx" % (fig["recv_many"], fig["recv_many"] / fig["recv_into"]))
    print("    await recv_many_into(buf):               %9d frames/s  %.1fx (target >= 3x)" % (fig["recv_many_into"], fig["recv_many_into"] / fig["recv_into"]))
    print("    ... + for tag, p in frames(buf, n):      %9d frames/s  %.1fx" % (fig["walk"], fig["walk"] / fig["recv_into"]))
    s = median([asyncio.run(batch_stream("count")) for _ in range(RUNS)])
    w = median([asyncio.run(batch_stream("walk")) for _ in range(RUNS)])
    print("  streaming from the native producer thread (await recv_into: %d frames/s above):" % stream_recv_into)
    print("    await recv_many_into(buf):               %9d frames/s  %.1fx" % (s, s / stream_recv_into))
    print("    ... + for tag, p in frames(buf, n):      %9d frames/s  %.1fx" % (w, w / stream_recv_into))


def alloc_per_batch():
    # GC bytes per ready recv_many_into of a full channel (target 0).
    ch = awaitq.Channel(capacity=CAPACITY, max_frame=SIZE)
    records = bytearray(CAPACITY * (8 + SIZE))
    payload = bytes(SIZE)

    async def run():
        ch.send_nowait(payload)
        await ch.recv_many_into(records)  # the recyclable awaitable is created once
        total = 0
        for _ in range(16):
            for _ in range(CAPACITY):
                ch.send_nowait(payload)
            gc.collect()
            gc.disable()
            before = gc.mem_alloc()
            n = await ch.recv_many_into(records)
            total += gc.mem_alloc() - before
            gc.enable()
            assert n == CAPACITY
        return total / 16

    return asyncio.run(run())


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "batch":
        batch_section(int(sys.argv[2]))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "idle":
        asyncio.run(idle(sys.argv[2]))
        return
    print("awaitq MicroPython benchmark:", sys.implementation.name, sys.version)
    a = median([asyncio.run(awaitq_stream()) for _ in range(RUNS)])
    f = median([asyncio.run(flag_stream()) for _ in range(RUNS)])
    print("streaming %d-byte frames into one asyncio consumer (median of %d runs):" % (SIZE, RUNS))
    print("  awaitq (native pthread producer, await recv_into): %8d frames/s (%d frames)" % (a, FRAMES))
    print("  ThreadSafeFlag + list (_thread producer):          %8d frames/s (%d frames)" % (f, FLAG_FRAMES))
    print("  ratio: %.1fx (target >= 10x)" % (a / f))
    pa, pf = poll_calls_per_s("awaitq"), poll_calls_per_s("flag")
    if pa is None or pf is None:
        print("idle: strace not available")
    else:
        print("idle consumer, %d s, poll-family system calls per second:" % IDLE_S)
        print("  awaitq (eventfd):  %7.1f /s (target <= 5)" % pa)
        print("  ThreadSafeFlag:    %7.1f /s" % pf)
    print("GC heap bytes allocated per ready receive:")
    print("  await recv_into(buf): %5.1f (target 0)" % alloc_per_receive("recv_into"))
    print("  await recv():         %5.1f (the bytes object)" % alloc_per_receive("recv"))
    print("  await recv_many_into(buf), %d frames: %5.1f per batch (target 0)" % (CAPACITY, alloc_per_batch()))
    batch_section(a)


main()
