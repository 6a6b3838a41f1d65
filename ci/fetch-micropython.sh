#!/usr/bin/env bash
# Fetch and unpack the MicroPython source tree from the Debian source archive.
#
# Usage: ci/fetch-micropython.sh [VERSION]      (default 1.26.1+ds-1)
#
# Why Debian source packages instead of a git clone: the Debian archive is
# reachable from CI via the same mirror configuration the system already
# trusts (signed, checksummed), and it carries pinned, immutable versions.
# The "+ds" tarballs strip the lib/ submodules; build-micropython-unix.sh
# disables the features that need them.
#
# We never touch the system apt state: a private deb-src sources file, lists
# dir and cache dir live under $CACHE/apt, so the system package index is
# unaffected. The sources file is derived from the system one so that mirror
# URIs and keyrings come from the machine's configuration, not from us.
#
# Output: the absolute path of the unpacked source tree is printed as the
# LAST line of stdout and also written to $CACHE/micropython-<version>.path
# and $CACHE/micropython-latest.path. All progress output goes to stderr.
#
# Idempotent: if $CACHE/micropython-<version> already exists, nothing is
# downloaded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${AWAITQ_CACHE:-$ROOT/.cache}
REQUESTED=${1:-1.26.1+ds-1}
# Older version tried when the requested one has disappeared from the archive
# (Debian testing/unstable only keep the newest few uploads).
FALLBACK=1.25.0+ds-1
SYSTEM_SOURCES=/etc/apt/sources.list.d/debian.sources

log() { echo "fetch-micropython: $*" >&2; }

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

emit() {
    local dir=$1 version=$2
    echo "$dir" >"$CACHE/micropython-$version.path"
    echo "$dir" >"$CACHE/micropython-latest.path"
    echo "$dir"
}

# Fast path: already unpacked (either the requested or, if that failed
# earlier, the fallback that was used instead).
if [[ -f "$CACHE/micropython-$REQUESTED/py/mpconfig.h" ]]; then
    log "cached: $CACHE/micropython-$REQUESTED"
    emit "$CACHE/micropython-$REQUESTED" "$REQUESTED"
    exit 0
fi
if [[ -f "$CACHE/micropython-$REQUESTED.path" ]]; then
    prev=$(<"$CACHE/micropython-$REQUESTED.path")
    if [[ -f "$prev/py/mpconfig.h" ]]; then
        log "cached (fallback): $prev"
        echo "$prev" >"$CACHE/micropython-latest.path"
        echo "$prev"
        exit 0
    fi
fi

ensure_tools() {
    local missing=()
    command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
    command -v xz >/dev/null || missing+=(xz-utils)
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
}

APT_DIR=$CACHE/apt
APT_OPTS=()

setup_private_apt() {
    [[ -r $SYSTEM_SOURCES ]] || { log "need $SYSTEM_SOURCES (deb822) to derive mirrors from"; exit 1; }
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
    # Keep every non-security stanza, turn it into deb-src for trixie+sid
    # (micropython is not in bookworm). The security suite is dropped because
    # "<suite>-security" does not exist for sid and would fail the update.
    # Stanzas are blank-line separated (deb822), hence the paragraph mode.
    awk 'BEGIN { RS = ""; ORS = "\n\n" } !/-security/' "$SYSTEM_SOURCES" |
        sed -e 's/^Types:.*/Types: deb-src/' \
            -e 's/^Suites:.*/Suites: trixie sid/' \
            >"$APT_DIR/awaitq-src.sources"
    APT_OPTS=(
        -o "Dir::Etc::sourcelist=$APT_DIR/awaitq-src.sources"
        -o Dir::Etc::sourceparts=/nonexistent
        -o "Dir::State::Lists=$APT_DIR/lists"
        -o "Dir::Cache=$APT_DIR/cache"
        # Files under the repo may not be readable by the _apt sandbox user.
        -o APT::Sandbox::User=root
    )
    # Refresh the index at most once a day; versions are pinned anyway, and
    # fetch_or_refresh() forces an update if a version is not found.
    local stamp=$APT_DIR/updated.stamp
    if [[ ! -f $stamp || -n $(find "$stamp" -mmin +1440) ]]; then
        apt_update
    fi
}

UPDATED_THIS_RUN=0
apt_update() {
    log "apt-get update (private deb-src lists)"
    apt-get "${APT_OPTS[@]}" update >&2
    touch "$APT_DIR/updated.stamp"
    UPDATED_THIS_RUN=1
}

# Download + unpack one version; returns non-zero if it is not in the archive.
# (Called in an `if` context where set -e is inert, hence explicit checks.)
fetch_version() {
    local version=$1
    local dest=$CACHE/micropython-$version
    local dl=$CACHE/dl
    if [[ -f "$dest/py/mpconfig.h" ]]; then
        return 0
    fi
    mkdir -p "$dl" || return 1
    log "downloading micropython=$version"
    (cd "$dl" && apt-get "${APT_OPTS[@]}" source --download-only "micropython=$version" >&2) || return 1
    # The .dsc is named after the full version minus any epoch.
    local dsc=$dl/micropython_${version#*:}.dsc
    [[ -f $dsc ]] || { log "missing $dsc"; return 1; }
    # Unpack inside dl/ (dpkg-source links the orig tarball next to the
    # target dir), then move into place so a half-unpacked tree never
    # satisfies the cache check.
    rm -rf "$dl/micropython-$version"
    # This applies debian/patches, which we rely on:
    #   0004  mpversion.h from debian/changelog (no .git in the tarball)
    #   0007  drops the "micropython-lib submodule missing" check that would
    #         otherwise abort every FROZEN_MANIFEST build
    #   0001  unix Makefile: MP_CONFIGFILE and TESTS_ARGS hooks
    # The signature check only warns (uploader keys are not installed); the
    # file checksums are verified against the apt-authenticated index.
    dpkg-source -x "$dsc" "$dl/micropython-$version" >&2 || return 1
    mv "$dl/micropython-$version" "$dest" || return 1
}

# A version missing from a day-old index may just be newer than the index.
fetch_or_refresh() {
    fetch_version "$1" && return 0
    ((UPDATED_THIS_RUN)) && return 1
    apt_update || return 1
    fetch_version "$1"
}

ensure_tools
setup_private_apt

if fetch_or_refresh "$REQUESTED"; then
    emit "$CACHE/micropython-$REQUESTED" "$REQUESTED"
elif [[ $REQUESTED != "$FALLBACK" ]] && { log "falling back to $FALLBACK"; fetch_version "$FALLBACK"; }; then
    # Record the fallback under the requested name too, so the fast path hits.
    echo "$CACHE/micropython-$FALLBACK" >"$CACHE/micropython-$REQUESTED.path"
    emit "$CACHE/micropython-$FALLBACK" "$FALLBACK"
else
    log "could not fetch micropython=$REQUESTED"
    exit 1
fi
