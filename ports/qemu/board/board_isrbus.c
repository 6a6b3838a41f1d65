// `isrbus`: a simulated bus whose interrupt handler feeds an awaitq.Channel through awaitq's
// producer C API. This is the firmware pattern the guide (ports/FIRMWARE.md) describes, on
// real (emulated) hardware: TIMER0 of the MPS2-AN385 interrupts, its ISR pushes one frame.
//
//     isrbus.start(ch, count, size=16, period_us=1000, close=False)
//         From now on every TIMER0 interrupt (every period_us; 0 = only software-triggered
//         ones) pushes frame k = 0, 1, ... count-1: tag k, payload k as u32 little-endian then
//         size-4 bytes of k & 0xFF (the awaitq.testing.spawn_producer format). On AWAITQ_FULL
//         the ISR keeps frame k and retries at the next interrupt, so nothing is lost; after
//         the last frame it closes the channel if close=True, and stops. AWAITQ_CLOSED (the
//         consumer closed the channel) or any other status also stops it.
//     isrbus.stop() -> frames pushed
//     isrbus.stats() -> dict: pushed, full (retries), irqs, wakes (awaitq_port_wake calls),
//         status (last awaitq_status_t), running
//     isrbus.fire()   pends TIMER0's interrupt from software: one ISR run, now
//     isrbus.race(n, at_wfi=False)  the next n idle waits pend TIMER0's interrupt inside the
//         window between the event loop's last poll and the sleep (see board_clock.c): the
//         lost-wake-up race, made deterministic. at_wfi=False: at the start of the idle wait,
//         interrupts enabled (the ISR runs before the wait checks the wake flag); at_wfi=True:
//         right before WFI, interrupts masked (the interrupt is pending while WFI executes)
//
// Lifetime (awaitq_mp.h): the Channel stays in a root pointer while the ISR may push, and the
// interrupt is disabled before that reference is dropped (stop(), end of count, soft reset).
#include <string.h>

#include "py/mphal.h"
#include "py/runtime.h"

#include "awaitq_mp.h"
#include "board.h"

#define ISRBUS_MAX_SIZE (64)

typedef struct {
    const awaitq_channel_t *ch;     // NULL when stopped; read by the ISR
    uint32_t next;                  // frame to push next
    uint32_t count;
    uint32_t size;
    bool close;
    volatile uint32_t race_left;    // idle waits left to inject an interrupt into
    // Counters the ISR writes and the VM reads (under the atomic section).
    uint32_t full;
    uint32_t irqs;
    uint32_t wakes;
    uint32_t status;
} isrbus_t;

static isrbus_t bus;

MP_REGISTER_ROOT_POINTER(mp_obj_t isrbus_channel);

// Runs with the timer interrupt masked or from the ISR itself.
static void isrbus_halt(void) {
    BOARD_TIMER0->CTRL = 0;
    BOARD_TIMER0->INTSTATUS = 1;
    bus.ch = NULL;
}

static void isrbus_push_one(void) {
    uint8_t frame[ISRBUS_MAX_SIZE];
    uint32_t k = bus.next;
    frame[0] = (uint8_t)k;
    frame[1] = (uint8_t)(k >> 8);
    frame[2] = (uint8_t)(k >> 16);
    frame[3] = (uint8_t)(k >> 24);
    memset(frame + 4, (int)(k & 0xFF), bus.size - 4);
    awaitq_status_t st = awaitq_push(bus.ch, k, frame, bus.size);
    bus.status = (uint32_t)st;
    if (st == AWAITQ_OK) {
        bus.next = k + 1;
        if (bus.next == bus.count) {
            if (bus.close) {
                awaitq_close(bus.ch);
            }
            isrbus_halt();
        }
    } else if (st == AWAITQ_FULL) {
        bus.full += 1;      // keep frame k: retried at the next interrupt
    } else {
        isrbus_halt();      // closed by the consumer, or a bad frame: stop, like spawn_producer
    }
}

