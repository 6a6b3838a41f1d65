//! Compile-time proof that `csrc/shim.h` (what C calls) and the Rust definitions (what runs)
//! agree: each array below only type-checks if bindgen's declaration from the header and the
//! Rust function coerce to the same function-pointer type.

use crate::ffi::{
    self, awaitq_mp_channel_obj_t as Ch, awaitq_mp_error_t as Err, awaitq_mp_frame_t as Frame,
    awaitq_mp_op_obj_t as Op, awaitq_mp_stat_t as Stat, mp_int_t, mp_uint_t,
};
use crate::{channel as c, op as o};
use core::ffi::c_char;

type Config = unsafe extern "C" fn(
    mp_int_t,
    mp_int_t,
    *const c_char,
    usize,
    *mut u8,
    *mut usize,
    *mut Err,
) -> bool;
type Init = unsafe extern "C" fn(*mut Ch, usize, mp_int_t, mp_int_t, u8, *mut Err) -> bool;
type Push = unsafe extern "C" fn(*const Ch, u32, *const u8, usize, *mut Err) -> bool;
type TryRecv =
    unsafe extern "C" fn(*const Ch, *mut u8, usize, *mut Frame, *mut usize, *mut Err) -> u8;
type RecvResume = unsafe extern "C" fn(*mut Op, u8, *mut u8, usize, *mut Frame, *mut Err) -> u8;
type BatchResume = unsafe extern "C" fn(*mut Op, u8, *mut u8, usize, *mut usize, *mut Err) -> u8;
type BatchNext =
    unsafe extern "C" fn(*const u8, usize, *mut usize, *mut u32, *mut usize, *mut usize) -> bool;
type SendResume = unsafe extern "C" fn(*mut Op, u8, *const u8, usize, *mut Err) -> u8;
type BatchPut = unsafe extern "C" fn(*mut u8, usize, u32, *const u8, usize) -> usize;

const _: [unsafe extern "C" fn() -> usize; 2] = [ffi::awaitq_mp_core_size, c::awaitq_mp_core_size];
const _: [unsafe extern "C" fn(*mut usize, *mut usize); 2] =
    [ffi::awaitq_mp_defaults, c::awaitq_mp_defaults];
const _: [Config; 2] = [ffi::awaitq_mp_config, c::awaitq_mp_config];
const _: [Init; 2] = [ffi::awaitq_mp_channel_init, c::awaitq_mp_channel_init];
const _: [Push; 2] = [ffi::awaitq_mp_push, c::awaitq_mp_push];
const _: [TryRecv; 2] = [ffi::awaitq_mp_try_recv, c::awaitq_mp_try_recv];
const _: [unsafe extern "C" fn(*const Ch); 2] = [ffi::awaitq_mp_close, c::awaitq_mp_close];
const _: [unsafe extern "C" fn(*const Ch) -> bool; 2] =
    [ffi::awaitq_mp_is_closed, c::awaitq_mp_is_closed];
const _: [unsafe extern "C" fn(*const Ch) -> usize; 3] =
    [ffi::awaitq_mp_len, c::awaitq_mp_len, c::awaitq_mp_capacity];
const _: [unsafe extern "C" fn(*const Ch) -> usize; 1] = [ffi::awaitq_mp_capacity];
const _: [unsafe extern "C" fn(*const Ch, *mut usize) -> *const c_char; 2] =
    [ffi::awaitq_mp_overflow_name, c::awaitq_mp_overflow_name];
const _: [unsafe extern "C" fn(*const Ch, *mut Stat, usize) -> usize; 2] =
    [ffi::awaitq_mp_stats, c::awaitq_mp_stats];
const _: [unsafe extern "C" fn(*const Ch, mp_uint_t) -> mp_uint_t; 2] =
    [ffi::awaitq_mp_poll, c::awaitq_mp_poll];
