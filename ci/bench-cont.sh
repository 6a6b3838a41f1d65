#!/usr/bin/env bash
# The native-awaitable benchmark (bind-cpython/bench/cont_bench.py, issue 5): awaitq's C API
# next to PyAwaitable (its PyPI package), and awaitq's Rust-future host next to a PyO3
# `experimental-async` function (bind-cpython/bench/pyo3_async), in one run.
# Prints figures; asserts nothing about speed (targets and recorded figures:
# bind-cpython/README.md). Arguments go to the timing program (--n, --rounds); then
# bench/instr.py prints the same comparisons in instructions (callgrind: repeatable on a busy
# machine), and the channel's ready await next to its floor.
. "$(dirname "$0")/lib.sh"

ensure_apt gcc libc6-dev valgrind   # the C extensions are compiled by the programs themselves
ensure_pip "maturin>=1.9.4,<2" "pyawaitable>=2,<3"

cd "$ROOT"
timed "pip install ./bind-cpython (release wheel)" \
  python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bind-cpython
# The comparison crate is its own workspace; keep its build out of the source tree.
timed "pip install bind-cpython/bench/pyo3_async (release)" \
  env CARGO_TARGET_DIR="$CACHE/target-pyo3-async" \
  python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  ./bind-cpython/bench/pyo3_async
python bind-cpython/bench/cont_bench.py "$@"
python bind-cpython/bench/instr.py