// The interrupt handler: what a UART/SPI/CAN RX ISR does in a real driver.
static void isrbus_timer0_isr(void) {
    BOARD_TIMER0->INTSTATUS = 1;
    bus.irqs += 1;
    if (bus.ch != NULL) {
        isrbus_push_one();
    }
}

// The port wake hook (awaitq_mp.h), called from the ISR after a push made the parked consumer
// runnable: tell the idle wait not to sleep past it.
void awaitq_port_wake(const awaitq_channel_t *ch) {
    (void)ch;
    bus.wakes += 1;
    awaitq_board_signal();
}

static void isrbus_race_prehook(void) {
    if (bus.race_left > 0 && bus.ch != NULL) {
        bus.race_left -= 1;
        board_irq_pend(BOARD_TIMER0_IRQ);   // taken right here: interrupts are enabled
    }
}

static void isrbus_race_wfi_hook(void) {
    if (bus.race_left > 0 && bus.ch != NULL) {
        bus.race_left -= 1;
        board_irq_pend(BOARD_TIMER0_IRQ);   // stays pending: interrupts are masked
    }
}

void board_producers_stop(void) {
    uint32_t s = awaitq_board_irq_save();
    isrbus_halt();
    bus.race_left = 0;
    awaitq_board_irq_restore(s);
    board_irq_disable(BOARD_TIMER0_IRQ);
    if (board_idle_prehook == isrbus_race_prehook) {
        board_idle_prehook = NULL;
    }
    if (board_idle_wfi_hook == isrbus_race_wfi_hook) {
        board_idle_wfi_hook = NULL;
    }
}

static mp_obj_t isrbus_stop(void) {
    board_producers_stop();
    MP_STATE_VM(isrbus_channel) = MP_OBJ_NULL;    // only now may the Channel be collected
    return mp_obj_new_int_from_uint(bus.next);
}
static MP_DEFINE_CONST_FUN_OBJ_0(isrbus_stop_obj, isrbus_stop);

static mp_obj_t isrbus_start(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_ch, ARG_count, ARG_size, ARG_period_us, ARG_close };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_ch, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_count, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_size, MP_ARG_INT, {.u_int = 16} },
        { MP_QSTR_period_us, MP_ARG_INT, {.u_int = 1000} },
        { MP_QSTR_close, MP_ARG_BOOL, {.u_bool = false} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed), allowed, args);

    const awaitq_channel_t *ch = awaitq_mp_channel_ptr(args[ARG_ch].u_obj);
    if (ch == NULL) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected awaitq.Channel"));
    }
    mp_int_t count = args[ARG_count].u_int;
    mp_int_t size = args[ARG_size].u_int;
    mp_int_t period_us = args[ARG_period_us].u_int;
    if (count < 0 || size < 4 || size > ISRBUS_MAX_SIZE || period_us < 0
        || period_us > 100000000) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad count, size or period_us"));
    }
    board_producers_stop();

    bus = (isrbus_t) {
        .next = 0, .count = (uint32_t)count, .size = (uint32_t)size, .close = args[ARG_close].u_bool,
    };
    MP_STATE_VM(isrbus_channel) = args[ARG_ch].u_obj;   // reachable before the ISR can push
    board_irq_set_handler(BOARD_EXC_IRQ(BOARD_TIMER0_IRQ), isrbus_timer0_isr);
    uint32_t s = awaitq_board_irq_save();
    bus.ch = count > 0 ? ch : NULL;
    if (bus.ch != NULL && period_us > 0) {
        uint32_t reload = (uint32_t)period_us * (BOARD_SYSCLK_HZ / 1000000u) - 1;
        BOARD_TIMER0->RELOAD = reload;
        BOARD_TIMER0->VALUE = reload;
        BOARD_TIMER0->CTRL = BOARD_TIMER_EN | BOARD_TIMER_IRQEN;
    }
    awaitq_board_irq_restore(s);
    board_irq_enable(BOARD_TIMER0_IRQ);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(isrbus_start_obj, 2, isrbus_start);

