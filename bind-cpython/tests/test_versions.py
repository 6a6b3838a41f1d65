"""What differs between CPython versions on the ready path, checked on the version running.

On 3.12 to 3.14 an `await` of a non-generator calls `tp_iternext` (never `am_send`), so a ready
value comes back as a `StopIteration` that awaitq raises itself (`PyErr_SetObject`, no PyO3
error state); 3.10, 3.11 and 3.15 take `am_send`'s `PYGEN_RETURN`. ci/test-interpreters.sh
runs this file on 3.11, 3.13, 3.14 and 3.15. `Channel.recv` is a plain C method
(`METH_NOARGS`) installed on the class, not a PyO3 method.
"""

import inspect
import sys
import weakref

import pytest

import awaitq


def drive(coro):
    """Runs a coroutine that must not suspend; returns its value."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    raise AssertionError("suspended")


def test_await_returns_every_kind_unchanged():
    ch = awaitq.Channel(capacity=16, max_frame=8)

    async def body():
        out = []
        for i in range(3):  # the reused awaitable, each kind in turn
            ch.send_nowait(b"a%d" % i, tag=7)
            out.append(await ch.recv())
            ch.send_nowait(b"b%d" % i, tag=8)
            out.append(await ch.recv_tagged())  # a tuple: not unpacked into the exception
            ch.send_nowait(b"c")
            ch.send_nowait(b"d")
            out.append(await ch.recv_many(5))
            buf = bytearray(8)
            ch.send_nowait(b"xyz")
            out.append((await ch.recv_into(buf), bytes(buf[:3])))
            out.append(await ch.send(b"s"))  # None
            out.append(await ch.__anext__())
        return out

    assert drive(body()) == [b"a0", (8, b"b0"), [b"c", b"d"], (3, b"xyz"), None, b"s",
                             b"a1", (8, b"b1"), [b"c", b"d"], (3, b"xyz"), None, b"s",
                             b"a2", (8, b"b2"), [b"c", b"d"], (3, b"xyz"), None, b"s"]


def test_await_inside_an_except_block_leaves_the_handled_exception_alone():
    ch = awaitq.Channel(capacity=4, max_frame=8)

    async def body():
        try:
            raise KeyError("outer")
        except KeyError as outer:
            ch.send_nowait(b"v")
            v = await ch.recv()
            assert sys.exc_info()[1] is outer
            return v

    assert drive(body()) == b"v"


def test_ready_await_many_times_keeps_refcounts():
    ch = awaitq.Channel(capacity=1024, max_frame=8)
    for _ in range(1000):
        ch.send_nowait(b"01234567")
    frame = None

    async def body():
        nonlocal frame
        for _ in range(1000):
            frame = await ch.recv()

    before = sys.getrefcount(None)
    drive(body())
    assert frame == b"01234567"
    assert abs(sys.getrefcount(None) - before) < 10


def test_recv_is_a_c_method_that_checks_its_arguments():
    ch = awaitq.Channel()
    assert inspect.signature(awaitq.Channel.recv) == inspect.signature(lambda self, /: None)
    assert "next payload" in awaitq.Channel.recv.__doc__
    with pytest.raises(TypeError):
        ch.recv(1)
    with pytest.raises(TypeError):
        awaitq.Channel.recv(object())
    aw = ch.recv()
    assert type(aw) is awaitq.Awaitable
    aw.close()


class Buffer(bytearray):
    """A writable buffer that can be weakly referenced."""


def test_recv_into_releases_its_buffer_at_once():
    # The slots run outside PyO3's trampolines: a reference dropped there as a `Py` would only
    # be queued in PyO3's pool until the next PyO3 call (on 3.15 that kept abandoned tasks
    # alive through a collection). Nothing else touches the module between the steps here.
    ch = awaitq.Channel(capacity=4, max_frame=8)
    ch.send_nowait(b"abc")
    buf = Buffer(8)
    ref = weakref.ref(buf)
    aw = ch.recv_into(buf)
    del buf
    with pytest.raises(StopIteration) as e:
        aw.send(None)
    assert e.value.value == 3
    assert ref() is None, "the buffer outlived the receive"
    buf = Buffer(8)
    ref = weakref.ref(buf)
    aw = ch.recv_into(buf)
    del buf
    aw.close()
    assert ref() is None, "the buffer outlived close()"
