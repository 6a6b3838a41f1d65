"""Cancellation goes all the way down: task.cancel() and timeouts are thrown into the awaited
coroutine (its except/finally run), then reach the error callback or the Rust future (which
sees CancelledError, or is dropped while it waits on Rust). Every state, both loops."""

import asyncio
import gc
import warnings

import pytest

from awaitq.testing import cont

from cont_support import aw_ext


class Probe:
    """A coroutine factory that records how it ended."""

    def __init__(self):
        self.events = []

    async def wait(self, tag="inner", seconds=3600):
        self.events.append(("start", tag))
        try:
            await asyncio.sleep(seconds)
            self.events.append(("done", tag))
            return tag
        except asyncio.CancelledError:
            self.events.append(("except", tag))
            raise
        finally:
            self.events.append(("finally", tag))


async def cancel_soon(aw, ticks=2):
    """Runs `aw` in a task, cancels it after `ticks` loop iterations, returns its outcome."""
    task = asyncio.ensure_future(aw)
    for _ in range(ticks):
        await asyncio.sleep(0)
    task.cancel()
    try:
        return "returned", await task
    except asyncio.CancelledError:
        return "cancelled", None


def test_cancel_reaches_the_inner_then_the_error_callback(run):
    p = Probe()
    log = []
    outcome, value = run(cancel_soon(aw_ext().one(p.wait(), "set", "handle", log)))
    assert p.events == [("start", "inner"), ("except", "inner"), ("finally", "inner")]
    # The error callback handled it: the task goes on with the callback's result.
    assert outcome == "returned" and value[0] == "handled"
    assert type(value[1]) is asyncio.CancelledError
    assert log == [("error", value[1])]


def test_cancel_without_an_error_callback_cancels_the_task(run):
    p = Probe()
    outcome, _ = run(cancel_soon(aw_ext().one(p.wait(), "set", "none", [])))
    assert outcome == "cancelled"
    assert p.events[-1] == ("finally", "inner")


def test_a_timeout_is_a_cancel_of_the_inner(run):
    p = Probe()

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aw_ext().await_one(p.wait()), 0.01)

    run(main())
    assert p.events == [("start", "inner"), ("except", "inner"), ("finally", "inner")]


def test_cancel_during_the_second_step_of_a_chain(run):
    p = Probe()

    async def main():
        return await cancel_soon(aw_ext().steps([p.wait("one", 0), p.wait("two")], []), ticks=4)

    assert run(main()) == ("cancelled", None)
    assert p.events == [
        ("start", "one"), ("done", "one"), ("finally", "one"),
        ("start", "two"), ("except", "two"), ("finally", "two"),
    ]


def test_cancel_before_the_awaitable_starts_closes_its_queue(run):
    p = Probe()
    coro = p.wait()

    async def main():
        aw = aw_ext().queued([coro])

        async def never_reached():
            await asyncio.sleep(3600)
            await aw

        task = asyncio.ensure_future(never_reached())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        del aw, task

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        run(main())
        gc.collect()
    assert coro.cr_frame is None and p.events == []


def test_cancel_inside_async_with_reaches_aexit(run):
    p = Probe()
    calls = []

    class CM:
        async def __aenter__(self):
            return "v"

        async def __aexit__(self, typ, exc, tb):
            calls.append(typ)
            return False

    outcome, _ = run(cancel_soon(aw_ext().with_(CM(), lambda v: p.wait(v), [], "none")))
    assert outcome == "cancelled"
    assert calls == [asyncio.CancelledError]
    assert p.events[-1] == ("finally", "v")


def test_native_cancel_of_a_suspended_awaitable_closes_the_inner(run):
    p = Probe()
    log = []

    async def main():
        aw = aw_ext().one(p.wait(), "set", "handle", log)
        task = asyncio.ensure_future(aw)
        await asyncio.sleep(0)
        aw_ext().cancel_now(aw)  # the inner's finally runs now; the task is not woken
        assert p.events[-1] == ("finally", "inner")
        task.cancel()  # waking it is the driver's business; nothing is left to forward to
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert log == []  # the await was given up natively: no callback


def test_native_cancel_then_send_returns_the_result():
    from cont_support import Recorder

    rec = Recorder(["a", "b"])
    aw = aw_ext().one(rec, "set", "handle", [])
    assert aw.send(None) == "a"
    aw_ext().cancel_now(aw)
    assert rec.finally_ran
    with pytest.raises(StopIteration) as info:
        aw.send("ignored")
    assert info.value.value is None


def test_a_rust_future_sees_the_cancellation_of_its_await(run):
    p = Probe()
    outcome, value = run(cancel_soon(cont.await_catching(p.wait())))
    assert p.events == [("start", "inner"), ("except", "inner"), ("finally", "inner")]
    assert outcome == "returned" and value[0] == "error"
    assert type(value[1]) is asyncio.CancelledError
    assert cont.live_futures() == 0


def test_a_rust_future_propagating_the_cancellation_is_dropped(run):
    p = Probe()
    outcome, _ = run(cancel_soon(cont.await_each([p.wait("one", 0), p.wait("two")]), ticks=4))
    assert outcome == "cancelled"
    assert p.events[-2:] == [("except", "two"), ("finally", "two")]
    assert cont.live_futures() == 0


def test_a_rust_future_waiting_on_rust_is_dropped_by_a_cancel(run):
    sig = cont.Signal()

    async def main():
        outcome = await cancel_soon(cont.wait_signal(sig, "never"))
        assert cont.live_futures() == 0
        sig.set()  # a late wake finds nothing to wake
        await asyncio.sleep(0.01)
        return outcome

    assert run(main()) == ("cancelled", None)


def test_close_drops_a_rust_future_and_closes_its_await():
    p = Probe()
    aw = cont.await_each([p.wait()])
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)

        async def step():
            # Drive one step inside the loop, then close from outside it.
            return aw.send(None)

        fut = loop.run_until_complete(step())
        assert isinstance(fut, asyncio.Future)
        assert cont.live_futures() == 1
        aw.close()
        assert p.events[-1] == ("finally", "inner")
        assert cont.live_futures() == 0
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_wakers_kept_after_their_awaitables_are_freed_are_harmless(run):
    # Each Signal keeps the owned Waker of a future that was cancelled and freed; native
    # threads then wake them all. The wakers reach only their shared wake state, never the
    # freed awaitable or future.
    sigs = [cont.Signal() for _ in range(50)]

    async def main():
        outcomes = [await cancel_soon(cont.wait_signal(s, "never")) for s in sigs]
        gc.collect()
        for s in sigs:
            s.set_later(0)
        await asyncio.sleep(0.05)
        return outcomes

    assert run(main()) == [("cancelled", None)] * 50
    assert cont.live_futures() == 0
