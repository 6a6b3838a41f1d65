# The awaitq qemu board: MicroPython's MPS2_AN385 (Cortex-M3) board plus a hardware clock, a
# sleeping idle loop, an interrupt-masking atomic section and a RAM vector table, so asyncio
# runs on it and an ISR can feed an awaitq.Channel. Out of tree: nothing in the MicroPython
# source is edited. Use it with
#
#   make -C <micropython>/ports/qemu BOARD_DIR=<awaitq>/ports/qemu/board BUILD=<dir> \
#        FROZEN_MANIFEST=<awaitq>/ports/manifest.py [USER_C_MODULES=<awaitq>]
#
# (ports/qemu/build.sh does exactly this). With awaitq as a user C module, the board also
# compiles the `isrbus` module: a timer interrupt that pushes frames into a Channel.

AWAITQ_QEMU_BOARD := $(abspath $(BOARD_DIR))

include $(TOP)/ports/qemu/boards/MPS2_AN385/mpconfigboard.mk

# Our configuration file wraps the stock mpconfigport.h (see mpconfigport_awaitq.h).
CFLAGS += -I$(AWAITQ_QEMU_BOARD) -DMP_CONFIGFILE='<mpconfigport_awaitq.h>'
QSTR_GLOBAL_DEPENDENCIES += $(AWAITQ_QEMU_BOARD)/mpconfigport_awaitq.h $(AWAITQ_QEMU_BOARD)/mphalport_awaitq.h

SRC_C += $(addprefix $(AWAITQ_QEMU_BOARD)/,board_irq.c board_clock.c board_mod.c)

# The ISR producer needs awaitq's C API, so it is built only together with the awaitq module.
ifneq ($(wildcard $(USER_C_MODULES)/ports/micropython.mk),)
SRC_C += $(AWAITQ_QEMU_BOARD)/board_isrbus.c
CFLAGS += -I$(USER_C_MODULES)/ports -I$(USER_C_MODULES)/ports/include
endif
# Rust objects carry .ARM.exidx entries the stock linker script does not place (see the file).
LDFLAGS += -Wl,-T,$(AWAITQ_QEMU_BOARD)/discard-exidx.ld
