// `qemuboard`: what tests need to observe the awaitq qemu board itself.
//
//     qemuboard.idle_stats() -> (sleeps, skipped)
//         sleeps: idle waits that executed WFI; skipped: idle waits that returned at once
//         because a wake was signalled between the event loop's poll and the sleep.
//     qemuboard.cycles() -> int   25 MHz hardware clock cycles since power-on
#include "py/runtime.h"
#include "py/objint.h"

#include "board.h"

static mp_obj_t qemuboard_idle_stats(void) {
    board_idle_stats_t st = board_idle_stats();
    mp_obj_t items[2] = {mp_obj_new_int_from_uint(st.sleeps), mp_obj_new_int_from_uint(st.skipped)};
    return mp_obj_new_tuple(2, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(qemuboard_idle_stats_obj, qemuboard_idle_stats);

static mp_obj_t qemuboard_cycles(void) {
    return mp_obj_new_int_from_ull(board_clock_cycles());
}
static MP_DEFINE_CONST_FUN_OBJ_0(qemuboard_cycles_obj, qemuboard_cycles);

static const mp_rom_map_elem_t qemuboard_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_qemuboard) },
    { MP_ROM_QSTR(MP_QSTR_idle_stats), MP_ROM_PTR(&qemuboard_idle_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_cycles), MP_ROM_PTR(&qemuboard_cycles_obj) },
};
static MP_DEFINE_CONST_DICT(qemuboard_globals, qemuboard_globals_table);

const mp_obj_module_t qemuboard_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&qemuboard_globals,
};

MP_REGISTER_MODULE(MP_QSTR_qemuboard, qemuboard_module);
