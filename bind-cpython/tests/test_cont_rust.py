"""The Rust API (NativeAwaitable), reached through awaitq.testing.cont, which mirrors its
methods with Python callables as callbacks: multi-step awaits, values, the run-next order of
awaits added by a callback, errors and panics in every position, deferred awaits, async with,
cancel."""

import asyncio

import pytest

import awaitq
from awaitq.testing import cont

from cont_support import raise_after, value_after


def test_multi_step_with_saved_values(run):
    async def main():
        aw = cont.new()
        assert cont.save(aw, "k") == 0

        def first(aw, v):
            cont.save(aw, v)
            cont.add_await(aw, value_after(v * 10), second)

        def second(aw, v):
            cont.set_result(aw, (cont.value(aw, 0), cont.value(aw, 1), v))

        cont.add_await(aw, value_after(4), first)
        return await aw

    assert run(main()) == ("k", 4, 40)


def test_awaits_added_by_a_callback_run_next_in_the_order_added():
    order = []

    def rec(tag):
        return lambda aw, v: order.append(tag)

    aw = cont.new()

    def a_done(aw, v):
        order.append("a")
        cont.add_await(aw, value_after(0, 0), rec("a1"))
        cont.add_await(aw, value_after(0, 0), rec("a2"))

    cont.add_await(aw, value_after(0, 0), a_done)
    cont.add_await(aw, value_after(0, 0), rec("b"))
    with pytest.raises(StopIteration):
        aw.send(None)
    assert order == ["a", "a1", "a2", "b"]


def test_a_result_callback_error_skips_the_error_callback():
    errors = []
    aw = cont.new()

    def bad(aw, v):
        raise ValueError("result callback")

    cont.add_await(aw, value_after(1, 0), bad, lambda aw, e: errors.append(e))
    with pytest.raises(ValueError, match="result callback"):
        aw.send(None)
    assert errors == []


def test_an_error_callback_raising_chains_the_original():
    inner = KeyError("inner")
    aw = cont.new()

    def handler(aw, e):
        raise RuntimeError("handler")

    cont.add_await(aw, raise_after(inner, 0), None, handler)
    with pytest.raises(RuntimeError) as info:
        aw.send(None)
    assert info.value.__context__ is inner


def test_an_error_callback_that_returns_handles_it():
    aw = cont.new()
    cont.add_await(aw, raise_after(KeyError("x"), 0), None, lambda aw, e: cont.set_result(aw, repr(e)))
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value == "KeyError('x')"


def test_a_panicking_callback_raises_and_drops_the_rest():
    queued = value_after(2)
    aw = cont.panic_in_callback(value_after(1, 0))
    cont.add_await(aw, queued)
    with pytest.raises(BaseException) as info:
        aw.send(None)
    assert type(info.value).__name__ == "PanicException"
    assert queued.cr_frame is None  # closed, never awaited
    with pytest.raises(RuntimeError, match="cannot reuse already awaited awaitable"):
        aw.send(None)


def test_a_deferred_decision(run):
    async def main():
        aw = cont.new()
        cont.defer(aw, lambda aw: cont.add_await(aw, value_after("d"), lambda aw, v: cont.set_result(aw, v)))
        return await aw

    assert run(main()) == "d"


def test_a_failing_decision_goes_unhandled():
    aw = cont.new()

    def decide(aw):
        raise LookupError("undecided")

    cont.defer(aw, decide)
    with pytest.raises(LookupError, match="undecided"):
        aw.send(None)


def test_async_with_in_rust(run):
    calls = []

    class CM:
        async def __aenter__(self):
            calls.append("enter")
            return 7

        async def __aexit__(self, *exc):
            calls.append(("exit", exc[0]))

    async def main():
        aw = cont.new()
        cont.save(aw, "kept")

        def body(block, v):
            # The block's values are the outer awaitable's; its result is the outer's.
            assert cont.value(block, 0) == "kept"
            cont.add_await(block, value_after(v + 1), lambda b, r: cont.set_result(b, r))

        cont.async_with(aw, CM(), body)
        return await aw

    assert run(main()) == 8
    assert calls == ["enter", ("exit", None)]


def test_async_with_refuses_a_plain_object():
    with pytest.raises(TypeError, match="asynchronous context manager protocol"):
        cont.async_with(cont.new(), object(), lambda b, v: None)


def test_cancel_inside_a_callback_drops_the_queue():
    later = value_after(3)
    aw = cont.new()

    def first(aw, v):
        cont.set_result(aw, v)
        cont.cancel(aw)

    cont.add_await(aw, value_after(1, 0), first)
    cont.add_await(aw, later)
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value == 1
    assert later.cr_frame is None


def test_set_value_replaces_and_bad_indexes_raise_system_error():
    aw = cont.new()
    cont.save(aw, 1)
    cont.set_value(aw, 0, 2)
    assert cont.value(aw, 0) == 2
    with pytest.raises(SystemError, match="cannot unpack 2 values: only 1 saved"):
        cont.value(aw, 1)
    with pytest.raises(SystemError):
        cont.set_value(aw, 5, 0)


def test_adding_to_a_finished_awaitable_is_refused():
    aw = cont.new()
    with pytest.raises(StopIteration):
        aw.send(None)
    with pytest.raises(RuntimeError, match="awaitable has finished"):
        cont.add_await(aw, 1)
    with pytest.raises(RuntimeError, match="awaitable has finished"):
        cont.set_result(aw, 1)


def test_the_rust_api_refuses_other_objects_and_futures():
    with pytest.raises(TypeError, match="expected an awaitq native awaitable"):
        cont.set_result(object(), 1)
    fut = cont.ready(1)
    with pytest.raises(TypeError, match="expected an awaitq native awaitable"):
        cont.add_await(fut, asyncio.sleep)  # a Rust future decides its own awaits
    with pytest.raises(StopIteration):
        fut.send(None)


def test_the_type_cannot_be_instantiated_from_python():
    with pytest.raises(TypeError):
        awaitq.NativeAwaitable()
    assert cont.NativeAwaitable is awaitq.NativeAwaitable
