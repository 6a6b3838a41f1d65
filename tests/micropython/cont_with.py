# `async with` from C (awaitq_aw_async_with, a nested block awaitable): __aenter__ awaited,
# the body's awaits form the block, __aexit__ awaited with the block's exception (true
# suppresses it), the statement's errors to the error callback; cancellation inside the block
# reaches __aexit__. As MicroPython's own async with: __aexit__ gets (type, exc, None).
try:
    import aw_ext
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


class CM:
    """An async context manager that records its calls; `suppress` is __aexit__'s result."""

    def __init__(self, suppress=False, enter_error=None, exit_error=None):
        self.suppress = suppress
        self.enter_error = enter_error
        self.exit_error = exit_error
        self.calls = []

    async def __aenter__(self):
        await asyncio.sleep(0)
        self.calls.append("enter")
        if self.enter_error:
            raise self.enter_error
        return "value"

    async def __aexit__(self, typ, exc, tb):
        await asyncio.sleep(0)
        self.calls.append(("exit", typ and typ.__name__, exc and show(exc), tb))
        if self.exit_error:
            raise self.exit_error
        return self.suppress


def outcome(coro):
    try:
        return "returned %r" % (asyncio.run(coro),)
    except BaseException as e:
        return "raised " + show(e)


print("-- enter, the block, exit")
cm, log = CM(), []
print(outcome(aw_ext.with_(cm, lambda v: value_after(v + "!"), log, "none")), cm.calls, log)

print("-- a block error reaches __aexit__, then the error callback")
cm, log = CM(), []
print(outcome(aw_ext.with_(cm, lambda v: raise_after(ValueError("in the block")), log, "handle")))
print(cm.calls, [(t, show(v) if isinstance(v, BaseException) else v) for t, v in log])

print("-- a true __aexit__ suppresses it")
cm = CM(suppress=True)
print(outcome(aw_ext.with_(cm, lambda v: raise_after(ValueError("x")), [], "none")), cm.calls)

print("-- an __aenter__ error skips __aexit__")
cm = CM(enter_error=KeyError("enter"))
print(outcome(aw_ext.with_(cm, lambda v: value_after(v), [], "none")), cm.calls)

print("-- an __aexit__ error replaces the block's (no __context__ on MicroPython)")
cm = CM(exit_error=RuntimeError("in aexit"))
print(outcome(aw_ext.with_(cm, lambda v: raise_after(ValueError("in the block")), [], "none")), cm.calls)

print("-- a failing body callback still exits")


def body(v):
    raise ZeroDivisionError("body callback")


cm = CM()
print(outcome(aw_ext.with_(cm, body, [], "none")), cm.calls)

print("-- the statement's errors to each error callback mode")
for em in ("handle", "raise", "decline", "reraise", "none"):
    cm = CM(enter_error=KeyError("enter"))
    print(em, outcome(aw_ext.with_(cm, lambda v: value_after(v), [], em)))

print("-- not an async context manager")
print(show(aw_ext.misuse("not_cm", object())))


class OnlyEnter:
    async def __aenter__(self):
        return 1


print(show(aw_ext.misuse("not_cm", OnlyEnter())))

print("-- cancelling the task inside the block reaches __aexit__ and the block's finally")
events = []


async def waits(v):
    try:
        await asyncio.sleep(3600)
    finally:
        events.append(("finally", v))


async def cancel_soon():
    cm = CM()
    task = asyncio.create_task(aw_ext.with_(cm, waits, [], "none"))
    for _ in range(4):
        await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        events.append("cancelled")
    return cm.calls


print(asyncio.run(cancel_soon()), events)
