"""The faults of issue 15 (a hostile test round) and the fault injection that keeps them found.

Allocation failure: `_testcapi.set_nomemory(k, k + 1)` makes exactly the k-th Python
allocation from now fail. `walk` runs an operation once for every k until one run sees no
failure, so every allocation on the receive, send, close and native-awaitable paths fails
once; after each run it checks: nothing lost, nothing duplicated, the exception is
`MemoryError` (never `PanicException`, a BaseException that `except Exception` misses), and
the channel still works.
"""

import asyncio
import gc
import sys

import pytest

# Known gap, CPython 3.12 to 3.14 only: there `await` reaches a non-generator awaitable through
# tp_iternext, so a completed receive hands its value over by raising StopIteration(value),
# which allocates *after* the frame left the channel and its staging; when that allocation
# fails the frame is lost. (3.11 and 3.15 take am_send, which returns the value without
# allocating.) strict: the day the hand-over is fixed, these start passing and must be unmarked.
STOPITERATION_HANDOVER_GAP = pytest.mark.xfail(
    (3, 12) <= sys.version_info[:2] < (3, 15),
    reason="3.12-3.14: the StopIteration that carries the value is allocated after the frame "
    "was taken (known gap, bind-cpython/README.md)",
    strict=True,
)


import awaitq

_testcapi = pytest.importorskip("_testcapi")  # CPython's own test helpers (in CI's python3)

# At least 2 bytes each: CPython returns its cached object for a 1-byte bytes without
# allocating, so a 1-byte first frame would leave a receive nothing to fail.
FRAMES = [bytes([k]) * (2 + 5 * k) for k in range(6)]


def filled(capacity=8, max_frame=64, frames=FRAMES):
    ch = awaitq.Channel(capacity=capacity, max_frame=max_frame)
    for k, f in enumerate(frames):
        ch.send_nowait(f, tag=k)
    return ch


def drain(ch):
    out = []
    while (f := ch.try_recv()) is not None:
        out.append(f)
    return out


def run_failing(k, fn):
    """Runs fn() with the k-th allocation failing; returns (result, exception or None, hit)."""
    gc.collect()
    exc = result = None
    _testcapi.set_nomemory(k, k + 1)
    try:
        result = fn()
    except BaseException as e:  # noqa: BLE001 - PanicException is what we look for
        exc = e
    finally:
        _testcapi.remove_mem_hooks()
    return result, exc


def walk(setup, op, delivered, max_k=400, also=()):
    """For k = 0, 1, ...: a fresh channel from setup(), op(ch) with the k-th allocation
    failing, then the frames `delivered(result)` plus what is still queued must be exactly
    the frames queued at the start. Stops after 20 runs in a row that saw no failure."""
    clean = 0
    failures = 0
    for k in range(max_k):
        ch, queued = setup()
        result, exc = run_failing(k, lambda: op(ch))
        if exc is not None:
            assert isinstance(exc, (MemoryError, *also)), f"k={k}: {type(exc).__name__}: {exc}"
            failures += 1
            clean = 0
            # The failure may come after the await completed (the test's own coroutine
            # returning): what it stored was delivered.
            late = getattr(op, "cell", [None])[0]
            got = [] if late is None else delivered(late)
        else:
            got = delivered(result)
            clean += 1
        rest = drain(ch)
        assert got + rest == queued, f"k={k}: lost or duplicated (exc={exc!r})"
        # still usable
        ch.send_nowait(b"after")
        assert ch.try_recv() == b"after"
        if clean >= 20:
            return failures
    raise AssertionError("the operation kept failing")


def drive(aw_fn):
    """Drives a coroutine that stores the awaited value in a preallocated cell (so the
    test's own bookkeeping allocates nothing after the frame is taken)."""
    cell = [None]

    async def body(ch):
        cell[0] = await aw_fn(ch)

    def op(ch):
        cell[0] = None
        coro = body(ch)
        try:
            coro.send(None)
        except StopIteration:
            pass
        else:
            coro.close()
            raise AssertionError("parked on a ready channel")
        return cell[0]

    op.cell = cell
    return op


