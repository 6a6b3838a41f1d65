// Time and sleep for the awaitq qemu board: a hardware clock (so asyncio.sleep and timeouts
// are real time) and an idle wait that sleeps the core until an interrupt.
//
// Clock: TIMER1 counts down at 25 MHz with a period of exactly 100 s and interrupts once per
// wrap; the wrap count extends it. The period is a whole number of milliseconds so that ticks
// are wraps * constant + (cycles into the period) / constant: 32-bit hardware division only
// (a 64-bit division would pull libgcc's __aeabi_uldivmod, whose unwind tables the stock
// linker script does not place).
//
// Idle wait (MICROPY_INTERNAL_WFE, reached from select.poll when asyncio has nothing to run):
//
//     poll every registered object (the awaitq Channel's ioctl: "a frame queued?")   (1)
//     ... nothing ready ...
//     awaitq_board_idle(timeout):
//         PRIMASK = 1                          mask interrupts (they still wake WFI)    (2)
//         if wake_pending: clear it, return    an ISR pushed after (1): don't sleep
//         arm SysTick for the timeout; WFI     sleeps; a pending IRQ ends it at once   (3)
//         PRIMASK = previous                   the ISR that woke us runs now
//
// The race this closes: a timer/bus ISR pushes a frame after (1) looked at the channel but
// before the core sleeps. The push calls awaitq_port_wake (board_isrbus.c), which sets
// wake_pending. If the ISR ran before (2), the flag is seen and the core does not sleep; if it
// becomes pending after (2), it cannot run (masked) but WFI still returns immediately because
// an interrupt is pending (ARMv7-M: WFI wakes on any pending interrupt that would preempt if
// PRIMASK were 0). Either way the loop polls again and finds the frame. Without the flag, a
// frame pushed in that window would wait for the next unrelated interrupt (up to the asyncio
// timeout, or forever). WFE with SEV in the ISR is the other classic answer (the event register
// latches the SEV); under qemu WFE is a no-op hint, so it would not show a sleep at all.
//
// The ISR tests inject an interrupt at both ends of that window (board_idle_prehook and
// board_idle_wfi_hook in board.h; ports/qemu/tests/isr_race.py), so both cases are run, not
// just argued.
//
// Tickless: no periodic interrupt wakes the core. The only wake sources are device
// interrupts, the SysTick alarm armed for a finite timeout, and TIMER1's wrap.
#include <stdbool.h>

#include "py/mphal.h"
#include "py/runtime.h"

#include "board.h"

#define SYST_CSR    (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR    (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR    (*(volatile uint32_t *)0xE000E018)
#define SYST_CSR_ENABLE     (1u << 0)
#define SYST_CSR_TICKINT    (1u << 1)
#define SYST_CSR_CLKSOURCE  (1u << 2)   // processor clock (25 MHz)
#define SYST_MAX_RELOAD     (0x00FFFFFFu)
#define SCB_ICSR    (*(volatile uint32_t *)0xE000ED04)
#define SCB_ICSR_PENDSTCLR  (1u << 25)

#define CYCLES_PER_MS   (BOARD_SYSCLK_HZ / 1000u)
#define CYCLES_PER_US   (BOARD_SYSCLK_HZ / 1000000u)
#define PERIOD_MS       (100000u)
#define PERIOD_CYCLES   (PERIOD_MS * CYCLES_PER_MS)     // 2.5e9 < 2^32

static volatile uint32_t clock_wraps;
static volatile uint32_t wake_pending;
static volatile board_idle_stats_t idle_stats;
void (*volatile board_idle_prehook)(void);
void (*volatile board_idle_wfi_hook)(void);

static void timer1_wrap_isr(void) {
    BOARD_TIMER1->INTSTATUS = 1;
    clock_wraps = clock_wraps + 1;
}

// One-shot: the alarm only has to end a WFI; the idle loop re-checks time itself.
static void systick_alarm_isr(void) {
    SYST_CSR = 0;
}

MP_WEAK void board_producers_stop(void) {
}

void board_clock_init(void) {
    board_irq_set_handler(BOARD_EXC_IRQ(BOARD_TIMER1_IRQ), timer1_wrap_isr);
    board_irq_set_handler(BOARD_EXC_SYSTICK, systick_alarm_isr);
    if (BOARD_TIMER1->CTRL & BOARD_TIMER_EN) {
        return; // soft reset: the clock keeps running, ticks stay monotonic
    }
    BOARD_TIMER1->RELOAD = PERIOD_CYCLES - 1;
    BOARD_TIMER1->VALUE = PERIOD_CYCLES - 1;
    BOARD_TIMER1->CTRL = BOARD_TIMER_EN | BOARD_TIMER_IRQEN;
    board_irq_enable(BOARD_TIMER1_IRQ);
}

