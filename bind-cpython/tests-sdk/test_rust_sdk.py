"""The awaitq-sdk crate from another PyO3 extension (bind-cpython/sdk/example, a maturin project that
never links awaitq): a Rust thread pushes through the capsule while asyncio consumes, a
NativeAwaitable with Rust callbacks, and a Rust async block woken from another thread."""

import asyncio
import gc
import importlib
import os
import pathlib
import subprocess
import sys
import time

import pytest

import awaitq

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ex(wheelhouse, tmp_path_factory):
    # A wheel built by ci/test-sdk.sh (maturin, release) into the wheelhouse.
    wheels = list(wheelhouse.glob("awaitq_sdk_example-*.whl"))
    assert len(wheels) == 1, "ci/test-sdk.sh builds bind-cpython/sdk/example into the wheelhouse"
    site = tmp_path_factory.mktemp("sdk-example")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
         "--no-deps", "--target", str(site), str(wheels[0])],
        check=True,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    return importlib.import_module("awaitq_sdk_example")


class Value:
    """An awaitable that is not a coroutine: dropping it unawaited warns about nothing."""

    def __init__(self, v):
        self.v = v

    def __await__(self):
        return self.v
        yield


def frame(k, size):
    return k.to_bytes(4, "little") + bytes([k & 0xFF]) * (size - 4)


def test_the_crate_reads_the_capsule_version(ex):
    assert ex.capi_version() == awaitq.C_API_VERSION


@pytest.mark.parametrize("source", ["channel", "handle", "capsule"])
def test_a_rust_thread_pushes_while_asyncio_consumes(ex, source):
    count, size = 50_000, 12
    ch = awaitq.Channel(capacity=64, max_frame=16)
    target = {"channel": lambda: ch, "handle": ch.producer,
              "capsule": lambda: ch.producer().capsule()}[source]()

    async def main():
        job = ex.start(target, count, size)
        got = 0
        async for payload in ch:
            assert payload == frame(got, size)
            got += 1
        return got, job.join()

    assert asyncio.run(main()) == (count, count)


@pytest.mark.parametrize("mode", ["many", "reserve"])
def test_batch_and_zero_copy_pushes_from_a_rust_thread(ex, mode):
    # Producer::push_many and Producer::reserve/commit (capsule version 3) while asyncio
    # consumes: every frame exactly once and in order, the channel full most of the time.
    count, size = 50_000, 12
    ch = awaitq.Channel(capacity=64, max_frame=16)

    async def main():
        job = ex.start(ch, count, size, mode)
        got = 0
        async for payload in ch:
            assert payload == frame(got, size)
            got += 1
        return got, job.join()

    assert asyncio.run(main()) == (count, count)
    assert ch.stats()["sent"] == count


def test_start_refuses_an_unknown_mode(ex):
    with pytest.raises(ValueError):
        ex.start(awaitq.Channel(capacity=4, max_frame=16), 1, 12, "bulk")


def test_the_producer_keeps_the_channel_alive_and_sees_it_closed(ex):
    ch = awaitq.Channel(capacity=4, max_frame=16)
    job = ex.start(ch, 1_000_000, 8)   # fills the channel, then retries while full
    time.sleep(0.05)
    del ch                              # the Python side is gone: pushes now see Closed
    gc.collect()
    pushed = job.join()
    assert 4 <= pushed < 1_000_000


def test_from_object_refuses_other_objects(ex):
    with pytest.raises(TypeError, match="awaitq.Channel, ProducerHandle"):
        ex.start(object(), 1, 8)
    with pytest.raises(ValueError):
        ex.start(awaitq.Channel(), 1, 2)


def test_native_awaitable_with_rust_callbacks(ex):
    async def answer():
        await asyncio.sleep(0.001)
        return 41

    async def fails():
        raise KeyError("nope")

    async def main():
        aw = ex.plus_one(answer())
        assert isinstance(aw, awaitq.NativeAwaitable)
        assert await aw == 42
        with pytest.raises(KeyError):
            await ex.plus_one(fails())
        with pytest.raises(TypeError):   # raised inside the Rust callback: None + 1
            await ex.plus_one(asyncio.sleep(0))

    asyncio.run(main())


def test_a_rust_async_block_woken_from_another_thread(ex):
    async def value(v):
        await asyncio.sleep(0)
        return v

    async def main():
        t0 = time.monotonic()
        r = await ex.add_later(value(40), value(2), 30)
        return r, time.monotonic() - t0

    r, took = asyncio.run(main())
    assert r == 42
    assert 0.025 <= took < 2


def test_many_concurrent_rust_futures(ex):
    async def value(v):
        return v

    async def main():
        return await asyncio.gather(*(ex.add_later(value(i), value(1), 5) for i in range(200)))

    assert asyncio.run(main()) == [i + 1 for i in range(200)]


def test_cancelling_a_rust_future_while_it_waits_on_rust(ex):
    async def main():
        task = asyncio.ensure_future(ex.add_later(Value(1), Value(2), 10_000))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_cancel_reaches_the_awaited_coroutine(ex):
    seen = []

    async def slow():
        try:
            await asyncio.sleep(10)
        finally:
            seen.append("finally")

    async def main():
        task = asyncio.ensure_future(ex.add_later(slow(), Value(1), 0))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["finally"]


def test_a_waiting_rust_future_uses_no_cpu(ex):
    async def value(v):
        return v

    async def main():
        c0 = os.times()
        await ex.add_later(value(1), value(1), 300)
        c1 = os.times()
        return (c1.user - c0.user) + (c1.system - c0.system)

    assert asyncio.run(main()) < 0.1
