"""Runs the shared behaviour scenarios (tests/scenarios/*.py, also run on MicroPython) under
CPython, on the default asyncio loop, on uvloop, and under anyio on both its backends (asyncio
and trio, through tests/anyio_facade.py: asyncio's API on anyio, knowing nothing of awaitq),
and diffs their output with the .exp file. A scenario that prints only "SKIP" needs something
this interpreter lacks."""

import difflib
import pathlib
import subprocess
import sys

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
SCENARIOS = TESTS / "scenarios"
FILES = sorted(SCENARIOS.glob("*.py"))

# asyncio.run() takes its loop from the policy, so the same file runs on uvloop unchanged.
UVLOOP = (
    "import asyncio, runpy, sys, uvloop\n"
    "asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


# The scenario's `import asyncio` gets asyncio's API on anyio (the backend is argv[1]).
ANYIO = (
    "import runpy, sys\n"
    f"sys.path.insert(0, {str(TESTS)!r})\n"
    "import anyio_facade\n"
    "anyio_facade.install(sys.argv[1])\n"
    "sys.argv = sys.argv[2:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop", "anyio-asyncio", "anyio-trio"])
@pytest.mark.parametrize("script", FILES, ids=[f.stem for f in FILES])
def test_scenario(script, loop):
    expected = script.with_name(script.name + ".exp").read_text()
    cmd = [sys.executable, str(script)]
    if loop == "uvloop":
        cmd = [sys.executable, "-c", UVLOOP, str(script)]
    if loop.startswith("anyio-"):
        cmd = [sys.executable, "-c", ANYIO, loop[len("anyio-"):], str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=SCENARIOS)
    if proc.stdout.strip() == "SKIP":
        pytest.skip("needs something this interpreter lacks")
    assert proc.returncode == 0, proc.stderr
    diff = "".join(difflib.unified_diff(
        expected.splitlines(True), proc.stdout.splitlines(True), "expected", "got"))
    assert not diff, diff + proc.stderr
