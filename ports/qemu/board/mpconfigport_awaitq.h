// MicroPython configuration of the awaitq qemu board (MPS2-AN385, Cortex-M3).
//
// Selected with -DMP_CONFIGFILE (py/mpconfig.h includes this file instead of the port's
// mpconfigport.h). It takes the stock ports/qemu configuration unchanged and switches on what
// asyncio needs; the stock file disables time, select and asyncio with plain #defines (the
// qemu port has no clock), which cannot be overridden from the command line because the port
// builds with -Werror and a redefinition warns. #undef first, then define: no source file of
// the MicroPython tree is modified.
#include <mpconfigport.h>

#undef MICROPY_PY_SELECT
#define MICROPY_PY_SELECT           (1)
#undef MICROPY_PY_TIME
#define MICROPY_PY_TIME             (1)
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO          (1)

// The board's HAL additions (clock, atomic section, idle wait) on top of the stock
// mphalport.h; see mphalport_awaitq.h.
#define MICROPY_MPHALPORT_H         "mphalport_awaitq.h"

// Board bring-up on every (soft) reset: RAM vector table, hardware clock. Teardown stops every
// interrupt source that may touch the Python heap (the ISR producer) before the next run.
void awaitq_board_init(void);
void awaitq_board_deinit(void);
#define MICROPY_PORT_INIT_FUNC      awaitq_board_init()
#define MICROPY_PORT_DEINIT_FUNC    awaitq_board_deinit()