def setup_frames():
    return filled(), list(FRAMES)


@STOPITERATION_HANDOVER_GAP
@pytest.mark.parametrize(
    "name,aw_fn,delivered",
    [
        ("recv", lambda ch: ch.recv(), lambda r: [r]),
        ("recv_tagged", lambda ch: ch.recv_tagged(), lambda r: [r[1]]),
        ("recv_many", lambda ch: ch.recv_many(4), lambda r: list(r)),
        ("anext", lambda ch: ch.__anext__(), lambda r: [r]),
    ],
)
def test_allocation_failure_on_a_receive_loses_nothing(name, aw_fn, delivered):
    failures = walk(setup_frames, drive(aw_fn), delivered)
    assert failures > 0, "no allocation was made to fail: the walk tests nothing"


def test_allocation_failure_on_try_recv_loses_nothing():
    failures = walk(setup_frames, lambda ch: ch.try_recv(), lambda r: [r])
    assert failures > 0


@STOPITERATION_HANDOVER_GAP
def test_allocation_failure_on_recv_into_loses_nothing():
    buf = bytearray(512)

    async def body(ch, cell):
        cell[0] = await ch.recv_into(buf)

    cell = [None]

    def op(ch):
        cell[0] = None
        coro = body(ch, cell)
        try:
            coro.send(None)
        except StopIteration:
            pass
        return cell[0]

    op.cell = cell

    def delivered(n):
        return [bytes(buf[:n])]

    # A long frame: its length is not a cached small int, so the result allocates.
    frames = [b"x" * 300, b"y" * 301]
    assert walk(lambda: (filled(max_frame=512, frames=frames), list(frames)), op, delivered) > 0


def test_allocation_failure_on_send_queues_once_or_not_at_all():
    def setup():
        return awaitq.Channel(capacity=4, max_frame=16), []

    sent = []

    async def body(ch):
        await ch.send(b"s", tag=1)

    def op(ch):
        coro = body(ch)
        try:
            coro.send(None)
        except StopIteration:
            pass
        return True

    for k in range(200):
        ch, _ = setup()
        _, exc = run_failing(k, lambda: op(ch))
        assert exc is None or isinstance(exc, MemoryError), repr(exc)
        rest = drain(ch)
        assert rest in ([], [b"s"]), rest
        if exc is None:
            assert rest == [b"s"], "a send that returned must have queued its frame"
            sent.append(k)
        if len(sent) >= 20:
            break
    assert sent


@STOPITERATION_HANDOVER_GAP
def test_allocation_failure_on_close_and_async_for():
    def setup():
        ch = filled()
        ch.close()
        return ch, list(FRAMES)

    cell = [None] * 8

    async def body(ch):
        i = 0
        async for f in ch:
            cell[i] = f
            i += 1

    def op(ch):
        for i in range(len(cell)):
            cell[i] = None
        coro = body(ch)
        try:
            coro.send(None)
        except StopIteration:
            pass
        return [c for c in cell if c is not None]

    walk_closed = 0
    for k in range(600):
        ch, queued = setup()
        got, exc = run_failing(k, lambda: op(ch))
        assert exc is None or isinstance(exc, MemoryError), repr(exc)
        got = [c for c in cell if c is not None]
        rest = drain_closed(ch)
        assert got + rest == queued, f"k={k}"
        if exc is None:
            walk_closed += 1
            if walk_closed >= 20:
                return
        else:
            walk_closed = 0
    raise AssertionError("kept failing")


def drain_closed(ch):
    out = []
    while True:
        try:
            f = ch.try_recv()
        except awaitq.ChannelClosed:
            return out
        assert f is not None
        out.append(f)


# --- 2: a failed recv_into releases the receiver slot -------------------------------------


