# The native-awaitable C API (ports/include/awaitq_aw.h, AWAITQ_MICROPYTHON) used by a C
# extension (bind-micropython/tests/cext/aw_ext.c, module aw_ext): an async function in C,
# every callback outcome in every position, every kind of awaitable, deferred awaits, saved
# values and API misuse. Awaited from MicroPython's asyncio.
try:
    import aw_ext
    import awaitq
    from awaitq.testing import cont
except ImportError:
    print("SKIP")
    raise SystemExit

import asyncio

NO_EXCEPTION = "callback returned -1 without raising an exception"


def show(e):
    return "%s: %s" % (type(e).__name__, e)


class Conn:
    """A database-like object whose methods are coroutines."""

    def __init__(self):
        self.calls = []

    async def fetch(self, query):
        self.calls.append(("fetch", query))
        await asyncio.sleep(0)
        return [(query, 1), (query, 2)]

    async def count(self, query):
        self.calls.append(("count", query))
        await asyncio.sleep(0)
        return 2


async def value_after(v, ticks=1):
    for _ in range(ticks):
        await asyncio.sleep(0)
    return v


async def raise_after(exc, ticks=1):
    for _ in range(ticks):
        await asyncio.sleep(0)
    raise exc


def run(coro):
    return asyncio.run(coro)


print("-- execute(conn, query): two awaits, values carried between the steps")
conn = Conn()


async def two():
    return await aw_ext.execute(conn, "select 1"), await aw_ext.execute(conn, "select 2")


print(run(two()))
print(conn.calls)


async def many():
    c = Conn()
    return await asyncio.gather(*(aw_ext.execute(c, "q%d" % i) for i in range(50)))


print("gather of 50:", run(many()) == [([("q%d" % i, 1), ("q%d" % i, 2)], 2) for i in range(50)])

print("-- a returning await goes to the result callback only (try / except / else)")
for rm in ("set", "raise", "jump", "noexc", "drop", "cancel"):
    for em in ("handle", "raise", "decline", "reraise", "none"):
        log = []
        try:
            out = "returned %r" % (run(aw_ext.one(value_after(1), rm, em, log)),)
        except BaseException as e:
            out = "raised " + show(e)
        print(rm, em, out, log)

print("-- a raising await goes to the error callback only")
for rm in ("set", "raise", "noexc", "drop"):
    for em in ("handle", "raise", "decline", "reraise", "none"):
        log = []
        inner = ValueError("inner")
        try:
            r = run(aw_ext.one(raise_after(inner), rm, em, log))
            out = "returned %s %s" % (r[0], r[1] is inner)
        except BaseException as e:
            out = "raised %s, the inner itself: %s" % (show(e), e is inner)
        print(rm, em, out, [(t, v is inner) for t, v in log])


print("-- every kind of awaitable")


# In MicroPython's asyncio a task is rescheduled only by what it yields from (sleep, an
# event, I/O): a bare `yield` would orphan it. So these yield from asyncio.sleep_ms(0).


def generator_based(v):
    yield from asyncio.sleep_ms(0)
    return v


class AwaitProtocol:
    """CPython's protocol (MicroPython's own await has no __await__)."""

    def __await__(self):
        yield from asyncio.sleep_ms(0)
        return "await"


class IterProtocol:
    """MicroPython's protocol: `await x` iterates x."""

    def __iter__(self):
        yield from asyncio.sleep_ms(0)
        return "iter"


async def kinds():
    ev = asyncio.Event()

    async def setter():
        await asyncio.sleep(0)
        ev.set()

    asyncio.create_task(setter())
    t = asyncio.create_task(value_after("task", 2))
    return [
        await aw_ext.await_one(value_after("coroutine")),
        await aw_ext.await_one(generator_based("generator")),
        await aw_ext.await_one(AwaitProtocol()),
        await aw_ext.await_one(IterProtocol()),
        await aw_ext.await_one(ev.wait()),
        await aw_ext.await_one(t),
        await aw_ext.await_one(aw_ext.ready("native")),
        await aw_ext.await_one(cont.ready("rust future")),
    ]


print(run(kinds()))


print("-- not awaitable: TypeError to the error callback")


class BadAwait:
    def __await__(self):
        return 42  # not an iterator


async def bad():
    log = []
    return [await aw_ext.one(3, "set", "handle", log), await aw_ext.one(BadAwait(), "set", "handle", log)]


for tag, e in run(bad()):
    print(tag, show(e))

print("-- 200 steps, each awaiting a coroutine")
print(run(aw_ext.steps([value_after(i, ticks=i % 3) for i in range(200)], [])) == list(range(200)))

print("-- a failing step stops the chain; what is queued never runs")
ran = []


async def tracked(i):
    ran.append(("start", i))
    try:
        await asyncio.sleep(0)
        return i
    finally:
        ran.append(("finally", i))


inner = LookupError("step 2")
queued = [tracked(0), tracked(1), raise_after(inner), tracked(3)]
try:
    run(aw_ext.queued(queued))
except LookupError as e:
    print("raised the step's error:", e is inner)
print(ran)
try:
    queued[3].send(None)
except BaseException as e:
    print("the unstarted coroutine was closed:", type(e).__name__, ("start", 3) not in ran)

print("-- awaits added by a callback run next, before those queued earlier")
log = []
print(run(aw_ext.nested(value_after("a"), value_after("b"), value_after("c"), log)), log)

print("-- a deferred await is decided when reached")
order = []


async def first():
    order.append("first")
    return "ignored"


def factory():
    order.append("factory")
    return value_after("decided")


log = []
print(run(aw_ext.deferred(first(), factory, log)), order, log)


def failing_factory():
    raise OSError("no decision")


try:
    run(aw_ext.deferred(value_after(0), failing_factory, []))
except OSError as e:
    print("a failing decision raises:", show(e))

print("-- misuse: each records core's error and changes nothing")
for what in ("null_aw", "null_awaitable", "save_null_item", "defer_null", "unpack_too_many",
             "get_value_range", "raise_type", "nothing_recorded"):
    print(what, show(aw_ext.misuse(what)))
print("wrong_type", show(aw_ext.misuse("wrong_type", 3)))
print("not_cm", show(aw_ext.misuse("not_cm", object())))
done = aw_ext.ready(1)
try:
    done.send(None)
except StopIteration as e:
    print("ready:", e.value)
for what in ("add_after_finish", "result_after_finish"):
    print(what, show(aw_ext.misuse(what, done)))
print("the SystemError is awaitq's:", type(aw_ext.misuse("null_aw")) is awaitq.SystemError)

print("cancel of a finished awaitable does nothing:", aw_ext.cancel_now(done))

print("-- saved values, pointers, check()")
print(aw_ext.values())

print("-- a ready awaitable returns its value without yielding (a tuple stays a tuple)")
try:
    aw_ext.ready((1, 2)).send(None)
except StopIteration as e:
    print(e.value)
print(type(aw_ext.ready(1)).__name__, isinstance(aw_ext.ready(1), awaitq.NativeAwaitable))

print("-- a channel receive fed by a native thread, awaited from C")
from awaitq.testing import spawn_producer

ch = awaitq.Channel(capacity=4, max_frame=8)


async def from_channel():
    spawn_producer(ch, 100, size=4, close=True)
    return await aw_ext.steps([ch.recv() for _ in range(100)], [])


got = run(from_channel())
print([int.from_bytes(p, "little") for p in got] == list(range(100)))
