# Bad arguments raise the documented type with the shared message, and lose nothing.
import asyncio

import awaitq


def attempt(label, f, *args, **kwargs):
    try:
        print(label, "->", f(*args, **kwargs))
    except Exception as e:
        print(label, "->", type(e).__name__ + ":", e)


async def attempt_await(label, aw):
    try:
        print(label, "->", await aw)
    except Exception as e:
        print(label, "->", type(e).__name__ + ":", e)


async def main():
    attempt("capacity 0", awaitq.Channel, 0)
    attempt("capacity -3", awaitq.Channel, -3)
    attempt("max_frame 0", awaitq.Channel, 4, 0)
    attempt("max_frame 65537", awaitq.Channel, 4, 65537)
    attempt("overflow bad", awaitq.Channel, 4, 8, "drop_newest")
    attempt("overflow int", awaitq.Channel, 4, 8, 1)
    attempt("capacity str", awaitq.Channel, "4")

    ch = awaitq.Channel(capacity=2, max_frame=4)
    ch.send_nowait(b"keep", tag=1)
    attempt("oversize", ch.send_nowait, b"12345")
    attempt("str data", ch.send_nowait, "abc")
    attempt("int data", ch.send_nowait, 5)
    attempt("tag -1", ch.send_nowait, b"x", tag=-1)
    attempt("tag 2**32", ch.send_nowait, b"x", tag=2**32)
    attempt("tag str", ch.send_nowait, b"x", tag="1")
    attempt("recv_into bytes", ch.recv_into, b"1234")
    attempt("recv_many 0", ch.recv_many, 0)
    attempt("recv_many str", ch.recv_many, "2")
    print("kept", len(ch), await ch.recv_tagged())

    ch.send_nowait(b"abcd")
    await attempt_await("recv_into small", ch.recv_into(bytearray(3)))
    print("frame stays", len(ch), await ch.recv())

    # A second receiver while one waits.
    async def first_receiver():
        return await ch.recv()

    t = asyncio.create_task(first_receiver())
    await asyncio.sleep(0)
    await attempt_await("second receiver", ch.recv())
    ch.send_nowait(b"1st")
    print("first receiver got", await t)

    # Awaiting a finished awaitable again.
    ch.send_nowait(b"z")
    aw = ch.recv()
    print("first await", await aw)
    await attempt_await("second await", aw)


asyncio.run(main())
