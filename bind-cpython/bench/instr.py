"""Instructions per await (valgrind's callgrind), for the ratios the timing benchmarks print.

Wall-clock figures on a shared 2-core VM swing by 1.5x from one minute to the next; an
instruction count does not (the same binary, inputs and PYTHONHASHSEED give the same count
whatever else the machine is doing). Not a replacement for time (a cache miss or an atomic
costs more than its one instruction), a cross-check of it.

Each case runs twice under callgrind, with 0 and with N iterations of the same loop (the
same warm-up, the same set-up, the same imports); the difference over N is the cost of one
iteration, loop included. Usage (ci/bench-cont.sh installs what the native-awaitable cases
need; the channel cases need only awaitq):

    python bench/instr.py [--n 20000] [--only channel|cont] [--json FILE]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# One program per case: set-up, then `loop(n)` driven by send() (nothing suspends).
PRELUDE = """
import sys
sys.path.insert(0, %(here)r)
N = int(sys.argv[1])
def drive(c):
    try:
        c.send(None)
    except StopIteration:
        return
    raise AssertionError("suspended")
"""

CASES = {
    "channel": {
        "(baseline) the loop alone": """
async def loop(n):
    for _ in range(n):
        pass
""",
        "await trivial()  (async def returning at once)": """
async def trivial():
    return b"x"
async def loop(n):
    for _ in range(n):
        await trivial()
""",
        "await ch.recv()  (a frame already queued)": """
import awaitq
ch = awaitq.Channel(capacity=30000, max_frame=8)
for _ in range(25000):
    ch.send_nowait(b"01234567")
recv = ch.recv
async def loop(n):
    for _ in range(n):
        await recv()
""",
        "floor: C awaitable returning new bytes": """
from cext import build
floor = build("floor", "floor_cext/floor.c").Floor().recv
async def loop(n):
    for _ in range(n):
        await floor()
""",
    },
    "cont": {
        "(baseline) call a C function (METH_O) returning its argument": """
from cont_bench import build, HEADERS
f = build("aw_bench", "cont_cext/aw_bench.c", [HEADERS]).noop
async def loop(n):
    for _ in range(n):
        f("x")
""",
        "(baseline) call a PyO3 #[pyfunction] returning its argument": """
import pyo3_async_bench
f = pyo3_async_bench.noop
async def loop(n):
    for _ in range(n):
        f("x")
""",
        "awaitq C: completes at once": """
from cont_bench import build, HEADERS
f = build("aw_bench", "cont_cext/aw_bench.c", [HEADERS]).ready
async def loop(n):
    for _ in range(n):
        await f("x")
""",
        "PyAwaitable: completes at once": """
import pyawaitable
from cext import build
f = build("pyaw_bench", "cont_cext/pyaw_bench.c", [pyawaitable.include()]).ready
async def loop(n):
    for _ in range(n):
        await f("x")
""",
        "awaitq C: awaits a trivial coroutine": """
from cont_bench import build, HEADERS, trivial
f = build("aw_bench", "cont_cext/aw_bench.c", [HEADERS]).await_one
async def loop(n):
    for _ in range(n):
        await f(trivial(1))
""",
        "awaitq Rust API: awaits a trivial coroutine": """
from awaitq.testing import cont
from cont_bench import trivial
f = cont.await_one
async def loop(n):
    for _ in range(n):
        await f(trivial(1))
""",
        "PyAwaitable: awaits a trivial coroutine": """
import pyawaitable
from cext import build
from cont_bench import trivial
f = build("pyaw_bench", "cont_cext/pyaw_bench.c", [pyawaitable.include()]).await_one
async def loop(n):
    for _ in range(n):
        await f(trivial(1))
""",
        "awaitq future_into_py: async fn returns at once": """
from awaitq.testing import cont
f = cont.ready
async def loop(n):
    for _ in range(n):
        await f("x")
""",
        "PyO3 experimental-async: async fn returns at once": """
import pyo3_async_bench
f = pyo3_async_bench.ready
async def loop(n):
    for _ in range(n):
        await f("x")
""",
    },
}

LOOP = "(baseline) the loop alone"
READY = "await ch.recv()  (a frame already queued)"
FLOOR = "floor: C awaitable returning new bytes"
C_CALL = "(baseline) call a C function (METH_O) returning its argument"
RUST_CALL = "(baseline) call a PyO3 #[pyfunction] returning its argument"
# (label, ours, theirs, baseline): the ratio of the whole iteration, and of what is left
# after the baseline both sides share (as bench.py and cont_bench.py subtract it).
RATIOS = {
    "channel": [("ready await vs a trivial coroutine await (target <= 0.50)",
                 "await ch.recv()  (a frame already queued)",
                 "await trivial()  (async def returning at once)", LOOP),
                ("the floor vs a trivial coroutine await",
                 "floor: C awaitable returning new bytes",
                 "await trivial()  (async def returning at once)", LOOP)],
    "cont": [("completes at once, C API vs PyAwaitable (target <= 0.50)",
              "awaitq C: completes at once", "PyAwaitable: completes at once", C_CALL),
             ("awaits a trivial coroutine, C API vs PyAwaitable (target <= 0.50)",
              "awaitq C: awaits a trivial coroutine", "PyAwaitable: awaits a trivial coroutine",
              C_CALL),
             ("awaits a trivial coroutine, Rust API vs PyAwaitable (target <= 0.50)",
              "awaitq Rust API: awaits a trivial coroutine",
              "PyAwaitable: awaits a trivial coroutine", C_CALL),
             ("Rust async fn returns at once vs PyO3 (target <= 0.50)",
              "awaitq future_into_py: async fn returns at once",
              "PyO3 experimental-async: async fn returns at once", RUST_CALL)],
}


def instructions(script, n):
    with tempfile.TemporaryDirectory(prefix="awaitq-instr-") as d:
        out = os.path.join(d, "cg.out")
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
             sys.executable, script, str(n)],
            env=env, capture_output=True, text=True, cwd=HERE)
        if r.returncode != 0:
            raise SystemExit("case failed under callgrind:\n" + r.stderr[-2000:])
        m = re.search(r"Collected : (\d+)", r.stderr)
        return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--only", choices=sorted(CASES))
    ap.add_argument("--json", help="also write the counts to this file (bench/table.py)")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (apt-get install valgrind)")
    groups = [a.only] if a.only else list(CASES)
    everything = {"python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="awaitq-instr-") as d:
        for g in groups:
            per = {}
            for name, body in CASES[g].items():
                script = os.path.join(d, "case.py")
                with open(script, "w") as f:
                    f.write(PRELUDE % {"here": HERE} + body + "\ndrive(loop(1000))\ndrive(loop(N))\n")
                per[name] = (instructions(script, a.n) - instructions(script, 0)) / a.n
            everything[g] = per
            print("%s: instructions per loop iteration (callgrind, N=%d, loop included)" % (g, a.n))
            for name, v in per.items():
                print("  %-52s %7.0f" % (name, v))
            print("  %-68s %6s %9s" % ("ratios", "whole", "baseline"))
            print("  %-68s %6s %9s" % ("", "", "removed"))
            for label, ours, theirs, base in RATIOS[g]:
                whole = per[ours] / per[theirs]
                own = (per[ours] - per[base]) / (per[theirs] - per[base])
                print("  %-68s %6.2f %9.2f" % (label, whole, own))
            if g == "channel":
                r = per[READY] / per[FLOOR]
                print("  %-68s %6.2f  target <= 1.3  %s"
                      % ("ready await vs the floor", r, "met" if r <= 1.3 else "MISSED"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(everything, f)


if __name__ == "__main__":
    main()
