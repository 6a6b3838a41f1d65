# The coroutine protocol of native awaitables, driven by hand: a transparent `yield from`
# while an inner awaitable runs (its yields go up, send()/throw() come down unchanged), the
# refusals (first send not None, re-entry, reuse), close() of a suspended one, and long chains
# (no recursion). For the C API (aw_ext) and Rust futures (cont).
try:
    import aw_ext
    from awaitq.testing import cont
except ImportError:
    print("SKIP")
    raise SystemExit


import os

# Long chains: 10 000 (the valgrind run of ci/test-micropython.sh sets fewer).
N = int(os.getenv("AWAITQ_CONT_N") or 10_000)


def show(e):
    return "%s: %s" % (type(e).__name__, e)


def finish(aw, value=None):
    try:
        aw.send(value)
    except StopIteration as e:
        return e.value
    return "it yielded"


class Recorder:
    """Yields `marks` one by one, records what each send()/throw() brought down to it, then
    returns `result`."""

    def __init__(self, marks, result="done"):
        self.marks = list(marks)
        self.result = result
        self.got = []
        self.finally_ran = False

    def __await__(self):
        try:
            for m in self.marks:
                try:
                    self.got.append((yield m))
                except GeneratorExit:
                    raise
                except BaseException as e:
                    self.got.append(("thrown", type(e).__name__))
                    raise
            return self.result
        finally:
            self.finally_ran = True


for name, make in (("c", aw_ext.await_one), ("future", lambda a: cont.await_each([a]))):
    print("--", name, "yields pass up, sends pass down")
    rec = Recorder(["a", "b", "c"], result="r")
    aw = make(rec)
    print(aw.send(None), aw.send(1), next(aw), finish(aw, 3), rec.got, rec.finally_ran)

    print("--", name, "a throw goes into the inner first")
    rec = Recorder(["a", "b"])
    aw = make(rec)
    aw.send(None)
    try:
        aw.throw(KeyError("k"))
    except KeyError as e:
        print("raised", show(e), rec.got, rec.finally_ran)
    try:
        aw.send(None)
    except RuntimeError as e:
        print(show(e))

    print("--", name, "close while suspended runs the inner's finally")
    rec = Recorder(["a", "b"])
    aw = make(rec)
    aw.send(None)
    print(aw.close(), rec.finally_ran)
    try:
        aw.send(None)
    except RuntimeError as e:
        print(show(e))
    print("closing again:", aw.close())
    try:
        aw.throw(ZeroDivisionError)
    except ZeroDivisionError:
        print("a finished awaitable raises what is thrown")

    print("--", name, "the first send must be None (nothing changes)")
    aw = make(Recorder(["a"]))
    try:
        aw.send(1)
    except TypeError as e:
        print(show(e))
    print(aw.send(None))

print("-- an inner that catches a throw and returns")


class Catching:
    def __await__(self):
        try:
            yield "waiting"
        except ValueError as e:
            return "caught %s" % e


aw = aw_ext.await_one(Catching())
aw.send(None)
try:
    aw.throw(ValueError("v"))
except StopIteration as e:
    print(e.value)

print("-- an inner that catches a throw and yields again; the 3-argument throw")


class Stubborn:
    def __await__(self):
        while True:
            try:
                return (yield "again")
            except ValueError:
                continue


aw = aw_ext.await_one(Stubborn())
print(aw.send(None), aw.throw(ValueError), aw.throw(ValueError, ValueError("x"), None), finish(aw, "last"))

print("-- an inner without throw(): the error surfaces at the await")


class PlainIter:
    def __init__(self):
        self.calls = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.calls += 1
        return "tick"


inner = PlainIter()
aw = aw_ext.await_one(inner)
print(aw.send(None))
try:
    aw.throw(OSError("x"))
except OSError as e:
    print("raised", show(e), "calls:", inner.calls)

print("-- bad throw arguments change nothing")
rec = Recorder(["a", "b"])
aw = aw_ext.await_one(rec)
aw.send(None)
for args in ((3,), ("not an exception",)):
    try:
        aw.throw(*args)
    except TypeError as e:
        print(show(e))
print(aw.send(1), rec.got)

print("-- close of an inner that refuses to close raises from close()")


class Refuses:
    def __await__(self):
        try:
            yield "a"
        except GeneratorExit:
            yield "not closing"


aw = aw_ext.await_one(Refuses())
aw.send(None)
try:
    aw.close()
except RuntimeError as e:
    print(show(e))
try:
    aw.send(None)
except RuntimeError as e:
    print(show(e))

print("-- resuming a running awaitable from its inner is refused")
holder = []


class Evil:
    def __await__(self):
        try:
            holder[0].send(None)
        except ValueError as e:
            return str(e)
        yield


aw = aw_ext.await_one(Evil())
holder.append(aw)
print(finish(aw))

print("-- awaiting twice is refused")
import asyncio


async def value(v):
    return v


async def twice():
    aw = aw_ext.await_one(value(1))
    first = await aw
    try:
        await aw
    except RuntimeError as e:
        return first, show(e)


print(asyncio.run(twice()))

print("-- yield from a native awaitable in a generator")


def legacy():
    return (yield from aw_ext.await_one(Recorder(["g"], result="legacy")))


g = legacy()
print(g.send(None), finish(g, None))

print("-- 100 000 chained awaits use the stack of one (C API), long chains of coroutines")
# `()` is awaitable on MicroPython (`await x` iterates x) and completes at once: the machine's
# loop alone. (Chains of 100 000 coroutines also work but are slow here: MicroPython's
# allocator scans from its first free block for every multi-block object.)
print(finish(aw_ext.chain(() for _ in range(100_000))))
print(finish(aw_ext.chain(value(i) for i in range(N))) == (N, N - 1))
print(finish(cont.await_each([value(i) for i in range(N)])) == list(range(N)))

print("-- a StopIteration from the inner's error path becomes RuntimeError, not a return")
aw = aw_ext.ready(None)
try:
    aw.throw(StopIteration)
except RuntimeError as e:
    print(show(e))
