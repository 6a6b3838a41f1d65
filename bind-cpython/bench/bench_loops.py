"""awaitq under trio and anyio, and the descriptor-free wake path, against the strongest
alternative of each, measured in the same run.

  trio streaming   frames/s from a producer thread: awaitq (`async for`, `recv_many(256)`)
                   against the standard trio pattern, a thread feeding
                   `trio.open_memory_channel` through `trio.from_thread.run_sync`
  trio wake        ping-pong round trip through a waiting thread (p50/p99), same two
  trio idle CPU    process CPU seconds while a receive waits 1 s on an empty channel
  anyio            awaitq streaming and wake under `anyio.run(backend="asyncio")` against the
                   same code under plain `asyncio.run` (target: within 10%)
  fallback         asyncio streaming and wake with AWAITQ_WAKE=thread (a native waker thread
                   calling call_soon_threadsafe: the path of loops without add_reader) next
                   to the eventfd + add_reader path

Usage: python bench_loops.py [--rounds N] [--quick]
"""

import argparse
import asyncio
import math
import os
import queue
import sys
import threading
import time

import anyio
import trio

import awaitq
from awaitq.testing import Pinger, spawn_producer

TARGETS = {"trio_stream": 20.0, "trio_wake_p50": 0.6, "idle_cpu_s": 0.005, "anyio": 1.10}


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def verdict(ok):
    return "met" if ok else "MISSED"


# --- library-neutral awaitq pieces (run under asyncio, trio or anyio alike) ---------------------

async def stream_async_for(n):
    ch = awaitq.Channel(capacity=4096, max_frame=16)
    t0 = time.perf_counter()
    p = spawn_producer(ch, n, size=16, close=True)
    got = 0
    async for _ in ch:
        got += 1
    dt = time.perf_counter() - t0
    assert got == p.join() == n
    return n / dt


async def stream_recv_many(n):
    ch = awaitq.Channel(capacity=4096, max_frame=16)
    t0 = time.perf_counter()
    p = spawn_producer(ch, n, size=16, close=True)
    got = 0
    try:
        while True:
            got += len(await ch.recv_many(256))
    except awaitq.ChannelClosed:
        pass
    dt = time.perf_counter() - t0
    assert got == p.join() == n
    return n / dt


async def wake(rounds):
    ch = awaitq.Channel(capacity=16, max_frame=8)
    pinger = Pinger(ch)
    samples = []
    clock = time.perf_counter_ns
    try:
        for i in range(rounds):
            t0 = clock()
            pinger.ping(i)
            await ch.recv()
            samples.append(clock() - t0)
    finally:
        pinger.close()
    return samples


# --- the standard trio pattern ---------------------------------------------------------------

async def trio_stream_standard(n):
    send, recv = trio.open_memory_channel(math.inf)
    token = trio.lowlevel.current_trio_token()
    payload = bytes(16)

    def producer():
        run = trio.from_thread.run_sync
        for _ in range(n):
            run(send.send_nowait, payload, trio_token=token)
        run(send.close, trio_token=token)

    t0 = time.perf_counter()
    th = threading.Thread(target=producer)
    th.start()
    got = 0
    async for _ in recv:
        got += 1
    dt = time.perf_counter() - t0
    th.join()
    assert got == n
    return n / dt


async def trio_wake_standard(rounds):
    send, recv = trio.open_memory_channel(math.inf)
    token = trio.lowlevel.current_trio_token()
    requests = queue.SimpleQueue()

    def responder():
        while (i := requests.get()) is not None:
            trio.from_thread.run_sync(send.send_nowait, i, trio_token=token)

    th = threading.Thread(target=responder)
    th.start()
    samples = []
    clock = time.perf_counter_ns
    try:
        for i in range(rounds):
            t0 = clock()
            requests.put(i)
            await recv.receive()
            samples.append(clock() - t0)
    finally:
        requests.put(None)
        th.join()
    return samples


async def trio_idle_cpu():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    c0 = time.process_time()
    with trio.move_on_after(1.0):
        await ch.recv()
    return time.process_time() - c0


