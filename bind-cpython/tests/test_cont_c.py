"""The native-awaitable C API (ports/include/awaitq_aw.h through the awaitq._C_API capsule),
used by a C extension (tests/cext/aw_ext.c): an async function in C, every callback outcome in
every position, deferred awaits, async with, saved values and API misuse."""

import asyncio
import ctypes
import subprocess
import sysconfig
import warnings

import pytest

import awaitq
from awaitq.testing import spawn_producer

from cont_support import HEADER_DIR, Recorder, aw_ext, generator_based, raise_after, value_after

NO_EXCEPTION = "callback returned -1 without raising an exception"


@pytest.fixture(scope="module")
def ext():
    return aw_ext()


class Conn:
    """A database-like object whose methods are coroutines."""

    def __init__(self):
        self.calls = []

    async def fetch(self, query):
        self.calls.append(("fetch", query))
        await asyncio.sleep(0)
        return [(query, 1), (query, 2)]

    async def count(self, query):
        self.calls.append(("count", query))
        await asyncio.sleep(0)
        return 2


def test_execute_awaits_two_coroutines_and_combines_their_results(ext, run):
    conn = Conn()

    async def main():
        return await ext.execute(conn, "select 1"), await ext.execute(conn, "select 2")

    first, second = run(main())
    assert first == ([("select 1", 1), ("select 1", 2)], 2)
    assert second == ([("select 2", 1), ("select 2", 2)], 2)
    assert conn.calls == [("fetch", "select 1"), ("count", "select 1"), ("fetch", "select 2"), ("count", "select 2")]


def test_execute_runs_concurrently_in_tasks(ext, run):
    async def main():
        conn = Conn()
        return await asyncio.gather(*(ext.execute(conn, f"q{i}") for i in range(50)))

    results = run(main())
    assert results == [([(f"q{i}", 1), (f"q{i}", 2)], 2) for i in range(50)]


def test_the_capsule_is_version_3_and_keeps_its_groups_in_order(ext):
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    addr = get_ptr(awaitq._C_API, b"awaitq._C_API")
    assert ctypes.c_uint32.from_address(addr).value == 3 == awaitq.C_API_VERSION
    # The producer table (version + 5 functions), then the native-awaitable table: its first
    # entry is `new`, which makes an awaitq.NativeAwaitable.
    ptr_size = ctypes.sizeof(ctypes.c_void_p)
    new_fn = ctypes.c_void_p.from_address(addr + 6 * ptr_size).value
    new = ctypes.PYFUNCTYPE(ctypes.py_object)(new_fn)
    assert type(new()) is awaitq.NativeAwaitable
    # Then (version 3) the batch and zero-copy group after the 14 native-awaitable functions:
    # its own version (AWAITQ_EXT_API_VERSION), push_many, reserve, commit, abort.
    ext_at = addr + (6 + 14) * ptr_size
    assert ctypes.c_uint32.from_address(ext_at).value == 1
    fns = [ctypes.c_void_p.from_address(ext_at + k * ptr_size).value for k in range(1, 5)]
    assert all(fns) and len(set(fns)) == 4


@pytest.mark.parametrize("lang", [["-x", "c", "-std=c99", "-pedantic"], ["-x", "c++", "-std=c++11"]])
def test_the_header_compiles_as_c99_and_cxx_under_the_limited_api(tmp_path, lang):
    src = tmp_path / "check.c"
    src.write_text('#include "awaitq_aw.h"\nint check(PyObject *o) { return awaitq_aw_import() + awaitq_aw_check(o); }\n')
    cc = "c++" if "c++" in lang else "cc"
    subprocess.run(
        [cc, *lang, "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-DPy_LIMITED_API=0x030A0000",
         "-I", sysconfig.get_paths()["include"], "-I", str(HEADER_DIR), str(src)],
        check=True,
    )


RESULT_MODES = ["set", "raise", "noexc", "drop", "cancel"]
ERROR_MODES = ["handle", "raise", "decline", "reraise", "none"]


