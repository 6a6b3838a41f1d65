# Bad input raises the documented exception (type and the core's message) and loses nothing.
import asyncio

import awaitq


def attempt(label, f, *args, **kwargs):
    try:
        r = f(*args, **kwargs)
        print(label, "->", r)
    except Exception as e:
        print(label, "->", type(e).__name__ + ":", e)


async def attempt_await(label, aw):
    try:
        print(label, "->", await aw)
    except Exception as e:
        print(label, "->", type(e).__name__ + ":", e)


async def main():
    # Configuration: core's ConfigError messages, ValueError; wrong types are TypeError.
    attempt("capacity 0", awaitq.Channel, 0)
    attempt("capacity -1", awaitq.Channel, -1)
    attempt("max_frame 0", awaitq.Channel, 4, 0)
    attempt("max_frame 65537", awaitq.Channel, 4, 65537)
    attempt("huge", awaitq.Channel, 2**62, 64)
    attempt("bigint capacity", awaitq.Channel, 2**100)
    attempt("overflow 'x'", awaitq.Channel, 4, 8, "x")
    attempt("overflow 1", awaitq.Channel, 4, 8, 1)
    attempt("capacity '4'", awaitq.Channel, "4")

    ch = awaitq.Channel(capacity=2, max_frame=4)
    # Payloads: bytes-like only (MicroPython's str has a buffer, but is not bytes-like).
    attempt("send str", ch.send_nowait, "abc")
    attempt("send int", ch.send_nowait, 3)
    attempt("send oversize", ch.send_nowait, b"12345")
    attempt("tag -1", ch.send_nowait, b"a", tag=-1)
    attempt("tag 2**32", ch.send_nowait, b"a", tag=2**32)
    attempt("tag 2**100", ch.send_nowait, b"a", tag=2**100)
    attempt("tag '1'", ch.send_nowait, b"a", tag="1")
    attempt("tag 2**32-1", ch.send_nowait, bytearray(b"ok"), tag=2**32 - 1)
    attempt("send memoryview", ch.send_nowait, memoryview(b"mv"))
    attempt("full", ch.send_nowait, b"c")
    print("stats", ch.stats())
    print("nothing lost:", await ch.recv_tagged(), await ch.recv_tagged())

    # Receive buffers: writable only; too small keeps the frame queued.
    attempt("recv_into bytes", ch.recv_into, b"1234")
    attempt("recv_into str", ch.recv_into, "1234")
    ch.send_nowait(b"abcd")
    await attempt_await("recv_into too small", ch.recv_into(bytearray(3)))
    print("frame kept:", len(ch), await ch.recv())
    attempt("recv_many 0", ch.recv_many, 0)
    attempt("recv_many '2'", ch.recv_many, "2")

    # A second receiver while one waits: RuntimeError (core RecvError::Busy), no frame taken.
    first = asyncio.create_task(ch.recv())
    await asyncio.sleep_ms(0)  # let it park
    await attempt_await("second waiter", ch.recv())
    ch.send_nowait(b"1st")
    print("first waiter got:", await first)

    # Resuming a finished awaitable: RuntimeError (core Step::Exhausted).
    aw = ch.recv_into(bytearray(4))
    ch.send_nowait(b"x")
    print("first await:", await aw)
    await attempt_await("second await", aw)

    # Two tasks awaiting one awaitable object: the second is refused, the first still works.
    aw = ch.recv()
    t1 = asyncio.create_task(aw)
    await asyncio.sleep_ms(0)
    try:
        await aw
    except RuntimeError as e:
        print("shared awaitable ->", e)
    ch.send_nowait(b"t1")
    print("t1 got:", await t1)

    # Closed: producers get ChannelClosed at once; receivers drain first.
    ch.send_nowait(b"last")
    ch.close()
    attempt("send closed", ch.send_nowait, b"z")
    await attempt_await("await send closed", ch.send(b"z"))
    print("drain:", await ch.recv(), ch.closed)
    await attempt_await("recv closed", ch.recv())
    attempt("try_recv closed", ch.try_recv)
    print("is an Error:", issubclass(awaitq.ChannelClosed, awaitq.Error), issubclass(awaitq.ChannelFull, awaitq.Error))


def outside_asyncio():
    # Driving an awaitable with no running asyncio task (a hand-written scheduler): it parks
    # and yields itself, for the scheduler to poll; close() leaves no phantom receiver behind.
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()
    print("no running task -> yields itself:", next(aw) is aw)
    aw.close()
    ch.send_nowait(b"ok")
    print("no phantom receiver:", asyncio.run(ch.recv()))


asyncio.run(main())
outside_asyncio()
