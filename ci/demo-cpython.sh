#!/usr/bin/env bash
# CPython demo: native producers at bus-like rates -> asyncio consumers (bind-cpython/demo).
# Installs and builds what it needs (the private venv, the release wheel), then runs the demo
# on the default asyncio loop and on uvloop.
. "$(dirname "$0")/lib.sh"

ensure_pip "maturin>=1.9.4,<2" uvloop
cd "$ROOT"
timed "pip install ./bind-cpython (release wheel)" \
  python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bind-cpython
timed "demo (asyncio)" python bind-cpython/demo/demo.py --seconds "${AWAITQ_DEMO_SECONDS:-5}"
timed "demo (uvloop)" python bind-cpython/demo/demo.py --seconds "${AWAITQ_DEMO_SECONDS:-5}" --loop uvloop
