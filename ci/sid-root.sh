#!/usr/bin/env bash
# A Debian sid root holding sid's binary CPython 3.13, 3.14 and 3.15 (they need sid's libc, so
# they run under chroot). Made with debootstrap from the mirror the machine is configured with
# (read from /etc/apt/sources.list.d/debian.sources at run time), cached outside the clone so a
# warm machine skips it.
#
# Usage: ci/sid-root.sh            prints the root's path as the last line of stdout
# Env:   AWAITQ_SID_ROOT           the directory (default ~/.cache/awaitq/sid-root)
#        AWAITQ_SID_MAX_AGE_DAYS   rebuild a root older than this (default 7; sid moves)
#
# The root is ready when $ROOT/.awaitq-ready exists (written last; it lists the interpreter
# versions), so an interrupted run never leaves a half-made root that looks usable.
set -euo pipefail

SID_ROOT=${AWAITQ_SID_ROOT:-$HOME/.cache/awaitq/sid-root}
MAX_AGE=${AWAITQ_SID_MAX_AGE_DAYS:-7}
SYSTEM_SOURCES=/etc/apt/sources.list.d/debian.sources
# The interpreters and what the tests need inside the root (venv: pip comes from ensurepip's
# bundled wheel; gcc and the headers: two tests compile a C extension against each Python).
PYTHONS=(3.13 3.14 3.15)
# gcc, g++: tests compile C and C++ against each Python; valgrind: bench/instr.py.
EXTRA=(gcc g++ libc6-dev valgrind)

log() { echo "sid-root: $*" >&2; }

ready=$SID_ROOT/.awaitq-ready
want="packages: ${PYTHONS[*]} ${EXTRA[*]}"
if [[ -f $ready && -z $(find "$ready" -mtime +"$MAX_AGE") ]] && grep -qxF "$want" "$ready"; then
  log "cached: $SID_ROOT ($(tr '\n' ' ' <"$ready"))"
  echo "$SID_ROOT"
  exit 0
fi

command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
[[ -r $SYSTEM_SOURCES ]] || { log "need $SYSTEM_SOURCES to take the mirror from"; exit 1; }
# The first main-archive mirror the system uses (not the security one).
MIRROR=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$SYSTEM_SOURCES")
[[ -n $MIRROR ]] || { log "no mirror in $SYSTEM_SOURCES"; exit 1; }

# Unmount anything a previous, interrupted run left mounted before deleting (the tests mount
# /proc and bind /dev), and never delete through a mount that is still there.
for m in proc dev/pts dev; do
  mountpoint -q "$SID_ROOT/$m" 2>/dev/null && umount -l "$SID_ROOT/$m"
done
if awk -v r="$SID_ROOT/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
  log "something is still mounted under $SID_ROOT; not deleting it"; exit 1
fi
# A finished debootstrap of today is kept when only the package step failed (resumable).
if [[ ! -f $SID_ROOT/.awaitq-debootstrap || -n $(find "$SID_ROOT/.awaitq-debootstrap" -mtime +"$MAX_AGE") ]]; then
  rm -rf "$SID_ROOT"
  mkdir -p "$(dirname "$SID_ROOT")"
  log "debootstrap sid (minbase)"
  debootstrap --variant=minbase sid "$SID_ROOT" "$MIRROR" >"$SID_ROOT.debootstrap.log" 2>&1 || {
    tail -30 "$SID_ROOT.debootstrap.log" >&2; exit 1; }
  touch "$SID_ROOT/.awaitq-debootstrap"
fi

# sid plus experimental (pinned low: only what is asked for by name comes from it).
cat >"$SID_ROOT/etc/apt/sources.list" <<SRC
deb $MIRROR sid main
deb $MIRROR experimental main
SRC
# A mirror may serve a frozen snapshot whose Release files have expired: accept them (the
# signatures are still checked).
echo 'Acquire::Check-Valid-Until "false";' >"$SID_ROOT/etc/apt/apt.conf.d/99awaitq-no-valid-until"
printf 'Package: *\nPin: release a=experimental\nPin-Priority: 100\n' \
  >"$SID_ROOT/etc/apt/preferences.d/experimental"
in_root() { chroot "$SID_ROOT" env -i DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
in_root apt-get update -qq
pkgs=("${EXTRA[@]}")
for v in "${PYTHONS[@]}"; do
  # python3.X-venv brings ensurepip; -dev the headers for the C-extension tests.
  pkgs+=("python$v" "python$v-venv" "python$v-dev")
done
# A package only in experimental is taken from there (apt picks the highest candidate it can).
avail=()
for p in "${pkgs[@]}"; do
  if in_root apt-cache policy "$p" | grep -q 'Candidate: (none)' || ! in_root apt-cache show "$p" >/dev/null 2>&1; then
    log "not in sid or experimental: $p"; exit 1
  fi
  if in_root apt-cache policy "$p" | awk '/Version table/ {t=1} t' | grep -q ' sid/'; then
    avail+=("$p")
  else
    avail+=("$p/experimental")
  fi
done
log "apt-get install ${avail[*]}"
in_root apt-get install -y -qq --no-install-recommends "${avail[@]}" >/dev/null
in_root apt-get clean

{
  for v in "${PYTHONS[@]}"; do
    in_root "python$v" -c 'import sys; print(sys.version.split()[0])'
  done
  echo "$want"
} >"$ready.tmp"
mv "$ready.tmp" "$ready"
log "ready: $SID_ROOT ($(tr '\n' ' ' <"$ready"))"
echo "$SID_ROOT"