def test_recv_into_with_a_released_buffer_releases_the_receiver():
    async def main():
        ch = awaitq.Channel(capacity=4, max_frame=8)
        mv = memoryview(bytearray(8))
        aw = ch.recv_into(mv)

        async def waiter():
            return await aw

        task = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        mv.release()
        ch.send_nowait(b"one")
        with pytest.raises(TypeError):
            await task
        # `aw` is still referenced: the channel must not stay "busy".
        assert await asyncio.wait_for(ch.recv(), 5) == b"one"
        ch.send_nowait(b"two")
        assert await ch.recv() == b"two"
        del aw

    asyncio.run(main())


# --- 5: throw(StopIteration) behaves like a generator (PEP 479) ---------------------------


def test_throw_stopiteration_into_a_parked_receive_is_a_runtime_error():
    ch = awaitq.Channel(capacity=2, max_frame=4)

    async def body():
        return await ch.recv()

    coro = body()
    coro.send(None)  # parks (a WaitHandle outside a loop)
    with pytest.raises(RuntimeError) as e:
        coro.throw(StopIteration("x"))
    assert isinstance(e.value.__cause__, StopIteration)
    # the wait was cancelled, nothing consumed, the channel works
    ch.send_nowait(b"ok")
    assert ch.try_recv() == b"ok"


def test_throw_stopiteration_class_is_a_runtime_error_too():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    aw = ch.recv()
    aw.send(None)
    with pytest.raises(RuntimeError):
        aw.throw(StopIteration)


# --- 6: one argument policy ---------------------------------------------------------------


@pytest.mark.parametrize("kw", ["capacity", "max_frame"])
@pytest.mark.parametrize("value", [None, True, False, 1.0, "4"])
def test_channel_sizes_refuse_non_ints(kw, value):
    with pytest.raises(TypeError):
        awaitq.Channel(**{kw: value})


@pytest.mark.parametrize("rate", [1e-300, 0.0, -1.0, float("inf"), float("nan"), 1e300])
def test_spawn_producer_refuses_unusable_rates(rate):
    ch = awaitq.Channel()
    with pytest.raises(ValueError):
        awaitq.testing.spawn_producer(ch, 1, rate_hz=rate)


def test_spawn_producer_refuses_a_negative_count():
    ch = awaitq.Channel()
    with pytest.raises(ValueError):
        awaitq.testing.spawn_producer(ch, -1)
    with pytest.raises(TypeError):
        awaitq.testing.spawn_producer(ch, True)


def test_pinger_tag_out_of_range_is_a_value_error():
    ch = awaitq.Channel()
    p = awaitq.testing.Pinger(ch)
    try:
        for bad in (-1, 2**32):
            with pytest.raises(ValueError):
                p.ping(bad)
        with pytest.raises(TypeError):
            p.ping("1")
    finally:
        p.close()


# --- native awaitables: every allocation of a Rust future awaiting Python, failing in turn --


# PyO3 reports the MemoryError of a failed one-time initialisation (an interned string) as
# unraisable before it panics (the binding turns that panic into the MemoryError raised); the
# inner coroutines of a run that failed before awaiting them are never awaited.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_allocation_failure_in_native_awaitables_is_a_memory_error():
    from awaitq.testing import cont

    async def value(v):
        return v

    cell = [None]

    async def body():
        cell[0] = await cont.await_each([value(1), value(2), value(3)])

    clean = failures = 0
    for k in range(600):
        cell[0] = None
        coro = body()
        _, exc = run_failing(k, lambda: drive_once(coro))
        coro.close()
        if exc is None:
            assert cell[0] == [1, 2, 3]
            clean += 1
            if clean >= 20:
                break
        else:
            assert isinstance(exc, MemoryError), f"k={k}: {type(exc).__name__}: {exc}"
            failures += 1
            clean = 0
    assert failures > 0 and clean >= 20
    gc.collect()
    assert cont.live_futures() == 0, "a failed allocation leaked a Rust future"


def drive_once(coro):
    try:
        coro.send(None)
    except StopIteration:
        pass