const _: [unsafe extern "C" fn(*mut Op); 2] = [ffi::awaitq_mp_op_reset, o::awaitq_mp_op_reset];
const _: [unsafe extern "C" fn(*const Op) -> u8; 2] =
    [ffi::awaitq_mp_op_phase, o::awaitq_mp_op_phase];
const _: [RecvResume; 2] = [ffi::awaitq_mp_recv_resume, o::awaitq_mp_recv_resume];
const _: [SendResume; 2] = [ffi::awaitq_mp_send_resume, o::awaitq_mp_send_resume];
const _: [BatchResume; 2] = [
    ffi::awaitq_mp_recv_batch_resume,
    o::awaitq_mp_recv_batch_resume,
];
const _: [BatchNext; 2] = [ffi::awaitq_mp_batch_next, o::awaitq_mp_batch_next];
const _: [BatchPut; 2] = [ffi::awaitq_mp_batch_put, o::awaitq_mp_batch_put];

/// Native continuations: the C API of `ports/include/awaitq_aw.h` and what the type's slots
/// and `awaitq.testing.cont` call.
#[cfg(feature = "cont")]
mod cont {
    use crate::ffi::{
        self, awaitq_aw_defer_cb as Defer, awaitq_aw_error_cb as ErrCb,
        awaitq_aw_result_cb as ResCb, awaitq_mp_cont_obj_t as Cont,
        awaitq_mp_signal_state_t as SignalState, mp_obj_t as O,
    };
    use core::ffi::{c_int, c_void};

    type AddAwait = unsafe extern "C" fn(O, O, ResCb, ErrCb) -> c_int;
    type Resume = unsafe extern "C" fn(*mut Cont, u8, O, *mut O) -> u8;
    type EachFn = unsafe extern "C" fn(O, *const O, usize, O, O, *mut O) -> bool;
    type WaitFn = unsafe extern "C" fn(O, *const SignalState, O, u32, *mut O) -> bool;

    const _: [unsafe extern "C" fn() -> O; 2] =
        [ffi::awaitq_mp_aw_new, crate::cont::capi::awaitq_mp_aw_new];
    const _: [AddAwait; 3] = [
        ffi::awaitq_mp_aw_add_await,
        crate::cont::capi::awaitq_mp_aw_add_await,
        crate::cont::capi::awaitq_mp_aw_async_with,
    ];
    const _: [AddAwait; 1] = [ffi::awaitq_mp_aw_async_with];
    const _: [unsafe extern "C" fn(O, Defer) -> c_int; 2] = [
        ffi::awaitq_mp_aw_defer_await,
        crate::cont::capi::awaitq_mp_aw_defer_await,
    ];
    const _: [unsafe extern "C" fn(O, O) -> c_int; 4] = [
        ffi::awaitq_mp_aw_set_result,
        crate::cont::capi::awaitq_mp_aw_set_result,
        ffi::awaitq_mp_aw_raise,
        crate::cont::capi::awaitq_mp_aw_raise,
    ];
    const _: [unsafe extern "C" fn(O, usize, *const O) -> c_int; 2] =
        [ffi::awaitq_mp_aw_save, crate::cont::capi::awaitq_mp_aw_save];
    const _: [unsafe extern "C" fn(O, usize, *const *mut O) -> c_int; 2] = [
        ffi::awaitq_mp_aw_unpack,
        crate::cont::capi::awaitq_mp_aw_unpack,
    ];
    const _: [unsafe extern "C" fn(O, usize, *const *mut c_void) -> c_int; 2] = [
        ffi::awaitq_mp_aw_save_ptr,
        crate::cont::capi::awaitq_mp_aw_save_ptr,
    ];
    const _: [unsafe extern "C" fn(O, usize, *const *mut *mut c_void) -> c_int; 2] = [
        ffi::awaitq_mp_aw_unpack_ptr,
        crate::cont::capi::awaitq_mp_aw_unpack_ptr,
    ];
    const _: [unsafe extern "C" fn(O, usize) -> O; 2] = [
        ffi::awaitq_mp_aw_get_value,
        crate::cont::capi::awaitq_mp_aw_get_value,
    ];
    const _: [unsafe extern "C" fn(O, usize, O) -> c_int; 2] = [
        ffi::awaitq_mp_aw_set_value,
        crate::cont::capi::awaitq_mp_aw_set_value,
    ];
    const _: [unsafe extern "C" fn(O) -> c_int; 4] = [
        ffi::awaitq_mp_aw_cancel,
        crate::cont::capi::awaitq_mp_aw_cancel,
        ffi::awaitq_mp_aw_check,
        crate::cont::capi::awaitq_mp_aw_check,
    ];
    const _: [unsafe extern "C" fn() -> O; 2] = [
        ffi::awaitq_mp_aw_take_error,
        crate::cont::capi::awaitq_mp_aw_take_error,
    ];

