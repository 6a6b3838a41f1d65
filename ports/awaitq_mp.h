// awaitq in MicroPython firmware: what C code (drivers, ISRs, RTOS tasks) needs to feed an
// `awaitq.Channel` created in Python.
//
//     #include "awaitq_mp.h"          // with -I<awaitq>/ports -I<awaitq>/ports/include
//
//     // Python hands the channel to the driver, e.g. mydriver.start(ch):
//     static const awaitq_channel_t *rx;      // used by the ISR
//     MP_REGISTER_ROOT_POINTER(mp_obj_t mydriver_channel);   // keeps the Channel alive
//
//     static mp_obj_t mydriver_start(mp_obj_t ch) {
//         const awaitq_channel_t *p = awaitq_mp_channel_ptr(ch);
//         if (p == NULL) mp_raise_TypeError(MP_ERROR_TEXT("expected awaitq.Channel"));
//         MP_STATE_VM(mydriver_channel) = ch;   // reachable while the ISR may push
//         rx = p;
//         return mp_const_none;
//     }
//
//     void UART_IRQHandler(void) {            // any context the atomic section masks
//         uint8_t frame[8]; size_t n = read_fifo(frame);
//         awaitq_push(rx, /*tag*/ 1, frame, n);   // AWAITQ_FULL: counted as dropped
//     }
//
// The producer functions (awaitq_push, awaitq_close, awaitq_is_closed, awaitq_len,
// awaitq_stats) are declared in awaitq.h (the C ABI of core/capi) and linked from the awaitq
// staticlib. They never allocate, never raise and never block beyond MicroPython's atomic
// section (MICROPY_BEGIN_ATOMIC_SECTION), so they are safe from ISRs the section masks, RTOS
// tasks and, on unix, any pthread.
//
// LIFETIME RULE. The pointer is valid only while the Python Channel object is alive. MicroPython
// frees unreachable objects at any garbage collection, and a C static is not a GC root, so:
// - keep the Channel reachable for as long as any producer may push (a root pointer as above,
//   a module global, or an object that is itself reachable);
// - stop every producer (clear `rx`, disable the interrupt, join the thread) BEFORE dropping
//   that reference, and before a soft reset (which discards the whole heap);
// - awaitq.testing.spawn_producer follows this rule: its Producer objects sit in a root-pointer
//   list while their pthread runs, and joining or collecting one stops its thread first.
// Closing the channel (ch.close() / awaitq_close) does not end the lifetime: producers then get
// AWAITQ_CLOSED, which is the clean way to tell them to stop.
#ifndef AWAITQ_MP_H
#define AWAITQ_MP_H

#include "py/obj.h"

#include "awaitq.h"

// The producer handle of a Python awaitq.Channel, or NULL if `obj` is not one. Never raises,
// never allocates; read-only (call it from the VM, not from an ISR).
const awaitq_channel_t *awaitq_mp_channel_ptr(mp_const_obj_t obj);

// PORT WAKE HOOK. Called after a push (or close) made a parked consumer runnable: at most once
// per park, from the producer's context (thread, RTOS task, ISR), outside the atomic section.
// `ch` is the channel, or NULL when the Waker of a Rust future awaited from Python fired (the
// native awaitables, bind-micropython/README.md): the same wake-up, with no channel.
// It must be ISR-safe: no allocation, no blocking, no Python. The default (weak) does nothing;
// a port or board overrides it by defining a strong awaitq_port_wake in any linked C file, to
// cut the latency of the waiting event loop:
//
// - unix: nothing to add. The module already wakes asyncio's poll() through an eventfd (a pipe
//   on other POSIX systems) that each waiting awaitable hands to select.poll, so the loop
//   sleeps in the kernel instead of polling.
// - stm32 / bare-metal Cortex-M (qemu): nothing. The idle loop sleeps in WFI and any
//   interrupt, including the producer's ISR, ends that sleep; the loop then polls the channel.
// - rp2: nothing for ISR producers (the loop's WFE ends on interrupt). For a producer on the
//   other core, wake the waiting core: `__sev();`.
// - esp32: with threads enabled the loop waits in ulTaskNotifyTake(1 tick); wake it now:
//   `mp_hal_wake_main_task_from_isr();` from an ISR, `mp_hal_wake_main_task();` from a task.
// - zephyr: the loop sleeps in k_msleep(1) between polls; `k_wakeup(<the MicroPython thread>)`
//   ends that sleep early.
// - a cooperative RTOS / custom port: signal whatever the port's idle wait
//   (MICROPY_INTERNAL_WFE / MICROPY_EVENT_POLL_HOOK) blocks on: give its semaphore, set its
//   event flag, send its event. mp_sched_schedule() is ISR-safe but does not by itself end
//   that wait, so it is not a substitute.
void awaitq_port_wake(const awaitq_channel_t *ch);

#endif // AWAITQ_MP_H
