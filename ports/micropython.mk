# awaitq as a MicroPython user C module, for the make-based ports (unix, stm32, qemu, nrf, ...).
#
#   make -C ports/unix USER_C_MODULES=/path/to/awaitq FROZEN_MANIFEST=/path/to/awaitq/ports/manifest.py
#
# (USER_C_MODULES is the repository root: MicroPython includes every <root>/*/micropython.mk,
# i.e. this file.) See bind-micropython/README.md.
#
# What it does:
# 1. compiles the C shim (bind-micropython/csrc/*.c) like any user module (qstrs, root pointers
#    and MP_REGISTER_MODULE are collected from it);
# 2. dumps this port's exact compiler flags to $(BUILD)/awaitq/cflags.txt, so build.rs can run
#    bindgen over MicroPython's headers with them (layouts depend on them; nothing generated is
#    committed);
# 3. builds the Rust staticlib with cargo for AWAITQ_RUST_TARGET and links it.
#
# Variables (override on the make command line):
#   AWAITQ_RUST_TARGET       Rust target triple; empty = the host (unix port). For Cortex-M e.g.
#                            thumbv7m-none-eabi (M3), thumbv7em-none-eabihf (M4F/M7),
#                            thumbv6m-none-eabi (M0+). `rustup target add` it first.
#   AWAITQ_CARGO             cargo command (default: cargo)
#   AWAITQ_CARGO_FLAGS       extra cargo arguments, e.g. --config 'profile.release.opt-level="s"'
#   AWAITQ_CONT              1: native awaitables (the C API of include/awaitq_aw.h, Rust
#                            futures; bind-micropython/README.md). Default: 1 for the unix port,
#                            0 elsewhere (it costs flash: see the README). It is also a C macro
#                            (-DAWAITQ_MP_CONT in CFLAGS_USERMOD): a build that compiles the shim
#                            with flags of its own (ports/rtos) must pass it too.
#   AWAITQ_AW_EXT            1: also the native-awaitable test extension (module `aw_ext`,
#                            bind-micropython/tests/cext/aw_ext.c) off the unix port, where it is
#                            always in with AWAITQ_CONT. Default 0 (the firmware suite's
#                            awaitq-cont board sets it, to run the native awaitables in qemu).
#   AWAITQ_CARGO_TARGET_DIR  cargo's target dir (default: per build, $(BUILD)/awaitq/cargo).
#                            Builds may share one to reuse compiled dependencies, but must then
#                            not run concurrently (the staticlib path is shared; it is copied
#                            into $(BUILD) right after cargo finishes).

AWAITQ_ROOT := $(abspath $(USERMOD_DIR)/..)
AWAITQ_MP := $(AWAITQ_ROOT)/bind-micropython
AWAITQ_BUILD := $(BUILD)/awaitq

AWAITQ_RUST_TARGET ?=
AWAITQ_CARGO ?= cargo
AWAITQ_CARGO_FLAGS ?=
AWAITQ_CARGO_TARGET_DIR ?= $(abspath $(AWAITQ_BUILD)/cargo)
AWAITQ_CONT ?= $(if $(filter unix,$(notdir $(CURDIR))),1,0)

# Every file is always compiled; what AWAITQ_MP_CONT / the port leaves out compiles to nothing.
# tests/cext/aw_ext.c is the native-awaitable test extension (module `aw_ext`, unix only).
AWAITQ_SRC := $(addprefix $(AWAITQ_MP)/csrc/,module.c channel.c op.c ioq.c sys.c testing.c \
	cont.c cont_call.c testing_cont.c) $(AWAITQ_MP)/tests/cext/aw_ext.c
SRC_USERMOD_C += $(AWAITQ_SRC)
CFLAGS_USERMOD += -I$(AWAITQ_MP)/csrc -I$(AWAITQ_ROOT)/ports -I$(AWAITQ_ROOT)/ports/include
CFLAGS_USERMOD += -DAWAITQ_MP_CONT=$(AWAITQ_CONT)
AWAITQ_AW_EXT ?= 0
CFLAGS_USERMOD += -DAWAITQ_MP_AW_EXT=$(AWAITQ_AW_EXT)
AWAITQ_FEATURES := $(if $(filter 1,$(AWAITQ_CONT)),--features cont)

AWAITQ_LIB := $(AWAITQ_BUILD)/libawaitq_micropython.a
AWAITQ_CARGO_OUT := $(AWAITQ_CARGO_TARGET_DIR)/$(if $(AWAITQ_RUST_TARGET),$(AWAITQ_RUST_TARGET)/)release/libawaitq_micropython.a

# Link the staticlib. Ports disagree on where LDFLAGS goes (unix: after the objects; stm32,
# qemu: before them, where an archive would be scanned too early), so the symbols C code
# needs from it are also marked undefined up front (-u): the linker then pulls those archive
# members wherever the archive appears. awaitq_* are the producer C ABI (ports/include/awaitq.h).
AWAITQ_ENTRY_SYMS := awaitq_mp_core_size awaitq_push awaitq_close awaitq_is_closed awaitq_len awaitq_stats
LDFLAGS_USERMOD += $(addprefix -u ,$(AWAITQ_ENTRY_SYMS)) $(AWAITQ_LIB)

# The shim's objects (named the way py/py.mk names user-module objects) depend on the
# staticlib: it is therefore built before the link, and a changed library (copied only when
# its content changed) relinks the firmware.
AWAITQ_OBJ := $(addprefix $(BUILD)/,$(patsubst $(USER_C_MODULES)/%.c,%.o,$(AWAITQ_SRC)))
$(AWAITQ_OBJ): $(AWAITQ_LIB)

# The port's compiler invocation, one argument per line, rewritten only when it changed (so
# cargo re-runs bindgen only then). Line 1: where the compiler runs (relative -I paths), line 2:
# the compiler. Expanded when the recipe runs, i.e. with the port's final CFLAGS.
$(AWAITQ_BUILD)/cflags.txt: awaitq-force
	$(Q)mkdir -p $(@D)
	$(Q){ echo '$(CURDIR)'; echo '$(CC)'; printf '%s\n' $(CFLAGS); } > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# bindgen reads py/qstr.h, which includes the generated qstr header of this build.
$(AWAITQ_LIB): $(AWAITQ_BUILD)/cflags.txt $(HEADER_BUILD)/qstrdefs.generated.h $(HEADER_BUILD)/mpversion.h awaitq-force
	$(ECHO) "CARGO awaitq-micropython $(if $(AWAITQ_RUST_TARGET),$(AWAITQ_RUST_TARGET),host)"
	$(Q)env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		AWAITQ_MP_CFLAGS_FILE="$(abspath $(AWAITQ_BUILD)/cflags.txt)" \
		$(AWAITQ_CARGO) build --release --quiet \
		--manifest-path "$(AWAITQ_MP)/Cargo.toml" \
		--target-dir "$(AWAITQ_CARGO_TARGET_DIR)" \
		$(if $(AWAITQ_RUST_TARGET),--target $(AWAITQ_RUST_TARGET)) \
		$(AWAITQ_FEATURES) $(AWAITQ_CARGO_FLAGS)
	$(Q)if ! cmp -s "$(AWAITQ_CARGO_OUT)" $@; then cp -f "$(AWAITQ_CARGO_OUT)" $@; fi

.PHONY: awaitq-force
awaitq-force:
