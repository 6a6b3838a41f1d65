#!/usr/bin/env bash
# bind-cpython/bench/bench.py and bench/instr.py on every CPython the interpreters suite tests
# (3.11 on the host, sid's 3.13/3.14/3.15 in the sid root), one table at the end
# (bench/table.py). Prints figures; asserts nothing about speed. Figures: bind-cpython/README.md.
# Arguments go to bench.py (default --quick).
. "$(dirname "$0")/lib.sh"

ensure_apt gcc libc6-dev valgrind debootstrap
ensure_pip "maturin>=1.9.4,<2" pytest pytest-timeout uvloop
cd "$ROOT"
. "$ROOT/ci/interpreters-lib.sh"
prepare_interpreters

out=$W/bench && rm -rf "$out" && mkdir -p "$out"
args=("${@:---quick}")
host_ver=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
(cd bind-cpython/bench &&
  timed "bench.py on $host_ver" python bench.py "${args[@]}" --json "$out/bench-$host_ver.json" &&
  timed "instr.py on $host_ver" python instr.py --only channel --json "$out/instr-$host_ver.json")
for v in "${SID_PYTHONS[@]}"; do
  py=$(sid_venv "$v")/bin/python
  timed "bench.py on $v" in_root sh -c 'cd /awaitq/bind-cpython/bench && exec "$@"' sh \
    "$py" bench.py "${args[@]}" --json "/tmp/bench-$v.json"
  timed "instr.py on $v" in_root sh -c 'cd /awaitq/bind-cpython/bench && exec "$@"' sh \
    "$py" instr.py --only channel --json "/tmp/instr-$v.json"
  cp "$SID/tmp/bench-$v.json" "$SID/tmp/instr-$v.json" "$out/"
done
echo
python bind-cpython/bench/table.py "$out"
