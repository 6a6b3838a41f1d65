"""awaitq.io.Reader against the standard asyncio patterns, on the same kernel objects, in one
run.

  pty, line framing  a writer process floods a pseudo-terminal (raw mode) with 16-byte lines;
                     standard: `loop.add_reader(master)` + `os.read` + Python line splitting
                     (what pyserial-asyncio does), frames counted in the callback (the
                     strongest form); awaitq: `Reader(master, ch, "line")` and the consumer's
                     `recv_many(256)`. Second row: each line handed to a consumer task through
                     an `asyncio.Queue`, against awaitq's `async for`.
  udp, datagrams     a writer process floods 127.0.0.1 with 16-byte datagrams; standard:
                     `loop.create_datagram_endpoint` + `DatagramProtocol.datagram_received`;
                     awaitq: `Reader(sock, ch, "datagram")` + `recv_many(256)`.
  latency            the writer process sends one stamped frame (its `time.monotonic_ns()`)
                     every 2 ms; p50/p99 of receive time minus stamp, on both objects.

The writers are separate processes, so they never compete with the consumer for the GIL.
Frames/s counts the frames the consumer got (UDP may drop under a flood, on both sides alike).

Usage: python io_bench.py [--loop asyncio|uvloop] [--quick]
"""

import argparse
import asyncio
import os
import pty
import socket
import statistics
import subprocess
import sys
import time
import tty

import awaitq
from awaitq.io import Reader

TARGETS = {"throughput": 5.0, "latency_p50": 0.7}
FRAME = 16

WRITER = r"""
import os, socket, sys, time
mode, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "pty":
    fd = int(target)
    line = b"x" * 15 + b"\n"
    block = line * 4096
    left = n
    while left > 0:
        k = min(left, 4096)
        os.write(fd, block[: k * 16])
        left -= k
elif mode == "udp":
    host, port = target.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = (host, int(port))
    msg = b"y" * 16
    for _ in range(n):
        s.sendto(msg, addr)
    for _ in range(50):
        s.sendto(b"END!" * 4, addr); time.sleep(0.001)
elif mode.startswith("lat"):
    kind = mode.split("-")[1]
    if kind == "pty":
        fd = int(target); send = lambda b: os.write(fd, b)
    else:
        host, port = target.split(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        send = lambda b, a=(host, int(port)): s.sendto(b, a)
    time.sleep(0.2)
    for _ in range(n):
        stamp = time.monotonic_ns()
        payload = stamp.to_bytes(8, "little").hex().encode()[:15]
        send(payload + b"\n" if kind == "pty" else stamp.to_bytes(8, "little") * 2)
        time.sleep(0.002)
"""


def spawn(mode, target, n, pass_fds=()):
    return subprocess.Popen([sys.executable, "-c", WRITER, mode, str(target), str(n)],
                            pass_fds=pass_fds)


def raw_pty():
    master, slave = pty.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    return master, slave


# --- pty throughput ---------------------------------------------------------------------------

async def pty_standard(n):
    master, slave = raw_pty()
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    state = {"buf": b"", "got": 0}

    def on_readable():
        data = os.read(master, 65536)
        buf = state["buf"] + data
        *lines, state["buf"] = buf.split(b"\n")
        state["got"] += len(lines)         # a frame per line, as a protocol would deliver
        if state["got"] >= n and not done.done():
            done.set_result(None)

    loop.add_reader(master, on_readable)
    t0 = time.perf_counter()
    p = spawn("pty", slave, n, pass_fds=(slave,))
    await done
    dt = time.perf_counter() - t0
    loop.remove_reader(master)
    p.wait()
    os.close(slave)
    os.close(master)
    return n / dt


