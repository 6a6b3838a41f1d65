# Frozen-module manifest for MicroPython builds of awaitq (unix and qemu).
#
# Passed as FROZEN_MANIFEST by ci/build-micropython-unix.sh. Relative paths
# in this file resolve against this directory (manifestfile.py chdirs into
# it while executing), so our own Python sources can be added with e.g.
#     package("awaitq", base_path="../bind-micropython/python")
#
# We deliberately do NOT include the unix variant's default manifest
# ($(PORT_DIR)/variants/manifest.py): it require()s "mip-cmdline" and "ssl"
# from lib/micropython-lib, which the Debian "+ds" source tarball strips, so
# freezing would fail. asyncio is the only frozen package we depend on: the awaitq module
# itself is all C and Rust (USER_C_MODULES, see bind-micropython/README.md), and its
# awaitables need asyncio to wait.

include("$(MPY_DIR)/extmod/asyncio")
