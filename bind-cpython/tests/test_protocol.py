"""The awaitable's coroutine protocol, driven by hand: am_send, __next__, send/throw/close,
exhaustion, reuse, tracers, and what it yields (a real Future in a loop, a fileno() handle
outside one, never None)."""

import asyncio
import ctypes
import gc
import select
import sys
import weakref

import pytest

import awaitq

PYGEN_RETURN, PYGEN_NEXT = 0, 1

_iter_send = ctypes.pythonapi.PyIter_Send
_iter_send.argtypes = [ctypes.py_object, ctypes.py_object, ctypes.POINTER(ctypes.py_object)]
_iter_send.restype = ctypes.c_int


def am_send(aw):
    """Calls PyIter_Send (our am_send slot) like CPython's SEND opcode does."""
    out = ctypes.py_object()
    status = _iter_send(aw, None, ctypes.byref(out))  # raises on PYGEN_ERROR
    return status, out.value


def test_am_send_returns_a_ready_frame_without_stopiteration():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    ch.send_nowait(b"abc", tag=4)
    aw = ch.recv_tagged()
    assert aw.__await__() is aw and iter(aw) is aw
    assert am_send(aw) == (PYGEN_RETURN, (4, b"abc"))
    assert sys.exc_info() == (None, None, None)


def test_am_send_yields_a_handle_when_empty_outside_a_loop():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()
    status, handle = am_send(aw)
    assert status == PYGEN_NEXT
    assert isinstance(handle, awaitq.WaitHandle) and handle is not None
    assert select.select([handle], [], [], 0)[0] == []
    ch.send_nowait(b"x")
    assert select.select([handle], [], [], 0)[0] == [handle]
    assert am_send(aw) == (PYGEN_RETURN, b"x")
    assert select.select([handle], [], [], 0)[0] == [], "the signal was consumed"


def test_next_raises_stopiteration_with_the_value_not_unpacked():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    ch.send_nowait(b"ab", tag=9)
    with pytest.raises(StopIteration) as e:
        next(ch.recv_tagged())
    assert e.value.value == (9, b"ab")
    ch.send_nowait(b"cd")
    with pytest.raises(StopIteration) as e:
        ch.recv().send("ignored")
    assert e.value.value == b"cd"


def test_exhausted_awaitable_raises_runtime_error():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    ch.send_nowait(b"a")
    aw = ch.recv()
    with pytest.raises(StopIteration):
        aw.send(None)
    with pytest.raises(RuntimeError, match="cannot reuse an already awaited awaitable"):
        aw.send(None)
    with pytest.raises(RuntimeError, match="cannot reuse"):
        next(aw)
    with pytest.raises(RuntimeError, match="cannot reuse"):
        am_send(aw)  # PYGEN_ERROR with the exception set (ctypes raises it)


def test_awaiting_the_same_awaitable_twice(run):
    ch = awaitq.Channel(capacity=2, max_frame=4)

    async def main():
        ch.send_nowait(b"a")
        aw = ch.recv()
        assert await aw == b"a"
        with pytest.raises(RuntimeError, match="cannot reuse"):
            await aw

    run(main())


@pytest.mark.parametrize("throw_args", [
    (KeyError("k"),),
    (KeyError,),
    (KeyError, "k"),
    (KeyError, KeyError("k")),
    (KeyError, "k", None),
])
def test_throw_while_parked_unparks_and_reraises(throw_args):
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()
    aw.send(None)  # parked
    with pytest.raises(KeyError):
        aw.throw(*throw_args)
    # Finished: the channel is free for another receiver and nothing was consumed.
    ch.send_nowait(b"x")
    other = ch.recv_tagged()
    with pytest.raises(StopIteration) as e:
        other.send(None)
    assert e.value.value == (0, b"x")
    with pytest.raises(RuntimeError, match="cannot reuse"):
        aw.send(None)


def test_throw_with_a_traceback():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    try:
        raise ValueError("with tb")
    except ValueError as e:
        exc, tb = e, e.__traceback__
    aw = ch.recv()
    aw.send(None)
    with pytest.raises(ValueError, match="with tb") as info:
        aw.throw(ValueError, exc, tb)
    assert info.value.__traceback__ is not None


def test_throw_with_bad_arguments_does_not_cancel():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()
    aw.send(None)
    with pytest.raises(TypeError, match="exceptions must be classes or instances"):
        aw.throw(1)
    with pytest.raises(TypeError):
        aw.throw()
    with pytest.raises(TypeError, match="instance exception may not have a separate value"):
        aw.throw(KeyError("a"), "b")
    with pytest.raises(RuntimeError, match="another receiver"):
        ch.recv_tagged().send(None)  # still parked
    ch.send_nowait(b"y")
    with pytest.raises(StopIteration) as e:
        aw.send(None)
    assert e.value.value == b"y"


def test_close_while_parked_unparks_and_consumes_nothing():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()
    aw.send(None)
    assert aw.close() is None
    assert aw.close() is None  # idempotent
    ch.send_nowait(b"kept")
    assert ch.try_recv() == b"kept"
    with pytest.raises(RuntimeError, match="cannot reuse"):
        aw.send(None)