// A consistent (wraps, cycles into the current period) pair.
static void clock_read(uint32_t *wraps_out, uint32_t *cycles_out) {
    uint32_t s = awaitq_board_irq_save();
    uint32_t wraps = clock_wraps;
    uint32_t value = BOARD_TIMER1->VALUE;
    if (BOARD_TIMER1->INTSTATUS & 1) {
        // Wrapped, but the (masked) interrupt has not counted it yet: the value may be from
        // either side of the wrap, so read it again, now certainly after it.
        value = BOARD_TIMER1->VALUE;
        wraps += 1;
    }
    awaitq_board_irq_restore(s);
    *wraps_out = wraps;
    *cycles_out = (PERIOD_CYCLES - 1) - value;
}

uint64_t board_clock_cycles(void) {
    uint32_t wraps, cycles;
    clock_read(&wraps, &cycles);
    return (uint64_t)wraps * PERIOD_CYCLES + cycles;
}

// The ticks are taken modulo 2^32 (callers only use differences), which the 32-bit
// multiplications below give for free.
mp_uint_t mp_hal_ticks_ms(void) {
    uint32_t wraps, cycles;
    clock_read(&wraps, &cycles);
    return wraps * PERIOD_MS + cycles / CYCLES_PER_MS;
}

mp_uint_t mp_hal_ticks_us(void) {
    uint32_t wraps, cycles;
    clock_read(&wraps, &cycles);
    return wraps * (PERIOD_MS * 1000u) + cycles / CYCLES_PER_US;
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return (mp_uint_t)board_clock_cycles();
}

// No RTC on this board: nanoseconds since power-on.
uint64_t mp_hal_time_ns(void) {
    return board_clock_cycles() * (1000000000u / BOARD_SYSCLK_HZ);
}

void mp_hal_delay_us(mp_uint_t us) {
    uint64_t end = board_clock_cycles() + (uint64_t)us * CYCLES_PER_US;
    while (board_clock_cycles() < end) {
    }
}

// Sleeps (and runs scheduled callbacks) instead of spinning, like ports/stm32.
void mp_hal_delay_ms(mp_uint_t ms) {
    mp_uint_t start = mp_hal_ticks_ms();
    mp_uint_t elapsed;
    while ((elapsed = mp_hal_ticks_ms() - start) < ms) {
        mp_event_wait_ms(ms - elapsed);
    }
}

void awaitq_board_signal(void) {
    wake_pending = 1;
}

board_idle_stats_t board_idle_stats(void) {
    uint32_t s = awaitq_board_irq_save();
    board_idle_stats_t copy = {idle_stats.sleeps, idle_stats.skipped};
    awaitq_board_irq_restore(s);
    return copy;
}

static void alarm_arm(uint32_t timeout_ms) {
    uint64_t cycles = (uint64_t)timeout_ms * CYCLES_PER_MS;
    SYST_CSR = 0;
    SYST_RVR = cycles > SYST_MAX_RELOAD ? SYST_MAX_RELOAD : (uint32_t)cycles;
    SYST_CVR = 0;
    SCB_ICSR = SCB_ICSR_PENDSTCLR;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

static void alarm_disarm(void) {
    SYST_CSR = 0;
    SCB_ICSR = SCB_ICSR_PENDSTCLR;
}

void awaitq_board_idle(uint32_t timeout_ms) {
    if (timeout_ms == 0) {
        return;
    }
    void (*prehook)(void) = board_idle_prehook;
    if (prehook != NULL) {
        prehook();
    }
    uint32_t s = awaitq_board_irq_save();
    if (wake_pending) {
        wake_pending = 0;
        idle_stats.skipped = idle_stats.skipped + 1;
    } else {
        if (timeout_ms != (uint32_t)-1) {
            alarm_arm(timeout_ms);
        }
        void (*wfi_hook)(void) = board_idle_wfi_hook;
        if (wfi_hook != NULL) {
            wfi_hook();
        }
        __asm volatile ("dsb\n wfi" : : : "memory");
        alarm_disarm();
        idle_stats.sleeps = idle_stats.sleeps + 1;
    }
    awaitq_board_irq_restore(s);
}

void awaitq_board_init(void) {
    board_irq_init();
    board_clock_init();
    // Interrupts are enabled from reset on this port; make it explicit after the table moved.
    __asm volatile ("cpsie i" : : : "memory");
}

void awaitq_board_deinit(void) {
    board_producers_stop();
    board_idle_prehook = NULL;
    board_idle_wfi_hook = NULL;
}
