"""Third-party C extensions built the way their authors would: setuptools and meson-python
projects that declare `awaitq` as a build requirement and find its headers through
`awaitq.get_include()` / `python -m awaitq --include`. Each pushes from its own pthread
while asyncio consumes, and awaits a coroutine through the C API."""

import asyncio
import importlib
import sys

import pytest

import awaitq

from conftest import build_project

BACKENDS = {"setuptools": "sensor_st", "meson": "sensor_meson"}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def sensor(request, wheelhouse, tmp_path_factory):
    build_project(request.param, wheelhouse, tmp_path_factory, extra_files=["sensor.c"])
    return importlib.import_module(BACKENDS[request.param])


def frame(k, size):
    return k.to_bytes(4, "little") + bytes([k & 0xFF]) * (size - 4)


def test_built_against_the_shipped_headers(sensor):
    # The module's init checked the capsule (awaitq_aw_import); the header it was built from
    # states the capsule's version.
    assert sys.byteorder == "little"
    assert sensor.HEADER_CAPI_VERSION == awaitq.C_API_VERSION >= 2


def test_a_pthread_pushes_while_asyncio_consumes(sensor):
    count, size = 50_000, 16
    ch = awaitq.Channel(capacity=64, max_frame=32)

    async def main():
        job = sensor.start(ch, count, size)
        got = 0
        async for payload in ch:
            assert payload == frame(got, size)
            got += 1
        return got, sensor.join(job)

    assert asyncio.run(main()) == (count, count)


def test_awaits_a_coroutine_through_the_c_api(sensor):
    async def answer():
        await asyncio.sleep(0.001)
        return 41

    async def main():
        aw = sensor.plus_one(answer())
        assert isinstance(aw, awaitq.NativeAwaitable)
        return await aw

    assert asyncio.run(main()) == 42


def test_an_exception_of_the_coroutine_comes_out(sensor):
    async def fails():
        raise KeyError("boom")

    async def main():
        await sensor.plus_one(fails())

    with pytest.raises(KeyError, match="boom"):
        asyncio.run(main())
