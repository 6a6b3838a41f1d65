"""Rust `async fn`s as Python awaitables with no executor (future_into_py): polled from
send(), awaiting Python awaitables inside (py_await), woken from any thread through the same
GIL-free eventfd path as a channel, panics as exceptions."""

import asyncio
import select

import pytest

import awaitq
from awaitq.testing import cont, spawn_producer

from cont_support import Recorder, raise_after, value_after


def test_a_ready_future_returns_without_yielding():
    aw = cont.ready((1, 2))
    assert type(aw) is awaitq.NativeAwaitable
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value == (1, 2)


def test_awaits_python_awaitables_in_turn(run):
    async def main():
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.001, fut.set_result, "f")
        return await cont.await_each([value_after(1, 3), fut, Recorder([None], "r"), value_after(2)])

    assert run(main()) == [1, "f", "r", 2]


def test_yields_and_sends_pass_through_the_future():
    rec = Recorder(["x", "y"], result="z")
    aw = cont.await_each([rec])
    assert aw.send(None) == "x"
    assert aw.send(1) == "y"
    with pytest.raises(StopIteration) as info:
        aw.send(2)
    assert info.value.value == ["z"]
    assert rec.got == [1, 2]


def test_an_error_propagates_out_of_the_future_with_its_traceback(run):
    err = KeyError("inner")
    with pytest.raises(KeyError) as info:
        run(cont.await_each([value_after(0), raise_after(err)]))
    assert info.value is err
    names = []
    tb = info.value.__traceback__
    while tb:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "raise_after" in names
    assert cont.live_futures() == 0


def test_the_future_can_handle_an_error_and_go_on(run):
    tag, exc = run(cont.await_catching(raise_after(OSError("x"))))
    assert tag == "error" and type(exc) is OSError


def test_a_panic_comes_out_as_an_exception(run):
    with pytest.raises(BaseException) as info:
        run(cont.panic_after(value_after(0)))
    assert type(info.value).__name__ == "PanicException"
    assert "future bug" in str(info.value)


def test_two_awaits_at_once_are_refused(run):
    b = value_after(2)
    with pytest.raises(RuntimeError, match="a Rust future can await one Python awaitable at a time"):
        run(cont.join_two(value_after(1), b))
    b.close()


def test_py_await_outside_awaitq_is_refused():
    async def never():
        pass

    coro = never()
    text = cont.poll_outside(coro)
    coro.close()
    assert text == "RuntimeError: a Python awaitable can only be awaited inside a Rust future that awaitq runs"


def test_a_wake_during_the_poll_polls_again_without_yielding():
    aw = cont.yield_now(1000)
    with pytest.raises(StopIteration) as info:
        aw.send(None)  # 1000 self-wakes, not one yield to the driver
    assert info.value.value == 1000


def test_woken_from_native_threads(run):
    async def main():
        sig = cont.Signal()
        got = []
        for i in range(200):
            sig.set_later(0)  # a native thread, no GIL
            got.append(await cont.wait_signal(sig, i))
        return got

    assert run(main()) == list(range(200))
    assert cont.live_futures() == 0


def test_many_parked_futures_woken_in_any_order(run):
    async def main():
        sigs = [cont.Signal() for _ in range(50)]
        tasks = [asyncio.ensure_future(cont.wait_signal(s, i, times=3)) for i, s in enumerate(sigs)]
        await asyncio.sleep(0)
        for _ in range(3):
            for s in reversed(sigs):
                s.set_later(0.0005)
            await asyncio.sleep(0.005)
        return await asyncio.gather(*tasks)

    assert run(main()) == list(range(50))


def test_a_wake_that_came_before_the_park_is_not_lost(run):
    async def main():
        sig = cont.Signal()
        sig.set()
        return await cont.wait_signal(sig, "early")

    assert run(main()) == "early"


def test_a_future_and_a_channel_awaited_together(run):
    ch = awaitq.Channel(capacity=8, max_frame=8)

    async def main():
        spawn_producer(ch, 50, size=4, close=True)
        return await cont.await_each([ch.recv() for _ in range(50)])

    got = run(main())
    assert [int.from_bytes(p, "little") for p in got] == list(range(50))


def test_outside_an_event_loop_it_yields_a_wait_handle():
    sig = cont.Signal()
    aw = cont.wait_signal(sig, "done", times=2)
    for _ in range(2):
        handle = aw.send(None)
        assert isinstance(handle, awaitq.WaitHandle)
        assert select.select([handle], [], [], 0)[0] == []  # no busy polling: not readable yet
        sig.set_later(0.001)
        assert select.select([handle], [], [], 5)[0] == [handle]
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value == "done"
