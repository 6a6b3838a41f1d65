// Hardware of the qemu MPS2-AN385 machine that the awaitq board code uses, and the board's
// internal API. Addresses and IRQ numbers are those of qemu's hw/arm/mps2.c (AN385 image):
//   TIMER0  CMSDK APB timer  0x40000000  IRQ 8   -> the isrbus producer (board_isrbus.c)
//   TIMER1  CMSDK APB timer  0x40001000  IRQ 9   -> the free-running clock (board_clock.c)
//   SysTick (core)                               -> one-shot wake-up alarm of the idle wait
// Every timer is clocked by the 25 MHz system clock (SYSCLK_FRQ in mps2.c). The NVIC has 32
// external interrupts ("num-irq" = 32).
#ifndef AWAITQ_QEMU_BOARD_H
#define AWAITQ_QEMU_BOARD_H

#include <stdint.h>

#define BOARD_SYSCLK_HZ     (25000000u)
#define BOARD_NUM_IRQ       (32)

// CMSDK APB timer (ARM DDI0479C, 4.3): counts VALUE down at PCLK; on reaching 0 it raises its
// interrupt (if CTRL.IRQEN) and reloads from RELOAD.
typedef struct {
    volatile uint32_t CTRL;         // bit 0 enable, bit 3 interrupt enable
    volatile uint32_t VALUE;
    volatile uint32_t RELOAD;
    volatile uint32_t INTSTATUS;    // write 1: INTCLEAR
} board_timer_t;

#define BOARD_TIMER_EN      (1u << 0)
#define BOARD_TIMER_IRQEN   (1u << 3)

#define BOARD_TIMER0        ((board_timer_t *)0x40000000)
#define BOARD_TIMER0_IRQ    (8)
#define BOARD_TIMER1        ((board_timer_t *)0x40001000)
#define BOARD_TIMER1_IRQ    (9)

// Exception numbers (vector table index) of the core's own sources.
#define BOARD_EXC_SYSTICK   (15)
#define BOARD_EXC_IRQ(n)    (16 + (n))

// board_irq.c: a vector table in RAM (the stock one in ports/qemu lists only the 16 core
// exceptions) and NVIC control.
void board_irq_init(void);
void board_irq_set_handler(int exc, void (*handler)(void));
void board_irq_enable(int irq);
void board_irq_disable(int irq);
// Makes `irq` pending from software, exactly as if its device had raised it.
void board_irq_pend(int irq);

// board_clock.c
void board_clock_init(void);
uint64_t board_clock_cycles(void);   // 25 MHz cycles since power-on; never wraps

// Idle-wait counters, for tests that prove the VM sleeps instead of spinning.
typedef struct {
    uint32_t sleeps;        // WFI executed
    uint32_t skipped;       // a wake was already signalled: returned without sleeping
} board_idle_stats_t;
board_idle_stats_t board_idle_stats(void);

// Test hooks for the two halves of the window between the event loop's last poll and the
// sleep (see board_clock.c); NULL when unused.
// - prehook: at the top of every idle wait, interrupts enabled (an interrupt raised here runs
//   at once, before the idle wait looks at the wake flag);
// - wfi_hook: in an idle wait that is about to sleep, interrupts masked, immediately before
//   WFI (an interrupt raised here stays pending until WFI has returned).
extern void (*volatile board_idle_prehook)(void);
extern void (*volatile board_idle_wfi_hook)(void);

// Stops every interrupt source that may write into the Python heap; runs at soft reset.
// Weak no-op unless board_isrbus.c is linked.
void board_producers_stop(void);

#endif // AWAITQ_QEMU_BOARD_H
