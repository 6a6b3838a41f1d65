# Issue 15: a receive whose value cannot be built (MemoryError: the heap is locked, as when it
# is exhausted) keeps its frame queued. For every receive kind: fill a channel, run one
# receive with the heap locked, then unlock and drain: the frames delivered plus the frames
# still queued must be exactly the frames sent, in order, none lost or duplicated, and the
# channel still works. Also: throw(StopIteration) into a parked receive is a RuntimeError
# (PEP 479), as in a generator.
import micropython
import awaitq

FRAMES = [bytes([k]) * (1 + 5 * k) for k in range(6)]


def filled():
    ch = awaitq.Channel(capacity=8, max_frame=32)
    # One receive first, so buffers made once per channel or awaitable exist: the locked
    # receive below then fails only where a value is built after a frame was taken.
    ch.send_nowait(b"warm")
    c = body(ch.recv(), [None])
    try:
        c.send(None)
    except StopIteration:
        pass
    for k, f in enumerate(FRAMES):
        ch.send_nowait(f, tag=k)
    return ch


def drain(ch):
    out = []
    while True:
        f = ch.try_recv()
        if f is None:
            return out
        out.append(f)


async def body(aw, cell):
    cell[0] = await aw


def delivered(kind, v):
    if v is None:
        return []
    if kind == "recv_tagged":
        return [v[1]]
    if kind == "recv_many":
        return list(v)
    return [v]


for kind in ("recv", "recv_tagged", "recv_many", "anext", "try_recv"):
    ch = filled()
    cell = [None]
    if kind == "try_recv":
        coro = None
    else:
        aw = {"recv": ch.recv, "recv_tagged": ch.recv_tagged, "anext": ch.__anext__}.get(kind)
        aw = aw() if aw else ch.recv_many(4)
        coro = body(aw, cell)
    err = None
    micropython.heap_lock()
    try:
        if coro is None:
            cell[0] = ch.try_recv()
        else:
            coro.send(None)
    except MemoryError:
        err = "MemoryError"
    except StopIteration:
        pass
    finally:
        micropython.heap_unlock()
    got = delivered(kind, cell[0]) + drain(ch)
    print(kind, err, "ok" if got == FRAMES else "LOST OR DUPLICATED: %d frames" % len(got))
    ch.send_nowait(b"after")
    print(" still works:", ch.try_recv() == b"after", len(ch))

# throw(StopIteration) into a parked receive
import asyncio


async def main():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()

    async def waiter():
        return await aw

    t = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    try:
        aw.throw(StopIteration(5))
        print("throw returned")
    except StopIteration as e:
        print("StopIteration leaked:", e.value)
    except RuntimeError as e:
        print("RuntimeError:", e)
    t.cancel()
    try:
        await t
    except BaseException as e:
        pass
    ch.send_nowait(b"ok")
    print(await ch.recv())


asyncio.run(main())

# A frame staged by a failed recv() goes first to the next receive of any kind (recv_into).
ch = filled()
aw = ch.recv()
coro = body(aw, [None])
micropython.heap_lock()
try:
    coro.send(None)
except MemoryError:
    pass
finally:
    micropython.heap_unlock()
buf = bytearray(32)
n = [None]


async def into():
    n[0] = await ch.recv_into(buf)


try:
    into().send(None)
except StopIteration:
    pass
print("recv_into after a failed recv:", bytes(buf[: n[0]]) == FRAMES[0], len(ch))
