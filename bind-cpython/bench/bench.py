"""awaitq (CPython) against the standard pattern, in one run.

The standard pattern: a producer thread hands each item to the event loop with
`loop.call_soon_threadsafe(queue.put_nowait, item)` and the consumer awaits an
`asyncio.Queue`. awaitq: a native thread pushes into an `awaitq.Channel` (no GIL) and the
consumer awaits the channel.

Measured (each the best of --rounds runs, interleaved):
  streaming   frames/s from a producer thread, `async for` and `recv_many(256)`, and
              `recv_many_into(buf)` (records into one buffer, counted, and walked with
              `awaitq.frames`); plus the receive cost alone: draining a full channel with
              per-frame `recv_into` against `recv_many(256)` and `recv_many_into`
  wake        ping-pong round trip: ask the producer thread for one item, await it (p50/p99);
              also one way: the producer's push time to the parked consumer's resume
  ready await ns per `await ch.recv()` on a queued frame, next to `await trivial()` of an
              `async def` that returns at once (loop overhead subtracted from both; the
              minimum over many interleaved chunks, so a busy machine skews it less), and
              the floor: a C awaitable (floor_cext/floor.c, compiled here) that only returns
              a new 8-byte bytes from am_send, what no implementation can go below
  idle CPU    process CPU seconds while a receive waits 1 s on an empty channel

Usage: python bench.py [--loop asyncio|uvloop] [--quick] [--json FILE]
"""

import argparse
import asyncio
import json
import queue
import statistics
import sys
import threading
import time

import awaitq
from awaitq.testing import Pinger, spawn_producer
from cext import build

TARGETS = {
    "stream_async_for": 40.0,  # awaitq / standard, at least
    "stream_recv_many": 100.0,  # at least
    "wake_p50": 0.6,  # awaitq / standard, at most
    "ready_await": 0.5,  # awaitq / trivial coroutine, at most
    "ready_vs_floor": 1.3,  # awaitq / the C floor on the same interpreter, at most
    "idle_cpu_s": 0.005,  # seconds of CPU over a 1 s idle wait, at most
}


# --- streaming ------------------------------------------------------------------------------

async def stream_awaitq_async_for(n):
    ch = awaitq.Channel(capacity=4096, max_frame=16)
    t0 = time.perf_counter()
    p = spawn_producer(ch, n, size=16, close=True)
    got = 0
    async for _ in ch:
        got += 1
    dt = time.perf_counter() - t0
    assert got == p.join() == n
    return n / dt


async def stream_awaitq_recv_many(n):
    ch = awaitq.Channel(capacity=4096, max_frame=16)
    t0 = time.perf_counter()
    p = spawn_producer(ch, n, size=16, close=True)
    got = 0
    recv_many = ch.recv_many
    try:
        while True:
            got += len(await recv_many(256))
    except awaitq.ChannelClosed:
        pass
    dt = time.perf_counter() - t0
    assert got == p.join() == n
    return n / dt


async def stream_standard(n):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    payload = bytes(16)

    def producer():
        put = q.put_nowait
        call = loop.call_soon_threadsafe
        for _ in range(n):
            call(put, payload)
        call(put, None)

    t0 = time.perf_counter()
    th = threading.Thread(target=producer)
    th.start()
    got = 0
    while await q.get() is not None:
        got += 1
    dt = time.perf_counter() - t0
    th.join()
    assert got == n
    return n / dt


# --- wake latency ---------------------------------------------------------------------------

async def wake_awaitq(rounds):
    ch = awaitq.Channel(capacity=16, max_frame=8)
    pinger = Pinger(ch)
    samples = []
    recv = ch.recv
    clock = time.perf_counter_ns
    try:
        for i in range(rounds):
            t0 = clock()
            pinger.ping(i)
            await recv()
            samples.append(clock() - t0)
    finally:
        pinger.close()
    return samples


async def wake_standard(rounds):
    loop = asyncio.get_running_loop()
    aq = asyncio.Queue()
    requests = queue.SimpleQueue()

    def responder():
        call, put = loop.call_soon_threadsafe, aq.put_nowait
        while (i := requests.get()) is not None:
            call(put, i)

    th = threading.Thread(target=responder)
    th.start()
    samples = []
    clock = time.perf_counter_ns
    try:
        for i in range(rounds):
            t0 = clock()
            requests.put(i)
            await aq.get()
            samples.append(clock() - t0)
    finally:
        requests.put(None)
        th.join()
    return samples


async def oneway_awaitq(count, rate_hz):
    """Push time (stamped by the native producer) to the consumer's resume, paced so the
    consumer is parked each time."""
    ch = awaitq.Channel(capacity=64, max_frame=16)
    p = spawn_producer(ch, count, size=12, rate_hz=rate_hz, close=True, stamp=True)
    clock = time.monotonic_ns
    samples = []
    async for payload in ch:
        samples.append(clock() - int.from_bytes(payload[4:12], "little"))
    p.join()
    return samples


