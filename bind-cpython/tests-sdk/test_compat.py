"""Source compatibility: extensions written from PyAwaitable 2.x's documented examples
(compat/pyaw_ext.c, `#include <pyawaitable.h>`) and from the draft PEP 852's example
(compat/pyasync_ext.c, no init call), compiled against the headers in awaitq.get_include()."""

import asyncio
import importlib.machinery
import importlib.util
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import warnings

import pytest

import awaitq

HERE = pathlib.Path(__file__).resolve().parent


def build(name, tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed"
    out = tmp_path_factory.mktemp(name) / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-I", sysconfig.get_paths()["include"],
         "-I", awaitq.get_include(), str(HERE / "compat" / f"{name}.c"), "-o", str(out)],
        check=True,
    )
    spec = importlib.util.spec_from_file_location(name, out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def pyaw(tmp_path_factory):
    return build("pyaw_ext", tmp_path_factory)


@pytest.fixture(scope="module")
def pyasync(tmp_path_factory):
    return build("pyasync_ext", tmp_path_factory)


async def value(v, yields=1):
    for _ in range(yields):
        await asyncio.sleep(0)
    return v


async def boom():
    await asyncio.sleep(0)
    raise KeyError("boom")


# ---- PyAwaitable ----

def test_pyawaitable_quickstart_and_trampoline(pyaw):
    async def main():
        assert await pyaw.async_function(value(1)) is None
        assert await pyaw.trampoline(value("x")) == "x"
    asyncio.run(main())


def test_pyawaitable_saved_values(pyaw):
    assert asyncio.run(pyaw.spam(40, value(2))) == 42


def test_pyawaitable_error_callbacks(pyaw):
    assert asyncio.run(pyaw.suppress(boom())) == "caught"
    with pytest.raises(KeyError, match="boom"):
        asyncio.run(pyaw.reraise(boom()))
    with pytest.raises(KeyError, match="boom"):   # no error callback: raised
        asyncio.run(pyaw.trampoline(boom()))


def test_pyawaitable_arbitrary_values_and_deferred_awaits(pyaw):
    async def main():
        a = await pyaw.count(value(5))
        b = await pyaw.count(value(3))
        return a, b, await pyaw.deferred(value("later"))
    assert asyncio.run(main()) == (5, 8, "later")


def test_pyawaitable_async_with(pyaw):
    log = []

    class CM:
        async def __aenter__(self):
            log.append("enter")
            return "v"

        async def __aexit__(self, *exc):
            log.append(("exit", exc[0]))
            return False

    assert asyncio.run(pyaw.with_(CM())) == "v"
    assert log == ["enter", ("exit", None)]


def test_pyawaitable_cancel_closes_the_queued_coroutine(pyaw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # "coroutine ... was never awaited" would fail
        assert pyaw.cancelled(value(1)) is None
        import gc
        gc.collect()


def test_pyawaitable_type_and_cancellation(pyaw):
    assert pyaw.get_type() is awaitq.NativeAwaitable
    seen = []

    async def slow():
        try:
            await asyncio.sleep(10)
        finally:
            seen.append("finally")

    async def main():
        task = asyncio.ensure_future(pyaw.trampoline(slow()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(main())
    assert seen == ["finally"]


# ---- PEP 852 ----

def test_pep852_abstract_example(pyasync):
    # The module has no init call: the first PyAsync_* call imported the table.
    aw = pyasync.await_from_c(value(7, yields=3))
    assert pyasync.check(aw) and not pyasync.check(object())
    assert asyncio.run(aw) == 7


def test_pep852_values_between_steps(pyasync):
    assert asyncio.run(pyasync.pair(value("a"), value("b"))) == ("a", "b")
    with pytest.raises(KeyError):
        asyncio.run(pyasync.pair(value("a"), boom()))


def test_pep852_rejects_adding_to_a_finished_object(pyasync):
    aw = pyasync.await_from_c(value(1))
    assert asyncio.run(aw) == 1
    with pytest.raises(RuntimeError):
        asyncio.run(aw)    # resuming a finished awaitable


def test_the_headers_compile_as_cpp(tmp_path):
    cxx = shutil.which("c++") or shutil.which("g++")
    assert cxx, "a C++ compiler is needed"
    src = tmp_path / "use.cpp"
    src.write_text(
        "#include <pyawaitable.h>\n#include \"awaitq_pyasync.h\"\n"
        "static int cb(PyObject *aw, PyObject *v) { return PyAwaitable_SetResult(aw, v); }\n"
        "PyObject *f(PyObject *coro) {\n"
        "  PyObject *aw = PyAwaitable_New();\n"
        "  if (!aw || PyAwaitable_AddAwait(aw, coro, cb, nullptr) < 0) return nullptr;\n"
        "  PyObject *x; if (PyAwaitable_SaveValues(aw, 1, coro) < 0"
        " || PyAwaitable_UnpackValues(aw, &x) < 0) return nullptr;\n"
        "  PyObject *a = PyAsync_New(); if (!a) return nullptr;\n"
        "  PyAsync_Cancel(a); Py_DECREF(a); return aw;\n}\n"
    )
    subprocess.run(
        [cxx, "-x", "c++", "-std=c++11", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
         "-I", sysconfig.get_paths()["include"], "-I", awaitq.get_include(), str(src)],
        check=True,
    )