async def pty_standard_queue(n):
    """The same, handing each line to a consumer task through an asyncio.Queue (how a
    protocol usually feeds the code that awaits frames)."""
    master, slave = raw_pty()
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    state = {"buf": b""}

    def on_readable():
        data = os.read(master, 65536)
        *lines, state["buf"] = (state["buf"] + data).split(b"\n")
        for line in lines:
            q.put_nowait(line)

    loop.add_reader(master, on_readable)
    t0 = time.perf_counter()
    p = spawn("pty", slave, n, pass_fds=(slave,))
    for _ in range(n):
        await q.get()
    dt = time.perf_counter() - t0
    loop.remove_reader(master)
    p.wait()
    os.close(slave)
    os.close(master)
    return n / dt


async def pty_awaitq_async_for(n):
    master, slave = raw_pty()
    ch = awaitq.Channel(capacity=4096, max_frame=FRAME)
    reader = Reader(master, ch, "line")
    t0 = time.perf_counter()
    p = spawn("pty", slave, n, pass_fds=(slave,))
    got = 0
    async for _ in ch:
        got += 1
        if got == n:
            break
    dt = time.perf_counter() - t0
    reader.close()
    p.wait()
    os.close(slave)
    os.close(master)
    return n / dt


async def pty_awaitq(n):
    master, slave = raw_pty()
    ch = awaitq.Channel(capacity=4096, max_frame=FRAME)
    reader = Reader(master, ch, "line")
    t0 = time.perf_counter()
    p = spawn("pty", slave, n, pass_fds=(slave,))
    got = 0
    while got < n:
        got += len(await ch.recv_many(256))
    dt = time.perf_counter() - t0
    reader.close()
    p.wait()
    os.close(slave)
    os.close(master)
    return n / dt


# --- udp throughput ---------------------------------------------------------------------------

def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", 0))
    return s


async def settle(p, count):
    """After the writer exits, waits until no frame arrived for 0.3 s (the END markers may be
    lost too when the receive buffer overflows). The time of the last frame ends the run."""
    last, last_t = count(), time.perf_counter()
    while True:
        await asyncio.sleep(0.05)
        c = count()
        if c != last:
            last, last_t = c, time.perf_counter()
        elif p.poll() is not None and time.perf_counter() - last_t > 0.3:
            return last_t


async def udp_standard(n):
    loop = asyncio.get_running_loop()
    counter = {"got": 0}

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            if data != b"END!" * 4:
                counter["got"] += 1

    sock = udp_socket()
    transport, _ = await loop.create_datagram_endpoint(Proto, sock=sock)
    host, port = sock.getsockname()
    t0 = time.perf_counter()
    p = spawn("udp", f"{host}:{port}", n)
    t1 = await settle(p, lambda: counter["got"])
    transport.close()
    return counter["got"] / (t1 - t0)


async def udp_awaitq(n):
    sock = udp_socket()
    ch = awaitq.Channel(capacity=4096, max_frame=FRAME)
    reader = Reader(sock, ch, "datagram")
    host, port = sock.getsockname()
    counter = {"got": 0}

    async def consume():
        async for f in ch:
            if f != b"END!" * 4:
                counter["got"] += 1

    task = asyncio.ensure_future(consume())
    t0 = time.perf_counter()
    p = spawn("udp", f"{host}:{port}", n)
    t1 = await settle(p, lambda: counter["got"])
    reader.close()
    ch.close()
    await task
    sock.close()
    return counter["got"] / (t1 - t0)


# --- latency ----------------------------------------------------------------------------------

def stamp_of_line(line):
    return int.from_bytes(bytes.fromhex(line.decode() + "0")[:8].ljust(8, b"\0"), "little")