def trio_section(args, n_stream, n_std, n_wake):
    af, rm, std, aw, sw = [], [], [], [], []
    for _ in range(args.rounds):
        af.append(trio.run(stream_async_for, n_stream))
        rm.append(trio.run(stream_recv_many, n_stream))
        std.append(trio.run(trio_stream_standard, n_std))
        aw += trio.run(wake, n_wake)
        sw += trio.run(trio_wake_standard, n_wake)
    af, rm, std = max(af), max(rm), max(std)
    t = TARGETS["trio_stream"]
    print("\ntrio streaming, 16-byte frames from a producer thread (frames/s, best of rounds)")
    print("  standard (from_thread.run_sync + memory channel) %11.0f" % std)
    print("  awaitq async for                                 %11.0f  %6.1fx  target >= %.0fx  %s"
          % (af, af / std, t, verdict(af / std >= t)))
    print("  awaitq recv_many(256)                            %11.0f  %6.1fx" % (rm, rm / std))
    a50, s50 = pct(aw, 50), pct(sw, 50)
    t = TARGETS["trio_wake_p50"]
    print("\ntrio wake latency, ping-pong round trip through a waiting thread (us)")
    print("  standard (from_thread.run_sync)  p50 %7.1f  p99 %7.1f" % (s50 / 1e3, pct(sw, 99) / 1e3))
    print("  awaitq (pump task, eventfd)      p50 %7.1f  p99 %7.1f  p50 ratio %.2f  target <= %.1f  %s"
          % (a50 / 1e3, pct(aw, 99) / 1e3, a50 / s50, t, verdict(a50 / s50 <= t)))
    cpu = trio.run(trio_idle_cpu)
    print("\ntrio CPU while idle: %.4f s over a 1 s wait  target <= %.3f s  %s"
          % (cpu, TARGETS["idle_cpu_s"], verdict(cpu <= TARGETS["idle_cpu_s"])))


def anyio_section(args, n_stream, n_wake):
    plain_s, any_s, plain_w, any_w = [], [], [], []
    for _ in range(args.rounds):
        plain_s.append(asyncio.run(stream_async_for(n_stream)))
        any_s.append(anyio.run(stream_async_for, n_stream, backend="asyncio"))
        plain_w += asyncio.run(wake(n_wake))
        any_w += anyio.run(wake, n_wake, backend="asyncio")
    ps, as_ = max(plain_s), max(any_s)
    pw, aw = pct(plain_w, 50), pct(any_w, 50)
    t = TARGETS["anyio"]
    print("\nanyio (asyncio backend) against plain asyncio, the same awaitq code")
    print("  streaming frames/s  asyncio %11.0f  anyio %11.0f  slowdown %.2fx  target <= %.2f  %s"
          % (ps, as_, ps / as_, t, verdict(ps / as_ <= t)))
    print("  wake p50 (us)       asyncio %11.1f  anyio %11.1f  ratio %.2f  target <= %.2f  %s"
          % (pw / 1e3, aw / 1e3, aw / pw, t, verdict(aw / pw <= t)))


def fallback_section(args, n_stream, n_wake):
    res = {}
    for mode in ("", "thread"):
        os.environ["AWAITQ_WAKE"] = mode  # read when a new loop registers
        s, w = [], []
        for _ in range(args.rounds):
            s.append(asyncio.run(stream_async_for(n_stream)))
            w += asyncio.run(wake(n_wake))
        res[mode] = (max(s), pct(w, 50), pct(w, 99))
    os.environ.pop("AWAITQ_WAKE")
    (fs, f50, f99), (ts, t50, t99) = res[""], res["thread"]
    print("\nasyncio wake paths: eventfd + add_reader against the waker thread (AWAITQ_WAKE=thread)")
    print("  eventfd  streaming %11.0f frames/s  wake p50 %6.1f us  p99 %6.1f us" % (fs, f50 / 1e3, f99 / 1e3))
    print("  thread   streaming %11.0f frames/s  wake p50 %6.1f us  p99 %6.1f us  (%.2fx, %.2fx)"
          % (ts, t50 / 1e3, t99 / 1e3, ts / fs, t50 / f50))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    args = ap.parse_args()
    n_stream = 300_000 if args.quick else 1_000_000
    n_std = 20_000 if args.quick else 50_000
    n_wake = 300 if args.quick else 2000
    from importlib.metadata import version

    print("awaitq loops bench: Python %s, trio %s, anyio %s, %d rounds"
          % (sys.version.split()[0], trio.__version__, version("anyio"), args.rounds))
    trio_section(args, n_stream, n_std, n_wake)
    anyio_section(args, n_stream, n_wake)
    fallback_section(args, n_stream, n_wake)


if __name__ == "__main__":
    main()