@pytest.mark.parametrize("rm", RESULT_MODES)
@pytest.mark.parametrize("em", ERROR_MODES)
def test_a_returning_await_goes_to_the_result_callback_only(ext, rm, em):
    log = []

    async def main():
        return await ext.one(value_after(1), rm, em, log)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the "cancel" mode's dropped coroutine
        if rm == "raise":
            with pytest.raises(ValueError, match="raised by the result callback"):
                asyncio.run(main())
        elif rm == "noexc":
            with pytest.raises(SystemError, match=NO_EXCEPTION):
                asyncio.run(main())
        else:
            assert asyncio.run(main()) == (None if rm == "drop" else 1)
    # The error callback never saw the result callback's failure (try / except / else).
    assert log == ([] if rm == "drop" else [("result", 1)])


@pytest.mark.parametrize("rm", RESULT_MODES)
@pytest.mark.parametrize("em", ERROR_MODES)
def test_a_raising_await_goes_to_the_error_callback_only(ext, rm, em):
    log = []
    inner = ValueError("inner")

    async def main():
        return await ext.one(raise_after(inner), rm, em, log)

    if em == "handle":
        assert asyncio.run(main()) == ("handled", inner)
    else:
        with pytest.raises(BaseException) as info:
            asyncio.run(main())
        if em == "raise":
            assert type(info.value) is KeyError
            assert info.value.__context__ is inner
        else:  # declined, re-raised, or no error callback: the original, unchained
            assert info.value is inner
            assert inner.__context__ is None
        # Its traceback still shows where the coroutine raised.
        tb = inner.__traceback__
        names = []
        while tb is not None:
            names.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert "raise_after" in names
    assert log == ([] if em == "none" else [("error", inner)])


@pytest.mark.parametrize(
    "make",
    [
        lambda: value_after("v"),
        lambda: generator_based("v"),
        lambda: Recorder([None], result="v"),
        "future",
    ],
    ids=["coroutine", "generator-based", "__await__", "asyncio-future"],
)
def test_every_kind_of_awaitable(ext, run, make):
    async def main():
        if make == "future":
            fut = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(fut.set_result, "v")
            return await ext.await_one(fut)
        return await ext.await_one(make())

    assert run(main()) == "v"


def test_a_channel_receive_fed_by_a_native_thread(ext, run):
    ch = awaitq.Channel(capacity=4, max_frame=8)

    async def main():
        spawn_producer(ch, 100, size=4, close=True)
        return await ext.steps([ch.recv() for _ in range(100)], [])

    got = run(main())
    assert [int.from_bytes(p, "little") for p in got] == list(range(100))


def test_not_awaitable_goes_to_the_error_callback(ext):
    log = []

    class BadAwait:
        def __await__(self):
            return 42  # not an iterator

    async def main():
        return (await ext.one(3, "set", "handle", log), await ext.one(BadAwait(), "set", "handle", log))

    (tag1, e1), (tag2, e2) = asyncio.run(main())
    assert type(e1) is TypeError and str(e1) == "object can't be used in 'await' expression"
    assert type(e2) is TypeError and "__await__() returned non-iterator" in str(e2)


def test_multi_step_awaits_carry_values_between_steps(ext, run):
    async def main():
        return await ext.steps([value_after(i, ticks=i % 3) for i in range(200)], [])

    assert run(main()) == list(range(200))


def test_a_failing_step_stops_the_chain_and_closes_what_is_queued(ext):
    closed = []

    async def tracked(i):
        try:
            await asyncio.sleep(0)
            return i
        finally:
            closed.append(i)

    inner = LookupError("step 2")
    awaitables = [tracked(0), tracked(1), raise_after(inner), tracked(3)]

    async def main():
        return await ext.queued(awaitables)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(LookupError) as info:
            asyncio.run(main())
    assert info.value is inner
    assert closed == [0, 1]  # tracked(3) never started: closed unstarted, no warning
    assert awaitables[3].cr_frame is None


def test_a_deferred_await_is_decided_when_reached(ext):
    log = []
    order = []

    async def first():
        order.append("first")
        return "ignored"

    def factory():
        order.append("factory")
        return value_after("decided")

    assert asyncio.run(ext.deferred(first(), factory, log)) == "decided"
    assert order == ["first", "factory"]
    assert log == ["decide", ("result", "decided")]


def test_a_failing_decision_raises(ext):
    def factory():
        raise OSError("no decision")

    with pytest.raises(OSError, match="no decision"):
        asyncio.run(ext.deferred(value_after(0), factory, []))


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
        self.calls.append(("exit", typ, exc))
        if self.exit_error:
            raise self.exit_error
        return self.suppress


