"""The headers ship in the wheel, where build systems find them, and state the capsule's
version."""

import ctypes
import pathlib
import re
import subprocess
import sys

import awaitq

PORTS_INCLUDE = pathlib.Path(__file__).resolve().parents[2] / "ports" / "include"


def test_get_include_holds_the_headers_of_ports_include():
    inc = pathlib.Path(awaitq.get_include())
    assert inc.is_dir() and inc.is_absolute()
    # the installed package's directory, not the checkout's
    assert inc.parent == pathlib.Path(awaitq.__file__).resolve().parent
    shipped = sorted(p.name for p in inc.glob("*.h"))
    assert shipped == sorted(p.name for p in PORTS_INCLUDE.glob("*.h"))
    assert {"awaitq.h", "awaitq_aw.h"} <= set(shipped)
    for name in shipped:
        assert (inc / name).read_bytes() == (PORTS_INCLUDE / name).read_bytes(), name


def test_python_m_awaitq_include_and_cflags():
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "awaitq", *a], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert run("--include") == awaitq.get_include()
    assert run("--cflags") == "-I" + awaitq.get_include()
    assert run("--version") == awaitq.__version__
    bare = subprocess.run([sys.executable, "-m", "awaitq"], capture_output=True, text=True)
    assert bare.returncode == 2 and "--include" in bare.stdout


def test_the_capsule_and_the_header_state_one_version():
    header = (pathlib.Path(awaitq.get_include()) / "awaitq.h").read_text()
    declared = int(re.search(r"#define AWAITQ_CAPI_VERSION (\d+)", header).group(1))
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype, get_ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    in_capsule = ctypes.c_uint32.from_address(get_ptr(awaitq._C_API, b"awaitq._C_API")).value
    assert in_capsule == declared == awaitq.C_API_VERSION
