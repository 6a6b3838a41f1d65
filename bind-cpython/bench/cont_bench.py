"""Native awaitables (issue 5) next to PyAwaitable and PyO3's experimental async, in one run.

Three pieces of work, each awaited N times in a loop inside one coroutine (driven by send():
nothing suspends, so no event loop noise), best of R rounds, cases interleaved per round:

  1. a native awaitable that completes at once        awaitq C API  vs PyAwaitable
  2. a native awaitable that awaits a trivial coroutine awaitq C API  vs PyAwaitable
  3. a Rust async fn that returns at once             awaitq future_into_py vs PyO3 async fn

Both C extensions (bench/cont_cext/*.c) are compiled here the same way (cc -O2); PyAwaitable
comes from its PyPI package (a vendored header), PyO3's function from bench/pyo3_async (built
by ci/bench-cont.sh). The target is at most half of the other's cost for the same work.

Two ratios per case. "whole await" divides the loop's whole time per iteration. "the
awaitable's own cost" first subtracts what both sides share and neither library can change:
the loop and a call of the same shape to a function that returns its argument (`noop`, in
the same extension module: a METH_O C function for the C cases, a PyO3 #[pyfunction] for the
Rust case). Figures only: this program never fails on speed.

Usage: python bench/cont_bench.py [--n N] [--rounds R]
"""

import argparse
import pathlib
import platform
import sys
import time

import awaitq
from awaitq.testing import cont
from cext import build

HERE = pathlib.Path(__file__).resolve().parent
HEADERS = HERE.parents[1] / "ports" / "include"


async def trivial(v):
    return v


async def loop_ready(f, n):
    v = "x"
    for _ in range(n):
        await f(v)


async def loop_call(f, n):
    v = "x"
    for _ in range(n):
        f(v)


async def loop_await_one(f, n):
    for _ in range(n):
        await f(trivial(1))


async def loop_python_await(n):
    for _ in range(n):
        await trivial(1)


def drive(coro):
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the benchmark loop suspended")


def ns_per_op(make, n):
    t0 = time.perf_counter_ns()
    drive(make(n))
    return (time.perf_counter_ns() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()

    aw = build("aw_bench", "cont_cext/aw_bench.c", [HEADERS])
    try:
        import pyawaitable
    except ImportError:
        sys.exit("pyawaitable is not installed (ci/bench-cont.sh installs it)")
    pa = build("pyaw_bench", "cont_cext/pyaw_bench.c", [pyawaitable.include()])
    try:
        import pyo3_async_bench
    except ImportError:
        sys.exit("pyo3_async_bench is not installed (ci/bench-cont.sh builds bench/pyo3_async)")

    # Same answers first: the comparison is only fair if both do the same work.
    def result(awaitable):
        try:
            next(awaitable.__await__())  # PyAwaitable's iterator has no send()
        except StopIteration as e:
            return e.value
        raise AssertionError("it suspended")

    for f in (aw.ready, pa.ready, cont.ready, pyo3_async_bench.ready):
        assert result(f("x")) == "x", f
    for f in (aw.await_one, pa.await_one, cont.await_one):
        assert result(f(trivial(5))) == 5, f

    cases = {
        "awaitq C: completes at once": lambda n: loop_ready(aw.ready, n),
        "PyAwaitable: completes at once": lambda n: loop_ready(pa.ready, n),
        "awaitq C: awaits a trivial coroutine": lambda n: loop_await_one(aw.await_one, n),
        "awaitq Rust API: awaits a trivial coroutine": lambda n: loop_await_one(cont.await_one, n),
        "PyAwaitable: awaits a trivial coroutine": lambda n: loop_await_one(pa.await_one, n),
        "awaitq future_into_py: async fn returns at once": lambda n: loop_ready(cont.ready, n),
        "PyO3 experimental-async: async fn returns at once": lambda n: loop_ready(pyo3_async_bench.ready, n),
        "(reference) Python: await a trivial coroutine": loop_python_await,
        "(baseline) call a C function (METH_O) returning its argument": lambda n: loop_call(aw.noop, n),
        "(baseline) call a PyO3 #[pyfunction] returning its argument": lambda n: loop_call(pyo3_async_bench.noop, n),
    }
    best = {k: float("inf") for k in cases}
    for make in cases.values():  # warm-up
        ns_per_op(make, a.n // 10)
    for _ in range(a.rounds):
        for k, make in cases.items():
            best[k] = min(best[k], ns_per_op(make, a.n))

    print(f"native awaitables: ns per await (best of {a.rounds} x {a.n}), "
          f"CPython {platform.python_version()}, {platform.machine()}")
    for k, v in best.items():
        print(f"  {k:<52} {v:8.1f} ns")
    print("ratios (awaitq / other; target <= 0.50):")
    c_base = "(baseline) call a C function (METH_O) returning its argument"
    rust_base = "(baseline) call a PyO3 #[pyfunction] returning its argument"
    rows = [
        ("completes at once (C API vs PyAwaitable)", "awaitq C: completes at once",
         "PyAwaitable: completes at once", c_base),
        ("awaits a trivial coroutine (C API vs PyAwaitable)", "awaitq C: awaits a trivial coroutine",
         "PyAwaitable: awaits a trivial coroutine", c_base),
        ("awaits a trivial coroutine (Rust API vs PyAwaitable)", "awaitq Rust API: awaits a trivial coroutine",
         "PyAwaitable: awaits a trivial coroutine", c_base),
        ("Rust async fn returns at once (vs PyO3)", "awaitq future_into_py: async fn returns at once",
         "PyO3 experimental-async: async fn returns at once", rust_base),
    ]
    print(f"  {'':<56} {'whole await':>11}   {'the awaitable own cost':>22}")
    for label, ours, theirs, base in rows:
        whole = best[ours] / best[theirs]
        own = (best[ours] - best[base]) / (best[theirs] - best[base])
        print(f"  {label:<56} {whole:5.2f} {'met' if whole <= 0.5 else 'MISSED':<6}"
              f"   {own:5.2f} {'met' if own <= 0.5 else 'MISSED'}")

if __name__ == "__main__":
    main()
