// A RAM vector table for the awaitq qemu board, so board code can attach interrupt handlers
// without patching ports/qemu/mcu/arm/startup.c (whose table stops at SysTick). The Cortex-M3
// relocates its table through SCB->VTOR; the table must be aligned to its size rounded up to
// a power of two (16 + 32 entries * 4 bytes = 192 -> 256 bytes).
#include <stdlib.h>

#include "py/mphal.h"

#include "board.h"

#define SCB_VTOR    (*(volatile uint32_t *)0xE000ED08)
#define NVIC_ISER   ((volatile uint32_t *)0xE000E100)
#define NVIC_ICER   ((volatile uint32_t *)0xE000E180)
#define NVIC_ISPR   ((volatile uint32_t *)0xE000E200)
#define NVIC_ICPR   ((volatile uint32_t *)0xE000E280)

#define NUM_VECTORS (16 + BOARD_NUM_IRQ)

static uint32_t board_vectors[NUM_VECTORS] __attribute__((aligned(256)));

// An interrupt nobody claimed: a board bug. Fail loudly (qemu exits via semihosting) rather
// than re-entering forever.
static void board_unclaimed_irq(void) {
    uint32_t ipsr;
    __asm volatile ("mrs %0, ipsr" : "=r" (ipsr));
    mp_printf(&mp_plat_print, "awaitq board: unclaimed exception %u\n", (unsigned)(ipsr & 0x1ff));
    exit(3);
}

void board_irq_init(void) {
    if (SCB_VTOR == (uint32_t)board_vectors) {
        return; // soft reset: keep the table (and the handlers the clock installed)
    }
    const volatile uint32_t *rom = (const volatile uint32_t *)SCB_VTOR;
    for (int i = 0; i < 16; ++i) {
        board_vectors[i] = rom[i];
    }
    for (int i = 16; i < NUM_VECTORS; ++i) {
        board_vectors[i] = (uint32_t)board_unclaimed_irq;
    }
    __asm volatile ("dsb" : : : "memory");
    SCB_VTOR = (uint32_t)board_vectors;
    __asm volatile ("dsb\n isb" : : : "memory");
}

void board_irq_set_handler(int exc, void (*handler)(void)) {
    board_vectors[exc] = (uint32_t)handler;
    __asm volatile ("dsb" : : : "memory");
}

void board_irq_enable(int irq) {
    NVIC_ICPR[irq / 32] = 1u << (irq % 32);
    NVIC_ISER[irq / 32] = 1u << (irq % 32);
}

void board_irq_disable(int irq) {
    NVIC_ICER[irq / 32] = 1u << (irq % 32);
    __asm volatile ("dsb\n isb" : : : "memory");
}

void board_irq_pend(int irq) {
    NVIC_ISPR[irq / 32] = 1u << (irq % 32);
    // Make the pend visible before the next instruction, so an enabled interrupt is taken
    // here and not a few instructions later.
    __asm volatile ("dsb\n isb" : : : "memory");
}
