// HAL of the awaitq qemu board: the stock qemu mphalport.h plus what the stock port lacks for
// interrupt-driven asyncio.
//
// 1. An atomic section that masks interrupts. The stock qemu port leaves
//    MICROPY_BEGIN_ATOMIC_SECTION at py/mphal.h's default, `(0)`: a no-op, harmless there
//    because nothing runs in interrupt context. awaitq's core takes this section as its only
//    lock, so with an ISR producer it must exclude that ISR: PRIMASK is saved and set, and
//    restored (not just cleared) so sections nest, exactly as ports/stm32 does it.
// 2. MICROPY_INTERNAL_WFE, the wait at the bottom of select.poll/asyncio's idle path, sleeps
//    the core in WFI until an interrupt, instead of the stock busy loop. See board_clock.c for
//    why that sleep cannot miss a frame pushed just before it.
#ifndef AWAITQ_QEMU_MPHALPORT_H
#define AWAITQ_QEMU_MPHALPORT_H

#include "mphalport.h"   // the stock qemu HAL (stdio over the UART)

#include <stdint.h>

static inline uint32_t awaitq_board_irq_save(void) {
    uint32_t primask;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (primask) : : "memory");
    return primask;
}

static inline void awaitq_board_irq_restore(uint32_t primask) {
    __asm volatile ("msr primask, %0" : : "r" (primask) : "memory");
}

#define MICROPY_BEGIN_ATOMIC_SECTION()     awaitq_board_irq_save()
#define MICROPY_END_ATOMIC_SECTION(state)  awaitq_board_irq_restore(state)

// Sleep until an interrupt, at most timeout_ms ((mp_uint_t)-1: no limit). Returns early, and
// does not sleep at all, if a wake was signalled since the last call (awaitq_board_signal).
void awaitq_board_idle(uint32_t timeout_ms);
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS)   awaitq_board_idle((uint32_t)(TIMEOUT_MS))

// Marks "work for the VM is pending": the next awaitq_board_idle returns without sleeping.
// ISR-safe; called by the board's awaitq_port_wake.
void awaitq_board_signal(void);

#endif // AWAITQ_QEMU_MPHALPORT_H
