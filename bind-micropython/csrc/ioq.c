// Registration with asyncio's I/O queue, shared by the channel awaitables (op.c) and a Rust
// future waiting on its Waker (cont_call.c). In MicroPython's asyncio a task that yields None
// is rescheduled only by such a registration, so an awaitable never yields without it.
#include "py/runtime.h"

#include "internal.h"

// asyncio.core, if imported. Looked up in sys.modules each time (no allocation, and correct
// after asyncio.new_event_loop() replaced the loop's queues). A dotted name cannot be an
// MP_QSTR_ literal, and a qstr cached in a static would not survive a soft reset, so the
// (already interned, once asyncio is imported) qstr is found by name.
mp_obj_t awaitq_mp_asyncio_core(void) {
    static const char name[] = "asyncio.core";
    qstr q = qstr_find_strn(name, sizeof(name) - 1);
    if (q == MP_QSTRnull) {
        return MP_OBJ_NULL;
    }
    mp_map_elem_t *elem = mp_map_lookup(&MP_STATE_VM(mp_loaded_modules_dict).map,
        MP_OBJ_NEW_QSTR(q), MP_MAP_LOOKUP);
    return elem == NULL ? MP_OBJ_NULL : elem->value;
}

static mp_obj_t call_method1(mp_obj_t obj, qstr name, mp_obj_t arg) {
    mp_obj_t dest[3];
    mp_load_method(obj, name, dest);
    dest[2] = arg;
    return mp_call_method_n_kw(1, 0, dest);
}

mp_obj_t awaitq_mp_ioq_entry(mp_obj_t self, mp_obj_t ioq) {
    if (ioq == MP_OBJ_NULL) {
        return MP_OBJ_NULL;
    }
    mp_obj_t map = mp_load_attr(ioq, MP_QSTR_map);
    if (!mp_obj_is_type(map, &mp_type_dict)) {
        return MP_OBJ_NULL;
    }
    mp_map_elem_t *elem = mp_map_lookup(mp_obj_dict_get_map(map), mp_obj_id(self), MP_MAP_LOOKUP);
    return elem == NULL ? MP_OBJ_NULL : elem->value;
}

void awaitq_mp_ioq_leave(mp_obj_t self, mp_obj_t *ioq) {
    if (awaitq_mp_ioq_entry(self, *ioq) != MP_OBJ_NULL) {
        call_method1(*ioq, MP_QSTR__dequeue, self);
    }
    *ioq = MP_OBJ_NULL;
}

void awaitq_mp_ioq_join(mp_obj_t self, mp_obj_t *ioq) {
    mp_obj_t core = awaitq_mp_asyncio_core();
    if (core == MP_OBJ_NULL || mp_load_attr(core, MP_QSTR_cur_task) == mp_const_none) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("awaitq: await needs a running asyncio task"));
    }
    mp_obj_t q = mp_load_attr(core, MP_QSTR__io_queue);
    call_method1(q, MP_QSTR_queue_read, self);
    *ioq = q;
}