async def oneway_standard(count, rate_hz):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    def producer():
        call, put, clock = loop.call_soon_threadsafe, q.put_nowait, time.monotonic_ns
        t0 = time.monotonic()
        for k in range(count):
            delay = t0 + k / rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            call(put, clock())
        call(put, None)

    th = threading.Thread(target=producer)
    th.start()
    clock = time.monotonic_ns
    samples = []
    while (stamp := await q.get()) is not None:
        samples.append(clock() - stamp)
    th.join()
    return samples


# --- ready await ----------------------------------------------------------------------------

async def trivial():
    return b"x"


async def ready_await(n, chunks):
    """Min over `chunks` interleaved chunks of each loop (robust to a busy machine)."""
    k = n // chunks
    ch = awaitq.Channel(capacity=k * chunks, max_frame=8)
    spawn_producer(ch, k * chunks, size=8).join()
    recv = ch.recv
    floor = build("floor", "floor_cext/floor.c").Floor().recv
    clock = time.perf_counter_ns
    best = [float("inf")] * 4
    for _ in range(chunks):
        t0 = clock()
        for _ in range(k):
            await recv()
        t1 = clock()
        for _ in range(k):
            await trivial()
        t2 = clock()
        for _ in range(k):
            await floor()
        t3 = clock()
        for _ in range(k):
            pass
        t4 = clock()
        for i, dt in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            best[i] = min(best[i], dt / k)
    recv_ns, trivial_ns, floor_ns, loop_ns = best
    return recv_ns - loop_ns, trivial_ns - loop_ns, floor_ns - loop_ns, loop_ns


# --- idle CPU -------------------------------------------------------------------------------

async def idle_cpu_awaitq():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    c0 = time.process_time()
    try:
        await asyncio.wait_for(ch.recv(), 1.0)
    except asyncio.TimeoutError:
        pass
    return time.process_time() - c0


async def idle_cpu_standard():
    q = asyncio.Queue()
    c0 = time.process_time()
    try:
        await asyncio.wait_for(q.get(), 1.0)
    except asyncio.TimeoutError:
        pass
    return time.process_time() - c0


# --- report ---------------------------------------------------------------------------------

def verdict(ok):
    return "met" if ok else "MISSED"


async def stream_awaitq_recv_many_into(n, walk):
    ch = awaitq.Channel(capacity=4096, max_frame=16)
    records = bytearray(256 * 24)
    frames = awaitq.frames
    t0 = time.perf_counter()
    p = spawn_producer(ch, n, size=16, close=True)
    got = 0
    recv_many_into = ch.recv_many_into
    try:
        while True:
            k = await recv_many_into(records, 256)
            if walk:
                for _tag, _payload in frames(records, k):
                    pass
            got += k
    except awaitq.ChannelClosed:
        pass
    dt = time.perf_counter() - t0
    assert got == p.join() == n
    return n / dt


async def drain(method, rounds):
    """frames/s receiving 256 queued frames, `rounds` times; only the receiving is timed."""
    ch = awaitq.Channel(capacity=256, max_frame=16)
    payload = bytes(16)
    buf = bytearray(16)
    records = bytearray(256 * 24)
    total = 0.0
    for _ in range(rounds):
        for _ in range(256):
            ch.send_nowait(payload, 7)
        got = 0
        t0 = time.perf_counter()
        if method == "recv_into":
            recv_into = ch.recv_into
            while got < 256:
                await recv_into(buf)
                got += 1
        elif method == "recv_many":
            got += len(await ch.recv_many(256))
        else:
            got += await ch.recv_many_into(records)
        total += time.perf_counter() - t0
        assert got == 256
    return 256 * rounds / total


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


