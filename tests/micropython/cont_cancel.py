# Cancellation goes all the way down: task.cancel() and wait_for timeouts are thrown into the
# awaited coroutine (its except/finally run), then reach the error callback or the Rust future
# (which sees CancelledError from py_await, or is dropped while it waits on its Waker). Every
# state: fresh, awaiting (first and later step), native cancel, Rust futures, close().
try:
    import aw_ext
    from awaitq.testing import cont
except ImportError:
    print("SKIP")
    raise SystemExit

import asyncio


class Probe:
    """A coroutine factory that records how it ended."""

    def __init__(self):
        self.events = []

    async def wait(self, tag="inner", seconds=3600):
        self.events.append(("start", tag))
        try:
            await asyncio.sleep(seconds)
            self.events.append(("done", tag))
            return tag
        except asyncio.CancelledError:
            self.events.append(("except", tag))
            raise
        finally:
            self.events.append(("finally", tag))


async def cancel_soon(aw, ticks=2):
    """Runs `aw` in a task, cancels it after `ticks` loop iterations, returns its outcome."""
    task = asyncio.create_task(aw)
    for _ in range(ticks):
        await asyncio.sleep(0)
    task.cancel()
    try:
        return "returned", await task
    except asyncio.CancelledError:
        return "cancelled", None


def run(coro):
    return asyncio.run(coro)


print("-- a cancel reaches the inner, then the error callback (which handles it)")
p, log = Probe(), []
outcome, value = run(cancel_soon(aw_ext.one(p.wait(), "set", "handle", log)))
print(p.events, outcome, value[0], type(value[1]).__name__, [(t, type(e).__name__) for t, e in log])

print("-- without an error callback the task is cancelled")
p = Probe()
print(run(cancel_soon(aw_ext.one(p.wait(), "set", "none", []))), p.events)

print("-- a wait_for timeout is a cancel of the inner")
p = Probe()


async def timeout():
    try:
        await asyncio.wait_for(aw_ext.await_one(p.wait()), 0.01)
    except asyncio.TimeoutError:
        return "timeout"


print(run(timeout()), p.events)

print("-- a cancel during the second step of a chain")
p = Probe()
print(run(cancel_soon(aw_ext.steps([p.wait("one", 0), p.wait("two")], []), ticks=4)), p.events)

print("-- a cancel before the awaitable starts: its queued coroutine never runs")
p = Probe()
coro = p.wait()


async def before_start():
    aw = aw_ext.queued([coro])

    async def never_reached():
        await asyncio.sleep(3600)
        await aw

    task = asyncio.create_task(never_reached())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"


print(run(before_start()), p.events)

print("-- native cancel of a suspended awaitable closes the inner; no callback runs")
p, log = Probe(), []


async def native_cancel():
    aw = aw_ext.one(p.wait(), "set", "handle", log)
    task = asyncio.create_task(aw)
    await asyncio.sleep(0)
    aw_ext.cancel_now(aw)  # the inner's finally runs now; the task is not woken
    after = list(p.events)
    task.cancel()  # waking it is the driver's business; nothing is left to forward to
    try:
        await task
    except asyncio.CancelledError:
        return after, "cancelled"


print(run(native_cancel()), log)

print("-- native cancel while suspended, then send: the result")


class Recorder:
    def __init__(self, marks):
        self.marks = marks
        self.finally_ran = False

    def __await__(self):
        try:
            for m in self.marks:
                yield m
            return "done"
        finally:
            self.finally_ran = True


rec = Recorder(["a", "b"])
aw = aw_ext.one(rec, "set", "handle", [])
print(aw.send(None))
aw_ext.cancel_now(aw)
print("finally ran:", rec.finally_ran)
try:
    aw.send("ignored")
except StopIteration as e:
    print("result:", e.value)

print("-- native cancel of a fresh awaitable: the queue is emptied (closed coroutines)")
p = Probe()
c = p.wait()
aw = aw_ext.queued([c])
aw_ext.cancel_now(aw)
try:
    aw.send(None)
except StopIteration as e:
    print("result:", e.value, p.events)

print("-- a Rust future sees the cancellation of its py_await")
p = Probe()
outcome, value = run(cancel_soon(cont.await_catching(p.wait())))
print(p.events, outcome, type(value).__name__, "live futures:", cont.live_futures())

print("-- a Rust future propagating the cancellation is dropped")
p = Probe()
print(run(cancel_soon(cont.await_each([p.wait("one", 0), p.wait("two")]), ticks=4)))
print(p.events[-2:], "live futures:", cont.live_futures())

print("-- a Rust future waiting on its Waker is dropped by a cancel; a late wake is harmless")


async def waiting_on_rust():
    sig = cont.Signal()
    outcome = await cancel_soon(cont.wait_signal(sig, "never"))
    live = cont.live_futures()
    sig.set()  # a late wake finds nothing to wake
    sig.set_later(0)  # from a native thread, too
    await asyncio.sleep(0.02)
    return outcome, live


print(run(waiting_on_rust()), "live futures:", cont.live_futures())

print("-- close() drops a Rust future and closes its py_await's awaitable")
rec = Recorder(["a", "b"])
aw = cont.await_each([rec])
print(aw.send(None), cont.live_futures())  # stepped by hand: suspended inside the py_await
aw.close()
print("finally ran:", rec.finally_ran, "live futures:", cont.live_futures())

print("-- throw() into a parked Rust future: dropped, the exception comes out")


async def throw_parked():
    sig = cont.Signal()
    aw = cont.wait_signal(sig, "v")
    aw.send(None)  # parks: registered with asyncio's I/O queue
    try:
        aw.throw(KeyError("thrown"))
    except KeyError as e:
        return "raised", e.args, cont.live_futures()


print(run(throw_parked()))