def test_async_with_enters_runs_the_block_and_exits(ext, run):
    cm = CM()
    log = []
    assert run(ext.with_(cm, lambda v: value_after(v + "!"), log, "none")) == "value!"
    assert cm.calls == ["enter", ("exit", None, None)]
    assert log == [("body", "value"), ("result", "value!")]


def test_async_with_block_error_reaches_aexit_then_the_error_callback(ext):
    cm = CM()
    body_error = ValueError("in the block")
    log = []
    tag, seen = asyncio.run(ext.with_(cm, lambda v: raise_after(body_error), log, "handle"))
    assert (tag, seen) == ("handled", body_error)
    assert cm.calls[1][1:] == (ValueError, body_error)


def test_async_with_a_true_aexit_suppresses_the_block_error(ext):
    cm = CM(suppress=True)
    log = []
    assert asyncio.run(ext.with_(cm, lambda v: raise_after(ValueError("x")), log, "none")) is None
    assert cm.calls[0] == "enter" and cm.calls[1][1] is ValueError


def test_async_with_enter_error_skips_aexit(ext):
    cm = CM(enter_error=KeyError("enter"))
    with pytest.raises(KeyError, match="enter"):
        asyncio.run(ext.with_(cm, lambda v: value_after(v), [], "none"))
    assert cm.calls == ["enter"]


def test_async_with_exit_error_chains_the_block_error(ext):
    body_error = ValueError("in the block")
    exit_error = RuntimeError("in aexit")
    cm = CM(exit_error=exit_error)
    with pytest.raises(RuntimeError) as info:
        asyncio.run(ext.with_(cm, lambda v: raise_after(body_error), [], "none"))
    assert info.value is exit_error
    assert exit_error.__context__ is body_error


def test_async_with_a_failing_body_callback_still_exits(ext):
    cm = CM()

    def body(v):
        raise ZeroDivisionError("body callback")

    with pytest.raises(ZeroDivisionError):
        asyncio.run(ext.with_(cm, body, [], "none"))
    assert cm.calls[1][1] is ZeroDivisionError


def test_async_with_needs_an_async_context_manager(ext):
    e = ext.misuse("not_cm", object())
    assert type(e) is TypeError
    assert str(e) == "object does not support the asynchronous context manager protocol"


def test_cancel_on_a_fresh_awaitable_closes_the_queue(ext):
    coro = value_after(1)
    aw = ext.queued([coro])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ext.cancel_now(aw)
    assert coro.cr_frame is None  # closed
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value is None


@pytest.mark.parametrize(
    "what, exc_type, text",
    [
        ("null_aw", SystemError, "NULL argument to an awaitq C API function"),
        ("null_awaitable", SystemError, "NULL argument to an awaitq C API function"),
        ("save_null_item", SystemError, "NULL argument to an awaitq C API function"),
        ("defer_null", SystemError, "NULL argument to an awaitq C API function"),
        ("unpack_too_many", SystemError, "cannot unpack 2 values: only 1 saved"),
        ("get_value_range", SystemError, "cannot unpack 3 values: only 0 saved"),
        ("raise_type", LookupError, ""),
    ],
)
def test_misuse_raises_and_changes_nothing(ext, what, exc_type, text):
    e = ext.misuse(what)
    assert type(e) is exc_type and str(e) == text


def test_wrong_object_and_finished_awaitables_are_refused(ext):
    e = ext.misuse("wrong_type", 3)
    assert type(e) is TypeError and str(e) == "expected an awaitq native awaitable"
    done = ext.ready(1)
    with pytest.raises(StopIteration):
        done.send(None)
    for what in ("add_after_finish", "result_after_finish"):
        e = ext.misuse(what, done)
        assert type(e) is RuntimeError and str(e) == "awaitable has finished: nothing more can be added"


def test_saved_values_pointers_and_check(ext):
    # set_value(0, 2) replaced the first; pointers round-trip; check() tells the type apart.
    assert ext.values() == (2, 2, 1, 1, 0)


def test_ready_returns_its_value_without_yielding(ext):
    aw = ext.ready((1, 2))
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value == (1, 2)  # a tuple is not unpacked into StopIteration's args