static mp_obj_t isrbus_fire(void) {
    board_irq_pend(BOARD_TIMER0_IRQ);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(isrbus_fire_obj, isrbus_fire);

static mp_obj_t isrbus_race(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_n, ARG_at_wfi };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_n, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_at_wfi, MP_ARG_BOOL, {.u_bool = false} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed), allowed, args);
    if (args[ARG_n].u_int < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("n < 0"));
    }
    bool at_wfi = args[ARG_at_wfi].u_bool;
    board_idle_prehook = NULL;
    board_idle_wfi_hook = NULL;
    bus.race_left = (uint32_t)args[ARG_n].u_int;
    if (at_wfi) {
        board_idle_wfi_hook = isrbus_race_wfi_hook;
    } else {
        board_idle_prehook = isrbus_race_prehook;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(isrbus_race_obj, 1, isrbus_race);

// isrbus.claim_race(tag) -> len: a thread producer preempted between claim and publish by an
// ISR producer, on one core. The VM reserves a slot (awaitq_reserve: claimed, not published)
// and writes tag as a u32 into it, then TIMER0's interrupt is taken right there and the ISR
// pushes its next frame into the same channel, then the VM commits. Returns awaitq_len() as
// the ISR left it (2: the pending claim and the ISR's frame), or -status if the reserve
// failed. Neither side may wait for the other; the frames leave in claim order.
static mp_obj_t isrbus_claim_race(mp_obj_t tag_in) {
    const awaitq_channel_t *ch = bus.ch;
    if (ch == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("isrbus is not running"));
    }
    uint32_t tag = (uint32_t)mp_obj_get_int_truncated(tag_in);
    awaitq_status_t st = AWAITQ_INVALID;
    uint8_t *slot = awaitq_reserve(ch, 4, &st);
    if (slot == NULL) {
        return MP_OBJ_NEW_SMALL_INT(-(mp_int_t)st);
    }
    slot[0] = (uint8_t)tag;
    slot[1] = (uint8_t)(tag >> 8);
    slot[2] = (uint8_t)(tag >> 16);
    slot[3] = (uint8_t)(tag >> 24);
    board_irq_pend(BOARD_TIMER0_IRQ);   // taken here: interrupts are enabled
    size_t len = awaitq_len(ch);
    st = awaitq_commit(ch, slot, tag, 4);
    if (st != AWAITQ_OK) {
        return MP_OBJ_NEW_SMALL_INT(-(mp_int_t)st);
    }
    return MP_OBJ_NEW_SMALL_INT((mp_int_t)len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(isrbus_claim_race_obj, isrbus_claim_race);

static mp_obj_t isrbus_stats(void) {
    uint32_t s = awaitq_board_irq_save();
    isrbus_t copy = bus;
    awaitq_board_irq_restore(s);
    mp_obj_t d = mp_obj_new_dict(6);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_pushed), mp_obj_new_int_from_uint(copy.next));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_full), mp_obj_new_int_from_uint(copy.full));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_irqs), mp_obj_new_int_from_uint(copy.irqs));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_wakes), mp_obj_new_int_from_uint(copy.wakes));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_status), mp_obj_new_int_from_uint(copy.status));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_running), mp_obj_new_bool(copy.ch != NULL));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(isrbus_stats_obj, isrbus_stats);

static const mp_rom_map_elem_t isrbus_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_isrbus) },
    { MP_ROM_QSTR(MP_QSTR_start), MP_ROM_PTR(&isrbus_start_obj) },
    { MP_ROM_QSTR(MP_QSTR_stop), MP_ROM_PTR(&isrbus_stop_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&isrbus_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_fire), MP_ROM_PTR(&isrbus_fire_obj) },
    { MP_ROM_QSTR(MP_QSTR_race), MP_ROM_PTR(&isrbus_race_obj) },
    { MP_ROM_QSTR(MP_QSTR_claim_race), MP_ROM_PTR(&isrbus_claim_race_obj) },
};
static MP_DEFINE_CONST_DICT(isrbus_globals, isrbus_globals_table);

const mp_obj_module_t isrbus_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&isrbus_globals,
};

MP_REGISTER_MODULE(MP_QSTR_isrbus, isrbus_module);