    const _: [unsafe extern "C" fn() -> usize; 4] = [
        ffi::awaitq_mp_cont_state_size,
        crate::cont::exports::awaitq_mp_cont_state_size,
        ffi::awaitq_mp_testing_live,
        crate::cont::testing::awaitq_mp_testing_live,
    ];
    const _: [Resume; 2] = [
        ffi::awaitq_mp_cont_resume,
        crate::cont::exports::awaitq_mp_cont_resume,
    ];
    const _: [unsafe extern "C" fn(*const Cont) -> bool; 2] = [
        ffi::awaitq_mp_cont_woken,
        crate::cont::exports::awaitq_mp_cont_woken,
    ];
    const _: [unsafe extern "C" fn(*const Cont) -> c_int; 2] = [
        ffi::awaitq_mp_cont_wake_fd,
        crate::cont::exports::awaitq_mp_cont_wake_fd,
    ];
    const _: [unsafe extern "C" fn(*mut Cont); 2] = [
        ffi::awaitq_mp_cont_finalise,
        crate::cont::exports::awaitq_mp_cont_finalise,
    ];

    const _: [unsafe extern "C" fn(O, *mut O) -> bool; 4] = [
        ffi::awaitq_mp_testing_ready,
        crate::cont::testing::awaitq_mp_testing_ready,
        ffi::awaitq_mp_testing_await_catching,
        crate::cont::testing::awaitq_mp_testing_await_catching,
    ];
    const _: [EachFn; 2] = [
        ffi::awaitq_mp_testing_await_each,
        crate::cont::testing::awaitq_mp_testing_await_each,
    ];
    const _: [unsafe extern "C" fn(O, O, *mut O) -> bool; 2] = [
        ffi::awaitq_mp_testing_join_two,
        crate::cont::testing::awaitq_mp_testing_join_two,
    ];
    const _: [unsafe extern "C" fn(O) -> O; 2] = [
        ffi::awaitq_mp_testing_poll_outside,
        crate::cont::testing::awaitq_mp_testing_poll_outside,
    ];
    const _: [unsafe extern "C" fn(usize, O, *mut O) -> bool; 2] = [
        ffi::awaitq_mp_testing_yield_now,
        crate::cont::testing::awaitq_mp_testing_yield_now,
    ];
    const _: [unsafe extern "C" fn() -> usize; 2] = [
        ffi::awaitq_mp_testing_signal_size,
        crate::cont::testing::awaitq_mp_testing_signal_size,
    ];
    const _: [unsafe extern "C" fn(*mut SignalState); 2] = [
        ffi::awaitq_mp_testing_signal_init,
        crate::cont::testing::awaitq_mp_testing_signal_init,
    ];
    const _: [unsafe extern "C" fn(*const SignalState); 2] = [
        ffi::awaitq_mp_testing_signal_set,
        crate::cont::testing::awaitq_mp_testing_signal_set,
    ];
    const _: [WaitFn; 2] = [
        ffi::awaitq_mp_testing_wait_signal,
        crate::cont::testing::awaitq_mp_testing_wait_signal,
    ];
}