async def latency(kind, impl, n):
    loop = asyncio.get_running_loop()
    lat = []
    done = loop.create_future()
    if kind == "pty":
        master, slave = raw_pty()
        target, fds = slave, (slave,)
    else:
        sock = udp_socket()
        host, port = sock.getsockname()
        target, fds = f"{host}:{port}", ()

    def record(frame, now):
        if kind == "pty":
            # 15 hex digits of the 8-byte stamp: the top nibble is lost; compare mod 2**60
            stamp = int.from_bytes(bytes.fromhex(frame.decode() + "0"), "little") & ((1 << 60) - 1)
            lat.append(((now & ((1 << 60) - 1)) - stamp) / 1000)
        else:
            lat.append((now - int.from_bytes(frame[:8], "little")) / 1000)
        if len(lat) >= n and not done.done():
            done.set_result(None)

    if impl == "standard":
        if kind == "pty":
            buf = [b""]

            def on_readable():
                data = os.read(master, 65536)
                now = time.monotonic_ns()
                *lines, buf[0] = (buf[0] + data).split(b"\n")
                for line in lines:
                    record(line, now)
            loop.add_reader(master, on_readable)
        else:
            class Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data, addr):
                    record(data, time.monotonic_ns())
            transport, _ = await loop.create_datagram_endpoint(Proto, sock=sock)
        p = spawn(f"lat-{kind}", target, n, pass_fds=fds)
        await done
        if kind == "pty":
            loop.remove_reader(master)
        else:
            transport.close()
    else:
        ch = awaitq.Channel(capacity=256, max_frame=FRAME)
        reader = Reader(master if kind == "pty" else sock, ch,
                        "line" if kind == "pty" else "datagram")
        p = spawn(f"lat-{kind}", target, n, pass_fds=fds)
        while len(lat) < n:
            f = await ch.recv()
            record(f, time.monotonic_ns())
        reader.close()
    p.wait()
    if kind == "pty":
        os.close(slave)
        os.close(master)
    else:
        sock.close()
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99) - 1]


def run(loop_factory, coro):
    loop = loop_factory()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.loop == "uvloop":
        import uvloop
        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    n = 200_000 if args.quick else 1_000_000
    nl = 300 if args.quick else 1000
    rounds = 1 if args.quick else args.rounds
    print(f"awaitq.io bench: Python {sys.version.split()[0]}, loop {args.loop}, best of {rounds} rounds")

    def best(fn, *a):
        return max(run(factory, fn(*a)) for _ in range(rounds))

    def ratio_line(name, std, aq, target, higher=True):
        r = aq / std
        met = r >= target if higher else r <= target
        op = ">=" if higher else "<="
        print(f"  {name:<44} {std:>12.0f} {aq:>12.0f} {r:>7.2f}x  target {op} {target}  "
              f"{'met' if met else 'NOT met'}")

    print(f"\nthroughput, {FRAME}-byte frames (frames/s)       standard       awaitq   ratio")
    pty_std = best(pty_standard, n)
    ratio_line("pty, line framing (add_reader + os.read)", pty_std,
               best(pty_awaitq, n), TARGETS["throughput"])
    pty_q = best(pty_standard_queue, n)
    ratio_line("pty: add_reader + asyncio.Queue / async for", pty_q,
               best(pty_awaitq_async_for, n), TARGETS["throughput"])
    ratio_line("udp, datagrams (DatagramProtocol)", best(udp_standard, n),
               best(udp_awaitq, n), TARGETS["throughput"])
    print("\nlatency, one frame every 2 ms (us)          standard p50/p99    awaitq p50/p99   p50 ratio")
    for kind in ("pty", "udp"):
        std = min((run(factory, latency(kind, "standard", nl)) for _ in range(rounds)))
        aq = min((run(factory, latency(kind, "awaitq", nl)) for _ in range(rounds)))
        r = aq[0] / std[0]
        print(f"  {kind:<40} {std[0]:>8.1f} / {std[1]:>7.1f}  {aq[0]:>7.1f} / {aq[1]:>7.1f}"
              f"  {r:>6.2f}x  target <= {TARGETS['latency_p50']}  "
              f"{'met' if r <= TARGETS['latency_p50'] else 'NOT met'}")


if __name__ == "__main__":
    main()
