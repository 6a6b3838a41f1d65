# Rust `async fn`s as awaitables on MicroPython with no executor (future_into_mp): polled from
# send()/iternext, awaiting MicroPython awaitables inside (py_await), parked on a Waker that
# native threads fire (static wake slots; the loop sleeps on the slot's eventfd).
try:
    import awaitq
    from awaitq.testing import cont, spawn_producer
except ImportError:
    print("SKIP")
    raise SystemExit

import asyncio


def show(e):
    return "%s: %s" % (type(e).__name__, e)


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


print("-- a ready future returns without yielding (a tuple stays a tuple)")
aw = cont.ready((1, 2))
print(type(aw).__name__)
try:
    aw.send(None)
except StopIteration as e:
    print(e.value)

print("-- it awaits MicroPython awaitables in turn: coroutines, an Event, a Task, a channel op")


async def in_turn():
    ev = asyncio.Event()

    async def setter():
        await asyncio.sleep_ms(1)
        ev.set()

    asyncio.create_task(setter())
    t = asyncio.create_task(value_after("task", 3))
    return await cont.await_each([value_after(1, 3), ev.wait(), t, value_after(2)])


print(run(in_turn()))

print("-- a py_await's coroutine awaited twice in sequence (two py_awaits)")
print(run(cont.await_each([value_after("a"), value_after("b")])))

print("-- an error propagates out of the future; the future is dropped")
err = KeyError("inner")
try:
    run(cont.await_each([value_after(0), raise_after(err)]))
except KeyError as e:
    print("raised the inner's error:", e is err, "live futures:", cont.live_futures())

print("-- the future can handle an error and go on")
r = run(cont.await_catching(raise_after(OSError("x"))))
print(show(r))

print("-- two py_awaits at once are refused")
b = value_after(2)
try:
    run(cont.join_two(value_after(1), b))
except RuntimeError as e:
    print(show(e))

print("-- py_await polled by another executor is refused")


async def never():
    pass


print(show(cont.poll_outside(never())))

print("-- a wake during the poll polls again without yielding")
try:
    cont.yield_now(1000).send(None)
except StopIteration as e:
    print(e.value)

print("-- woken from a native thread, 200 times")


async def from_threads():
    sig = cont.Signal()
    got = []
    for i in range(200):
        sig.set_later(0)  # a native pthread the VM knows nothing about
        got.append(await cont.wait_signal(sig, i))
    return got


print(run(from_threads()) == list(range(200)), "live futures:", cont.live_futures())

print("-- 50 parked futures woken in any order, 3 times each")


async def many():
    sigs = [cont.Signal() for _ in range(50)]
    tasks = [asyncio.create_task(cont.wait_signal(s, i, 3)) for i, s in enumerate(sigs)]
    await asyncio.sleep(0)
    for _ in range(3):
        for s in reversed(sigs):
            s.set_later(0.0005)
        await asyncio.sleep_ms(5)
    return await asyncio.gather(*tasks)


print(run(many()) == list(range(50)), "live futures:", cont.live_futures())

print("-- a wake that came before the park is not lost")


async def early():
    sig = cont.Signal()
    sig.set()
    return await cont.wait_signal(sig, "early")


print(run(early()))

print("-- a future and a channel awaited together")
ch = awaitq.Channel(capacity=8, max_frame=8)


async def with_channel():
    spawn_producer(ch, 50, size=4, close=True)
    return await cont.await_each([ch.recv() for _ in range(50)])


print([int.from_bytes(p, "little") for p in run(with_channel())] == list(range(50)))

print("-- waiting outside asyncio is refused (MicroPython's only loop is asyncio)")
sig = cont.Signal()
aw = cont.wait_signal(sig, "v")
try:
    aw.send(None)
except RuntimeError as e:
    print(show(e), "live futures:", cont.live_futures())

print("-- ioctl: a parked future is readable once its Waker fired (the poller's view)")
import select


async def poll_view():
    sig = cont.Signal()
    aw = cont.wait_signal(sig, "polled")
    aw.send(None)  # parks: registered with asyncio's I/O queue
    p = select.poll()
    p.register(aw, select.POLLIN)
    before = p.poll(0)
    sig.set()
    after = [ev for _, ev in p.poll(1000)]
    p.unregister(aw)
    try:
        aw.send(None)
    except StopIteration as e:
        return before, after, e.value


print(run(poll_view()))
print("live futures at the end:", cont.live_futures())
