"""The coroutine protocol of native awaitables: a transparent `yield from` while an inner
awaitable runs (its yields go up, send()/throw() come down), the refusals (first send not
None, re-entry, reuse), close() and garbage collection of a suspended one, and long chains."""

import asyncio
import gc
import warnings

import pytest

import awaitq
from awaitq.testing import cont

from cont_support import Recorder, aw_ext, generator_based, value_after

NOT_NONE = "can't send non-None value to a just-started awaitable"
RUNNING = "awaitable already executing"
EXHAUSTED = "cannot reuse already awaited awaitable"


def finish(aw, value=None):
    with pytest.raises(StopIteration) as info:
        aw.send(value)
    return info.value.value


@pytest.mark.parametrize("make", [cont.await_one, lambda a: aw_ext().await_one(a)], ids=["rust", "c"])
def test_yields_pass_up_and_sends_pass_down(make):
    rec = Recorder(["a", "b", "c"], result="r")
    aw = make(rec)
    assert type(aw) is awaitq.NativeAwaitable
    assert aw.send(None) == "a"
    assert aw.send(1) == "b"
    assert next(aw) == "c"  # __next__ sends None
    assert finish(aw, 3) == "r"
    assert rec.got == [1, None, 3]
    assert rec.finally_ran


def test_a_throw_goes_into_the_inner_first():
    rec = Recorder(["a", "b"])
    aw = cont.await_one(rec)
    assert aw.send(None) == "a"
    with pytest.raises(KeyError):
        aw.throw(KeyError("k"))
    assert rec.got == [("thrown", "KeyError")]
    assert rec.finally_ran
    with pytest.raises(RuntimeError, match=EXHAUSTED):
        aw.send(None)


def test_an_inner_that_catches_a_throw_and_returns():
    class Catching:
        def __await__(self):
            try:
                yield "waiting"
            except ValueError as e:
                return f"caught {e}"

    aw = cont.await_one(Catching())
    assert aw.send(None) == "waiting"
    with pytest.raises(StopIteration) as info:
        aw.throw(ValueError("v"))
    assert info.value.value == "caught v"


def test_an_inner_that_catches_a_throw_and_yields_again():
    class Stubborn:
        def __await__(self):
            while True:
                try:
                    return (yield "again")
                except ValueError:
                    continue

    aw = cont.await_one(Stubborn())
    assert aw.send(None) == "again"
    assert aw.throw(ValueError) == "again"
    assert aw.throw(ValueError, ValueError("x"), None) == "again"  # the 3-argument form
    assert finish(aw, "last") == "last"


def test_an_inner_without_throw_gets_nothing_and_the_error_surfaces():
    class PlainIter:
        def __init__(self):
            self.calls = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.calls += 1
            return "tick"

        def __await__(self):
            return self

    inner = PlainIter()
    aw = cont.await_one(inner)
    assert aw.send(None) == "tick"
    with pytest.raises(OSError):
        aw.throw(OSError("x"))
    assert inner.calls == 1


def test_bad_throw_arguments_change_nothing():
    rec = Recorder(["a", "b"])
    aw = cont.await_one(rec)
    aw.send(None)
    with pytest.raises(TypeError):
        aw.throw(3)
    with pytest.raises(TypeError):
        aw.throw(ValueError("x"), "value")
    assert aw.send(1) == "b"
    assert rec.got == [1]


def test_close_while_suspended_runs_the_inner_finally_and_no_callback():
    rec = Recorder(["a", "b"])
    log = []
    aw = aw_ext().one(rec, "set", "handle", log)
    assert aw.send(None) == "a"
    assert aw.close() is None
    assert rec.finally_ran
    assert log == []  # close runs no callback
    with pytest.raises(RuntimeError, match=EXHAUSTED):
        aw.send(None)
    assert aw.close() is None  # closing again: nothing
    with pytest.raises(ZeroDivisionError):
        aw.throw(ZeroDivisionError)  # a finished awaitable raises what is thrown


def test_close_of_an_inner_that_refuses_to_close_raises_from_close():
    class Refuses:
        def __await__(self):
            try:
                yield "a"
            except GeneratorExit:
                yield "not closing"

    aw = cont.await_one(Refuses())
    aw.send(None)
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        aw.close()
    with pytest.raises(RuntimeError, match=EXHAUSTED):
        aw.send(None)


def test_close_of_a_fresh_awaitable_closes_queued_coroutines_silently():
    coros = [value_after(i) for i in range(3)]
    aw = aw_ext().queued(coros)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        aw.close()
        gc.collect()
    assert all(c.cr_frame is None for c in coros)


def test_the_first_send_must_be_none():
    aw = cont.await_one(Recorder(["a"]))
    with pytest.raises(TypeError, match=NOT_NONE):
        aw.send(1)
    assert aw.send(None) == "a"  # nothing changed


def test_resuming_from_its_own_callback_is_refused():
    aw = cont.new()
    seen = []

    def on_result(a, v):
        try:
            a.send(None)
        except ValueError as e:
            seen.append(str(e))
        cont.set_result(a, v)

    cont.add_await(aw, value_after(5, ticks=0), on_result)
    assert finish(aw) == 5
    assert seen == [RUNNING]


def test_resuming_from_the_inner_is_refused():
    holder = []

    class Evil:
        def __await__(self):
            try:
                holder[0].send(None)
            except ValueError as e:
                return str(e)
            yield

    aw = cont.await_one(Evil())
    holder.append(aw)
    assert finish(aw) == RUNNING


def test_awaiting_twice_is_refused():
    aw = cont.await_one(value_after(1, ticks=0))

    async def main():
        first = await aw
        with pytest.raises(RuntimeError, match=EXHAUSTED):
            await aw
        return first

    assert asyncio.run(main()) == 1


def test_works_with_yield_from_in_a_generator_based_coroutine():
    def legacy():
        return (yield from cont.await_one(generator_based("g")))

    g = legacy()
    assert g.send(None) is None  # generator_based's bare yield
    with pytest.raises(StopIteration) as info:
        g.send(None)
    assert info.value.value == "g"


def test_100_000_chained_awaits_use_no_recursion():
    n = 100_000
    assert finish(cont.chain([value_after(i, ticks=0) for i in range(n)])) == list(range(n))
    assert finish(aw_ext().steps((value_after(i, ticks=0) for i in range(n)), [])) == list(range(n))


def test_a_dropped_suspended_awaitable_runs_the_inner_finally():
    rec = Recorder(["a", "b"])
    aw = cont.await_one(rec)
    aw.send(None)
    del aw
    assert rec.finally_ran


def test_a_suspended_awaitable_in_a_cycle_is_collected_and_closes_its_inner():
    rec = Recorder(["a", "b"])
    aw = cont.await_one(rec)
    cont.save(aw, aw)  # the awaitable keeps itself: only the GC can free it
    rec.keep = aw  # and the inner keeps it too
    aw.send(None)
    del aw, rec.keep
    gc.collect()
    assert rec.finally_ran


def test_a_finaliser_error_is_reported_as_unraisable():
    class Refuses:
        def __await__(self):
            try:
                yield "a"
            except GeneratorExit:
                yield "not closing"

    aw = cont.await_one(Refuses())
    aw.send(None)
    seen = []
    import sys

    old, sys.unraisablehook = sys.unraisablehook, lambda u: seen.append(u.exc_type)
    try:
        del aw
        gc.collect()
    finally:
        sys.unraisablehook = old
    assert seen == [RuntimeError]
