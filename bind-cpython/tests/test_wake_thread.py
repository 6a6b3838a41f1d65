"""The wake path with no descriptor: a loop without `add_reader` (Windows' Proactor loop
raises NotImplementedError there) gets a native waker thread that, on a parked -> ready edge
only, calls `loop.call_soon_threadsafe`. `AWAITQ_WAKE=thread` forces it on every loop (CI runs
the whole suite once that way)."""

import asyncio
import os
import subprocess
import sys
import time

import pytest

import awaitq
from awaitq.testing import spawn_producer

from conftest import frame

linux_only = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc")


def waker_threads():
    n = 0
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/comm") as f:
                n += f.read().strip() == "awaitq-waker"
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return n


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop that cannot watch descriptors, like the Proactor loop."""

    def add_reader(self, fd, callback, *args):
        raise NotImplementedError


def run_without_readers(coro):
    loop = NoReaderLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@linux_only
def test_a_loop_without_add_reader_is_woken_by_a_thread():
    # The loop refuses descriptors, so the waker thread is the only way a wake can arrive.
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def main():
        p = spawn_producer(ch, 300, size=16, rate_hz=20000, close=True)
        got = [f async for f in ch]
        assert waker_threads() >= 1  # (the count: closed loops' threads end when pruned)
        return got, p.join()

    got, pushed = run_without_readers(main())
    assert pushed == 300 and got == [frame(k) for k in range(300)]


def test_cancel_and_timeout_on_the_thread_path():
    async def main():
        ch = awaitq.Channel(capacity=4, max_frame=4)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ch.recv(), 0.01)
        t = asyncio.ensure_future(ch.recv())
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        ch.send_nowait(b"a")
        return len(ch), await ch.recv()

    assert run_without_readers(main()) == (1, b"a")


@linux_only
def test_idle_waker_thread_uses_no_cpu():
    ch = awaitq.Channel(capacity=4, max_frame=16)

    async def main():
        t = asyncio.ensure_future(ch.recv())
        await asyncio.sleep(0.01)
        c0 = time.process_time()
        await asyncio.sleep(0.5)
        idle = time.process_time() - c0
        ch.send_nowait(b"x")
        return idle, await t

    idle, got = run_without_readers(main())
    assert got == b"x"
    assert idle < 0.05, idle


@linux_only
def test_environment_variable_forces_the_thread():
    code = (
        "import asyncio, os, awaitq\n"
        "async def main():\n"
        "    ch = awaitq.Channel()\n"
        "    p = awaitq.testing.spawn_producer(ch, 5, size=8, rate_hz=1000, close=True)\n"
        "    print(len([f async for f in ch]), end=' ')\n"
        "asyncio.run(main())\n"
        "print(sum(open(f'/proc/self/task/{t}/comm').read().strip() == 'awaitq-waker'\n"
        "          for t in os.listdir('/proc/self/task')))\n"
    )
    env = dict(os.environ)
    for value, threads in (("thread", "1"), ("", "0")):
        env["AWAITQ_WAKE"] = value
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=60, check=True).stdout.split()
        # Closed loops keep their waker until the next registration prunes them.
        assert out == ["5", threads], (value, out)


EXIT_WHILE_WAKING = """
import asyncio, os, threading, time
os.environ["AWAITQ_WAKE"] = "thread"
import awaitq
from awaitq.testing import spawn_producer

ch = awaitq.Channel(capacity=2, max_frame=8)
got = [0]

async def consume():
    while True:
        await ch.recv()  # parks often: the producer is paced, every frame is a wake
        got[0] += 1

threading.Thread(target=asyncio.run, args=(consume(),), daemon=True).start()
spawn_producer(ch, 10**9, size=8, rate_hz=20000)
while got[0] < 200:
    time.sleep(0.01)
print("exiting")
"""


def test_interpreter_exit_while_the_waker_thread_is_busy():
    # A loop in a daemon thread keeps parking and a native producer keeps waking it while
    # the interpreter exits: the waker thread must never be caught attaching mid-
    # finalization (before 3.13 CPython ends such a thread with pthread_exit, which aborts
    # the process when it unwinds through Rust frames).
    for _ in range(10):
        proc = subprocess.run([sys.executable, "-c", EXIT_WHILE_WAKING], capture_output=True,
                              text=True, timeout=60)
        assert (proc.returncode, proc.stdout) == (0, "exiting\n"), proc.stderr[-2000:]
