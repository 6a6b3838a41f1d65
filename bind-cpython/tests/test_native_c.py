"""Native producers in C: a small extension (tests/cext/pusher.c, compiled here into a
temporary directory) whose pthread pushes through the `awaitq._C_API` table while asyncio
consumes."""

import asyncio
import gc
import importlib.machinery
import importlib.util
import pathlib
import re
import shutil
import subprocess
import sysconfig

import pytest

import awaitq

from conftest import frame

HERE = pathlib.Path(__file__).resolve().parent
HEADER_DIR = HERE.parents[1] / "ports" / "include"

AWAITQ_OK, AWAITQ_FULL, AWAITQ_CLOSED, AWAITQ_OVERSIZE = 0, 1, 2, 3


@pytest.fixture(scope="module")
def pusher(tmp_path_factory):
    assert (HEADER_DIR / "awaitq.h").exists(), "ports/include/awaitq.h (generated from core/capi)"
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed for this test"
    out = tmp_path_factory.mktemp("cext") / ("pusher" + importlib.machinery.EXTENSION_SUFFIXES[0])
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-pthread",
         "-I", sysconfig.get_paths()["include"], "-I", str(HEADER_DIR),
         str(HERE / "cext" / "pusher.c"), "-o", str(out)],
        check=True,
    )
    spec = importlib.util.spec_from_file_location("pusher", out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_c_api_capsule_is_named_and_versioned():
    import ctypes

    assert type(awaitq._C_API).__name__ == "PyCapsule"
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    assert get_name(awaitq._C_API) == b"awaitq._C_API"
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    version = ctypes.c_uint32.from_address(get_ptr(awaitq._C_API, b"awaitq._C_API")).value
    header = (HEADER_DIR / "awaitq.h").read_text()
    declared = int(re.search(r"#define AWAITQ_API_VERSION (\d+)", header).group(1))
    # The producer table is the capsule's first part; later versions append (awaitq_aw.h).
    assert version >= declared >= 1


@pytest.mark.parametrize("via", ["capsule", "address"])
def test_a_pthread_pushes_while_asyncio_consumes(pusher, run, via):
    count = 100_000
    ch = awaitq.Channel(capacity=64, max_frame=32)

    async def main():
        handle = ch.producer()
        if via == "capsule":
            job = pusher.start_capsule(handle.capsule(), count, 12, True)
        else:
            job = pusher.start_address(handle, count, 12, True)
        del handle  # the job holds what it needs
        n = 0
        async for payload in ch:
            assert payload == frame(n, 12)
            n += 1
        pushed, _ = pusher.join(job)
        return n, pushed

    assert run(main()) == (count, count)
    assert ch.stats()["received"] == count


def test_tags_and_stats_through_the_table(pusher, run):
    ch = awaitq.Channel(capacity=1000, max_frame=8)
    cap = ch.producer().capsule()

    async def main():
        pushed, _ = pusher.join(pusher.start_capsule(cap, 1000, 8, False))
        got = [await ch.recv_tagged() for _ in range(1000)]
        return pushed, got

    pushed, got = run(main())
    assert pushed == 1000
    assert got == [(k, frame(k, 8)) for k in range(1000)]
    closed, length, sent, received, dropped = pusher.info(cap)
    assert (closed, length, sent, received, dropped) == (False, 0, 1000, 1000, 0)


def test_push_statuses(pusher):
    ch = awaitq.Channel(capacity=1, max_frame=4)
    cap = ch.producer().capsule()
    assert pusher.push_once(cap, 1, b"ab") == AWAITQ_OK
    assert pusher.push_once(cap, 1, b"ab") == AWAITQ_FULL
    assert pusher.push_once(cap, 1, b"abcde") == AWAITQ_OVERSIZE
    assert ch.try_recv() == b"ab"
    ch.close()
    assert pusher.push_once(cap, 1, b"ab") == AWAITQ_CLOSED


def test_the_capsule_outlives_the_python_channel(pusher):
    ch = awaitq.Channel(capacity=4, max_frame=4)
    cap = ch.producer().capsule()
    assert pusher.push_once(cap, 0, b"x") == AWAITQ_OK
    del ch
    gc.collect()
    # The storage is alive (the capsule holds it) and the channel is closed: no use-after-free.
    assert pusher.push_once(cap, 0, b"y") == AWAITQ_CLOSED
    assert pusher.info(cap)[0] is True


def test_a_running_pthread_sees_closed_when_the_channel_is_dropped(pusher):
    ch = awaitq.Channel(capacity=2, max_frame=8)
    job = pusher.start_capsule(ch.producer().capsule(), 1_000_000, 8, False)
    del ch  # the pthread keeps pushing into a closed channel: it stops at AWAITQ_CLOSED
    gc.collect()
    pushed, _ = pusher.join(job)
    assert pushed < 1_000_000
