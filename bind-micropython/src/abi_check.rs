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
type SendResume = unsafe extern "C" fn(*mut Op, u8, *const u8, usize, *mut Err) -> u8;

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