def test_close_and_throw_on_a_fresh_awaitable():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    ch.send_nowait(b"a")
    ch.recv().close()
    with pytest.raises(KeyError):
        ch.recv().throw(KeyError)
    assert ch.try_recv() == b"a"


def test_a_finished_awaitable_is_reused_when_nobody_holds_it():
    ch = awaitq.Channel(capacity=4, max_frame=4)
    ch.send_nowait(b"a")
    aw = ch.recv()
    with pytest.raises(StopIteration):
        aw.send(None)
    first = id(aw)
    del aw  # the channel's cache keeps it alive, so its id cannot be taken by another object
    again = ch.recv_tagged()
    assert id(again) == first
    other = ch.recv()
    assert other is not again, "an awaitable someone holds is never handed out again"
    ch.send_nowait(b"b", tag=1)
    with pytest.raises(StopIteration) as e:
        again.send(None)
    assert e.value.value == (1, b"b"), "the reused object performs the new kind"


def test_dropping_a_parked_awaitable_unparks_the_channel():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv_tagged()
    aw.send(None)
    del aw  # deallocated while parked, without close()
    other = ch.recv()
    other.send(None)  # would be Busy if the drop had left the channel parked
    ch.send_nowait(b"z")
    with pytest.raises(StopIteration):
        other.send(None)


def test_a_coroutine_driven_by_hand():
    ch = awaitq.Channel(capacity=2, max_frame=4)

    async def consumer():
        return [await ch.recv(), await ch.recv_tagged()]

    coro = consumer()
    handle = coro.send(None)
    assert isinstance(handle, awaitq.WaitHandle)
    ch.send_nowait(b"a")
    handle2 = coro.send(None)
    assert handle2 is handle, "one descriptor per channel, not per receive"
    ch.send_nowait(b"b", tag=2)
    with pytest.raises(StopIteration) as e:
        coro.send(None)
    assert e.value.value == [b"a", (2, b"b")]


def test_coroutine_close_and_throw_reach_the_awaitable():
    ch = awaitq.Channel(capacity=2, max_frame=4)

    async def consumer():
        return await ch.recv()

    coro = consumer()
    coro.send(None)
    coro.close()  # GeneratorExit path: our close()
    coro = consumer()
    coro.send(None)  # would be Busy if close() had not unparked
    with pytest.raises(KeyError):
        coro.throw(KeyError)
    ch.send_nowait(b"k")
    assert ch.try_recv() == b"k"


def test_in_a_loop_it_yields_a_blocking_future(run):
    ch = awaitq.Channel(capacity=2, max_frame=4)

    async def main():
        aw = ch.recv()
        fut = aw.send(None)
        assert isinstance(fut, asyncio.Future)
        assert fut._asyncio_future_blocking is True
        assert fut.get_loop() is asyncio.get_running_loop()
        assert not fut.done()
        ch.producer().push(b"w")
        await asyncio.wait_for(asyncio.shield(fut), 5)  # completed by the loop's reader
        with pytest.raises(StopIteration) as e:
            aw.send(None)
        return e.value.value

    assert run(main()) == b"w"


def test_works_under_a_tracer(run):
    ch = awaitq.Channel(capacity=4, max_frame=4)
    events = []

    def tracer(frame, event, arg):
        events.append(event)
        return tracer

    async def main():
        ch.send_nowait(b"r")
        ready = await ch.recv()
        task = asyncio.ensure_future(ch.recv_tagged())
        await asyncio.sleep(0)
        ch.producer().push(b"p", tag=1)
        parked = await task
        ch.close()
        rest = [d async for d in ch]
        return ready, parked, rest

    sys.settrace(tracer)
    try:
        result = run(main())
    finally:
        sys.settrace(None)
    assert result == (b"r", (1, b"p"), [])
    assert events, "the tracer was active"


def test_an_abandoned_parked_task_is_collected_and_unparks(loop_factory):
    ch = awaitq.Channel(capacity=2, max_frame=4)
    loop = loop_factory()

    async def consumer():
        return await ch.recv()

    task = loop.create_task(consumer())
    loop.run_until_complete(asyncio.sleep(0.0))
    assert not task.done()
    ref = weakref.ref(task)
    loop.close()
    del task
    gc.collect()
    assert ref() is None, "the parked task (and its future) were not leaked"
    aw = ch.recv_tagged()
    aw.send(None)  # not Busy: the dead task's receive was closed
    aw.close()


def test_a_second_task_awaiting_the_same_awaitable_is_refused(run):
    ch = awaitq.Channel(capacity=2, max_frame=4)

    async def waiter(aw):
        return await aw

    async def main():
        aw = ch.recv()
        first = asyncio.ensure_future(waiter(aw))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="another task is awaiting this awaitable"):
            await aw
        ch.producer().push(b"one")
        return await first

    assert run(main()) == b"one"


def test_ready_receives_reuse_one_awaitable(run):
    ch = awaitq.Channel(capacity=2000, max_frame=4)
    for i in range(2000):
        ch.send_nowait(bytes([i & 0xFF]))

    async def main():
        ids = set()
        for _ in range(1000):
            aw = ch.recv()
            ids.add(id(aw))  # the cache keeps it alive, so its id stays its own
            await aw
            del aw
        async for _ in ch:
            if len(ch) == 0:
                break
        return ids

    ids = run(main())
    assert len(ids) == 1, "one reusable object"
