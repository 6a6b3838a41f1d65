# Stage 1: generate the MicroPython package the RTOS harness compiles, with MicroPython's own
# ports/embed/embed.mk, extended by what awaitq needs. Run from this directory (embed.mk finds
# mpconfigport.h with -I.):
#
#   make -f package.mk MICROPYTHON_TOP=<mp-src> BUILD=<out>/build-embed \
#        PACKAGE_DIR=<out>/micropython_embed USER_C_MODULES=<awaitq> \
#        FROZEN_MANIFEST=<awaitq>/ports/manifest.py MICROPY_MPYCROSS=<mpy-cross>
#
# embed.mk copies only py/, a couple of shared/ files and the generated headers: the package
# has no extmod modules, no frozen Python and no user C modules. An RTOS firmware that wants
# asyncio and awaitq needs all three, so this file adds them:
# - extmod/modasyncio.c, modselect.c, modtime.c (the C half of asyncio, select.poll, time)
#   are scanned for qstrs and module registrations, and copied into <package>/extmod;
# - the frozen asyncio package (FROZEN_MANIFEST, built with mpy-cross) -> <package>/frozen;
# - awaitq (USER_C_MODULES: ports/micropython.mk): its C shim and headers, and its Rust
#   staticlib built for the host -> <package>/usermod;
# - rtos_mod... the harness's own `rtos` module (producer.c) is scanned here too, since its
#   qstrs must be in the same generated tables.
# The harness (Makefile) then compiles every .c file of the package, like any RTOS build would.

AWAITQ_RTOS_DIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ASYNCIO_EXTMOD_C := extmod/modasyncio.c extmod/modselect.c extmod/modtime.c
SRC_QSTR += $(ASYNCIO_EXTMOD_C) $(AWAITQ_RTOS_DIR)/producer.c

include $(MICROPYTHON_TOP)/ports/embed/embed.mk

USERMOD_INC_DIRS := $(patsubst -I%,%,$(filter -I%,$(CFLAGS_USERMOD)))

.PHONY: awaitq-package
all: awaitq-package
awaitq-package: micropython-embed-package $(BUILD)/frozen_content.c $(AWAITQ_LIB)
	$(ECHO) "- extmod (asyncio, select, time)"
	$(Q)$(CP) $(addprefix $(TOP)/,$(ASYNCIO_EXTMOD_C)) $(wildcard $(patsubst %.c,$(TOP)/%.h,$(ASYNCIO_EXTMOD_C))) $(PACKAGE_DIR)/extmod
	$(ECHO) "- frozen (asyncio)"
	$(Q)$(MKDIR) -p $(PACKAGE_DIR)/frozen
	$(Q)$(CP) $(BUILD)/frozen_content.c $(PACKAGE_DIR)/frozen
	$(ECHO) "- usermod (awaitq)"
	$(Q)$(RM) -rf $(PACKAGE_DIR)/usermod
	$(Q)$(MKDIR) -p $(PACKAGE_DIR)/usermod
	$(Q)$(CP) $(SRC_USERMOD_C) $(wildcard $(addsuffix /*.h,$(USERMOD_INC_DIRS))) $(AWAITQ_LIB) $(PACKAGE_DIR)/usermod
