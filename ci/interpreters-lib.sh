# Shared by ci/test-interpreters.sh and ci/bench-interpreters.sh: the abi3 wheel built once on
# the host, installed into the system's CPython and into Debian sid's binary CPythons, which
# run in a sid root (ci/sid-root.sh; they need sid's libc). Source after lib.sh.
#
# Env: AWAITQ_SID_PYTHONS the sid versions (default "3.13 3.14 3.15")
#      AWAITQ_SID_ROOT    where the root lives (default ~/.cache/awaitq/sid-root, outside the clone)

SID_PYTHONS=(${AWAITQ_SID_PYTHONS:-3.13 3.14 3.15})
W=$CACHE/interpreters
# The venv of sid's CPython $v inside the root.
sid_venv() { echo "/opt/awaitq-venv-$1"; }

# in_root CMD...: run in the sid root with a clean environment (PYTHON_GIL etc. pass through
# only when given explicitly).
in_root() {
  chroot "$SID" env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
}
# in_tree CMD...: in_root, from the copy of the repository's tests and benchmarks.
in_tree() { in_root sh -c 'cd /awaitq && exec "$@"' sh "$@"; }

# The wheel, built once, as pip would build it (pyproject's maturin settings). Sets WHEEL.
build_wheel() {
  rm -rf "$W/wheel" && mkdir -p "$W/wheel"
  (cd "$ROOT/bind-cpython" && maturin build -q --release -o "$W/wheel")
}

_sid_mounted=()
_sid_umount() {
  local i
  for ((i = ${#_sid_mounted[@]} - 1; i >= 0; i--)); do umount -l "${_sid_mounted[$i]}" || true; done
}

# prepare_interpreters: the wheel into the host venv; the sid root made (or taken from the
# cache), /proc and /dev mounted in it until this shell exits, the tests, benchmarks and
# headers copied in, a fresh venv per sid CPython with the wheel and the test dependencies.
# Those are downloaded on the host (whose pip configuration reaches the index) and installed
# offline in the root. Sets WHEEL and SID.
prepare_interpreters() {
  timed "maturin build --release (abi3 wheel, once)" build_wheel
  WHEEL=$(ls "$W/wheel"/*.whl)
  echo "wheel: $(basename "$WHEEL")" >&2
  python -m pip install -q --force-reinstall --no-deps "$WHEEL"

  SID=$(timed "sid root (cold: debootstrap + apt; warm: cached)" bash "$ROOT/ci/sid-root.sh" | tail -1)
  mkdir -p "$W/deps"
  for v in "${SID_PYTHONS[@]}"; do
    python -m pip download -q --only-binary :all: --python-version "$v" \
      -d "$W/deps/$v" pytest pytest-timeout uvloop "trio>=0.22" "anyio>=4.7" sniffio
  done
  rm -rf "$SID/awaitq" && mkdir -p "$SID/awaitq/deps"
  tar -C "$ROOT" -c --exclude='__pycache__' --exclude=target \
    bind-cpython/tests bind-cpython/bench tests ports/include | tar -C "$SID/awaitq" -x
  cp "$WHEEL" "$SID/awaitq/"
  cp -r "$W/deps/." "$SID/awaitq/deps/"

  trap _sid_umount EXIT
  mountpoint -q "$SID/proc" || { mount -t proc proc "$SID/proc"; _sid_mounted+=("$SID/proc"); }
  mountpoint -q "$SID/dev" || { mount --rbind /dev "$SID/dev"; _sid_mounted+=("$SID/dev"); }

  local v venv
  for v in "${SID_PYTHONS[@]}"; do
    venv=$(sid_venv "$v")
    in_root rm -rf "$venv"
    in_root "python$v" -m venv "$venv"
    in_root "$venv/bin/python" -m pip install -q --no-index --find-links "/awaitq/deps/$v" \
      pytest pytest-timeout uvloop trio anyio sniffio "/awaitq/$(basename "$WHEEL")"
    in_root "$venv/bin/python" -c \
      'import awaitq, sys; print("awaitq from", awaitq.__file__, "on", sys.version.split()[0])' >&2
  done
}