async def main(args):
    quick = args.quick
    rounds = args.rounds
    n_stream = 500_000 if quick else 2_000_000
    n_std = 50_000 if quick else 200_000
    n_wake = 500 if quick else 2000
    n_ready = 200_000 if quick else 1_000_000

    print("awaitq bench: Python %s, loop %s, best of %d rounds"
          % (sys.version.split()[0], args.loop, rounds))
    results = {}

    af, rm, std = [], [], []
    for _ in range(rounds):
        af.append(await stream_awaitq_async_for(n_stream))
        rm.append(await stream_awaitq_recv_many(n_stream))
        std.append(await stream_standard(n_std))
    af, rm, std = max(af), max(rm), max(std)
    print("\nstreaming, 16-byte frames from a producer thread (frames/s)")
    print("  standard (call_soon_threadsafe + asyncio.Queue) %12.0f" % std)
    r1, r2 = af / std, rm / std
    print("  awaitq async for                                %12.0f  %6.1fx  target >= %.0fx  %s"
          % (af, r1, TARGETS["stream_async_for"], verdict(r1 >= TARGETS["stream_async_for"])))
    print("  awaitq recv_many(256)                           %12.0f  %6.1fx  target >= %.0fx  %s"
          % (rm, r2, TARGETS["stream_recv_many"], verdict(r2 >= TARGETS["stream_recv_many"])))
    results.update(stream_async_for=r1, stream_recv_many=r2, stream_std_fps=std,
                   stream_async_for_fps=af, stream_recv_many_fps=rm)

    ri, rw = [], []
    for _ in range(rounds):
        ri.append(await stream_awaitq_recv_many_into(n_stream, False))
        rw.append(await stream_awaitq_recv_many_into(n_stream, True))
    ri, rw = max(ri), max(rw)
    print("  awaitq recv_many_into(buf, 256)                 %12.0f  %6.1fx  (%.1fx recv_many)"
          % (ri, ri / std, ri / rm))
    print("  ... + for tag, p in frames(buf, n)              %12.0f  %6.1fx  (%.1fx recv_many)"
          % (rw, rw / std, rw / rm))
    d_rounds = 500 if quick else 2000
    d = {m: max([await drain(m, d_rounds) for _ in range(rounds)])
         for m in ("recv_into", "recv_many", "recv_many_into")}
    print("\nreceive cost: draining a full channel, 256 16-byte frames (frames/s)")
    print("  await recv_into(buf) per frame                  %12.0f" % d["recv_into"])
    print("  await recv_many(256)                            %12.0f  %6.1fx" % (d["recv_many"], d["recv_many"] / d["recv_into"]))
    print("  await recv_many_into(buf)                       %12.0f  %6.1fx" % (d["recv_many_into"], d["recv_many_into"] / d["recv_into"]))
    results["drain_recv_many_into"] = d["recv_many_into"] / d["recv_into"]

    aq, sq = [], []
    for _ in range(rounds):
        aq += await wake_awaitq(n_wake)
        sq += await wake_standard(n_wake)
    a50, a99, s50, s99 = pct(aq, 50), pct(aq, 99), pct(sq, 50), pct(sq, 99)
    r = a50 / s50
    print("\nwake latency, ping-pong round trip through a waiting thread (us)")
    print("  standard (thread + call_soon_threadsafe)  p50 %7.1f  p99 %7.1f" % (s50 / 1e3, s99 / 1e3))
    print("  awaitq (native thread, eventfd)           p50 %7.1f  p99 %7.1f  p50 ratio %.2f"
          "  target <= %.1f  %s" % (a50 / 1e3, a99 / 1e3, r, TARGETS["wake_p50"],
                                    verdict(r <= TARGETS["wake_p50"])))
    results["wake_p50"] = r

    n_oneway = 300 if quick else 1000
    ao = await oneway_awaitq(n_oneway, 1000)
    so = await oneway_standard(n_oneway, 1000)
    print("\nwake latency, one way: producer thread's push to the parked consumer's resume,"
          " 1 kHz (us; no target)")
    print("  standard (thread + call_soon_threadsafe)  p50 %7.1f  p99 %7.1f"
          % (pct(so, 50) / 1e3, pct(so, 99) / 1e3))
    print("  awaitq (native thread, eventfd)           p50 %7.1f  p99 %7.1f  p50 ratio %.2f"
          % (pct(ao, 50) / 1e3, pct(ao, 99) / 1e3, pct(ao, 50) / pct(so, 50)))

    recv_ns, trivial_ns, floor_ns, loop_ns = await ready_await(n_ready, 20 * rounds)
    r = recv_ns / trivial_ns
    print("\nready await, ns each (a for-loop iteration, %.1f ns, subtracted)" % loop_ns)
    print("  await trivial()  (async def returning at once) %7.1f" % trivial_ns)
    print("  await ch.recv()  (a frame already queued)      %7.1f  ratio %.2f  target <= %.1f  %s"
          % (recv_ns, r, TARGETS["ready_await"], verdict(r <= TARGETS["ready_await"])))
    print("  floor: C awaitable returning new bytes         %7.1f  ratio %.2f  (no implementation"
          " goes below)" % (floor_ns, floor_ns / trivial_ns))
    rf = recv_ns / floor_ns
    print("  await ch.recv() / floor                                 %.2f  target <= %.1f  %s"
          % (rf, TARGETS["ready_vs_floor"], verdict(rf <= TARGETS["ready_vs_floor"])))
    results.update(ready_await=r, ready_vs_floor=rf, recv_ns=recv_ns, floor_ns=floor_ns,
                   trivial_ns=trivial_ns)

    a_cpu = await idle_cpu_awaitq()
    s_cpu = await idle_cpu_standard()
    print("\nCPU while idle, process CPU seconds over a 1 s wait on an empty queue")
    print("  standard asyncio.Queue %.4f s" % s_cpu)
    print("  awaitq Channel         %.4f s  target <= %.3f s  %s"
          % (a_cpu, TARGETS["idle_cpu_s"], verdict(a_cpu <= TARGETS["idle_cpu_s"])))
    results["idle_cpu_s"] = a_cpu
    return results


def run(args):
    if args.loop == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        results = loop.run_until_complete(main(args))
    finally:
        loop.close()
    if args.json:
        results.update(python=sys.version.split()[0], loop=args.loop)
        with open(args.json, "w") as f:
            json.dump(results, f)
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    ap.add_argument("--json", help="also write the figures to this file (bench/table.py)")
    run(ap.parse_args())
