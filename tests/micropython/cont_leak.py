# No leaks and no crashes over 100 000 runs of the native-awaitable paths (C API callbacks in
# every outcome, throw, close, async with, Rust futures ready / awaiting / failing / parked and
# woken / parked and cancelled / abandoned unfinished): after a collection the heap in use
# stays flat (one leaked object per run would show as megabytes), every Rust future is
# dropped or abandoned, and no wake slot is lost (the table has 64: a leak would exhaust it).
try:
    import aw_ext
    from awaitq.testing import cont
except ImportError:
    print("SKIP")
    raise SystemExit

import asyncio
import gc
import os

# 100 000 runs (the valgrind run of ci/test-micropython.sh sets fewer).
N = int(os.getenv("AWAITQ_CONT_LEAK_N") or 100_000)


async def ret(v):
    return v


async def fail(e):
    raise e


class Recorder:
    def __init__(self):
        self.finally_ran = False

    def __await__(self):
        try:
            yield "a"
            return "done"
        finally:
            self.finally_ran = True


class CM:
    async def __aenter__(self):
        return 1

    async def __aexit__(self, *exc):
        return False


class Conn:
    async def fetch(self, q):
        return q

    async def count(self, q):
        return 1


def completes(aw):
    try:
        aw.send(None)
    except StopIteration as e:
        return e.value
    raise AssertionError("it yielded")


def raises(aw, exc_type):
    try:
        aw.send(None)
    except exc_type as e:
        return e
    raise AssertionError("no exception")


def run_c(i):
    assert completes(aw_ext.await_one(ret(i))) == i
    assert completes(aw_ext.execute(Conn(), i)) == (i, 1)


def run_c_errors(i):
    e = ValueError(i)
    log = []
    assert completes(aw_ext.one(fail(e), "set", "handle", log))[1] is e
    raises(aw_ext.one(fail(e), "set", "raise", log), KeyError)
    raises(aw_ext.one(ret(i), "jump", "none", log), ValueError)
    raises(aw_ext.one(ret(i), "noexc", "none", log), Exception)


def run_throw_close(i):
    rec = Recorder()
    aw = aw_ext.one(rec, "set", "handle", [])
    aw.send(None)
    try:
        aw.throw(asyncio.CancelledError())
    except StopIteration as e:
        assert e.value[0] == "handled"
    rec = Recorder()
    aw = aw_ext.await_one(rec)
    aw.send(None)
    aw.close()
    assert rec.finally_ran


def run_with(i):
    assert completes(aw_ext.with_(CM(), ret, [], "none")) == 1


def run_futures(i):
    assert completes(cont.ready(i)) == i
    assert completes(cont.await_each([ret(i)])) == [i]
    raises(cont.await_each([fail(KeyError(i))]), KeyError)


def run_parked(i):
    # Inside an asyncio task: a wait registers with its I/O queue.
    sig = cont.Signal()
    aw = cont.wait_signal(sig, i)
    aw.send(None)  # parks
    if i % 2:
        sig.set()
        assert completes(aw) == i
    else:
        try:
            aw.throw(asyncio.CancelledError)
        except asyncio.CancelledError:
            pass


def run_abandoned(i):
    cont.ready(i)  # never awaited: its wake slot comes back when it is collected
    aw = cont.await_each([Recorder()])
    aw.send(None)  # suspended inside its py_await, then dropped


PATHS = [run_c, run_c_errors, run_throw_close, run_with, run_futures, run_parked, run_abandoned]


def in_use():
    gc.collect()
    return gc.mem_alloc()


async def main():
    for i in range(700):  # warm up caches, the asyncio queues, the wake slots' fds
        PATHS[i % len(PATHS)](i)
    before = in_use()
    for i in range(N):
        PATHS[i % len(PATHS)](i)
    growth = in_use() - before
    print("heap growth under 8 KiB:", growth < 8192, "" if growth < 8192 else growth)
    # Only the abandoned suspended futures count as alive (never dropped: see the README; a
    # future that was never polled never started counting).
    abandoned = sum(1 for i in range(700) if i % 7 == 6) + sum(1 for i in range(N) if i % 7 == 6)
    print("live futures are the abandoned ones:", cont.live_futures() == abandoned)
    # Every slot is free again: 64 futures parked at once.
    sigs = [cont.Signal() for _ in range(64)]
    tasks = [asyncio.create_task(cont.wait_signal(s, k)) for k, s in enumerate(sigs)]
    await asyncio.sleep(0)
    for s in sigs:
        s.set()
    print("64 parked at once:", await asyncio.gather(*tasks) == list(range(64)))


asyncio.run(main())
