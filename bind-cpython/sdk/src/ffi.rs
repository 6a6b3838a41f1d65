//! The C tables of the `awaitq._C_API` capsule, as `#[repr(C)]` mirrors of `awaitq.h` and
//! `awaitq_aw.h` (the headers in `awaitq.get_include()`).
//!
//! The capsule points to an [`awaitq_capi_t`]: groups of functions, each appended by a new
//! version; `producer.version` is the version of the awaitq module that made it. Read a group
//! only when `producer.version` is at least the version that added it (the batch and zero-copy
//! producer functions follow [`awaitq_capi_t::aw`] since version 3); this crate's
//! [`CAPI_VERSION`] is the newest layout it knows.
#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_void};

use pyo3::ffi::PyObject;

/// The newest capsule layout this crate declares (`AWAITQ_CAPI_VERSION` of the headers it
/// mirrors).
pub const CAPI_VERSION: u32 = 3;
/// The version that has the producer functions ([`awaitq_producer_api_t`]).
pub const PRODUCER_VERSION: u32 = 1;
/// The version that added the native-awaitable functions ([`awaitq_aw_api_t`]).
pub const AW_VERSION: u32 = 2;
/// The version that added the batch and zero-copy producer functions
/// ([`awaitq_producer_ext_api_t`]).
pub const EXT_VERSION: u32 = 3;

/// Opaque channel (`awaitq_channel_t`).
#[repr(C)]
pub struct awaitq_channel_t {
    _private: [u8; 0],
}

/// `awaitq_status_t`: 0 is success.
pub type awaitq_status_t = c_int;
/// The frame was queued.
pub const AWAITQ_OK: awaitq_status_t = 0;
/// Full, policy `reject`.
pub const AWAITQ_FULL: awaitq_status_t = 1;
/// Closed (or the consumer is gone).
pub const AWAITQ_CLOSED: awaitq_status_t = 2;
/// Longer than `max_frame`.
pub const AWAITQ_OVERSIZE: awaitq_status_t = 3;
/// A null channel, or a null payload with a non-zero length.
pub const AWAITQ_INVALID: awaitq_status_t = 4;

/// A channel's counters (`awaitq_stats_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct awaitq_stats_t {
    /// Frames queued by a push.
    pub sent: u64,
    /// Frames delivered to the consumer.
    pub received: u64,
    /// Pushes refused because the channel was full (policy `reject`).
    pub dropped: u64,
    /// Queued frames discarded to make room (policy `drop_oldest`).
    pub overwritten: u64,
    /// Pushes refused because the payload exceeded `max_frame`.
    pub rejected: u64,
    /// The most frames ever queued at once.
    pub high_water: u64,
}

/// The producer functions (version 1). Safe from any thread, without the GIL.
#[repr(C)]
pub struct awaitq_producer_api_t {
    /// The capsule's version (`AWAITQ_CAPI_VERSION` of the awaitq that made it).
    pub version: u32,
    /// `awaitq_push(ch, tag, data, len)`.
    pub push:
        unsafe extern "C" fn(*const awaitq_channel_t, u32, *const u8, usize) -> awaitq_status_t,
    /// `awaitq_close(ch)`.
    pub close: unsafe extern "C" fn(*const awaitq_channel_t) -> awaitq_status_t,
    /// `awaitq_is_closed(ch)`.
    pub is_closed: unsafe extern "C" fn(*const awaitq_channel_t) -> bool,
    /// `awaitq_len(ch)`.
    pub len: unsafe extern "C" fn(*const awaitq_channel_t) -> usize,
    /// `awaitq_stats(ch, out)`.
    pub stats:
        unsafe extern "C" fn(*const awaitq_channel_t, *mut awaitq_stats_t) -> awaitq_status_t,
}

/// A result callback: `aw` and the awaited value (borrowed). 0, or -1 with an exception set.
pub type awaitq_aw_result_cb = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> c_int;
/// An error callback: `aw` and the exception (borrowed). 0 handled, -1 not handled.
pub type awaitq_aw_error_cb = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> c_int;
/// A deferred decision: `aw`. 0, or -1 with an exception set.
pub type awaitq_aw_defer_cb = unsafe extern "C" fn(*mut PyObject) -> c_int;

/// The native-awaitable functions (version 2). Call them holding the GIL.
#[repr(C)]
pub struct awaitq_aw_api_t {
    /// `awaitq_aw_new()`.
    pub new_: unsafe extern "C" fn() -> *mut PyObject,
    /// `awaitq_aw_add_await(aw, awaitable, on_result, on_error)`.
    pub add_await: unsafe extern "C" fn(
        *mut PyObject,
        *mut PyObject,
        Option<awaitq_aw_result_cb>,
        Option<awaitq_aw_error_cb>,
    ) -> c_int,
    /// `awaitq_aw_defer_await(aw, decide)`.
    pub defer_await: unsafe extern "C" fn(*mut PyObject, Option<awaitq_aw_defer_cb>) -> c_int,
    /// `awaitq_aw_set_result(aw, result)`.
    pub set_result: unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> c_int,
    /// `awaitq_aw_save(aw, n, values)`.
    pub save: unsafe extern "C" fn(*mut PyObject, usize, *const *mut PyObject) -> c_int,
    /// `awaitq_aw_unpack(aw, n, out)`.
    pub unpack: unsafe extern "C" fn(*mut PyObject, usize, *const *mut *mut PyObject) -> c_int,
    /// `awaitq_aw_save_ptr(aw, n, ptrs)`.
    pub save_ptr: unsafe extern "C" fn(*mut PyObject, usize, *const *mut c_void) -> c_int,
    /// `awaitq_aw_unpack_ptr(aw, n, out)`.
    pub unpack_ptr: unsafe extern "C" fn(*mut PyObject, usize, *const *mut *mut c_void) -> c_int,
    /// `awaitq_aw_get_value(aw, index)` (borrowed).
    pub get_value: unsafe extern "C" fn(*mut PyObject, usize) -> *mut PyObject,
    /// `awaitq_aw_set_value(aw, index, value)`.
    pub set_value: unsafe extern "C" fn(*mut PyObject, usize, *mut PyObject) -> c_int,
    /// `awaitq_aw_cancel(aw)`.
    pub cancel: unsafe extern "C" fn(*mut PyObject) -> c_int,
    /// `awaitq_aw_async_with(aw, cm, body, on_error)`.
    pub async_with: unsafe extern "C" fn(
        *mut PyObject,
        *mut PyObject,
        Option<awaitq_aw_result_cb>,
        Option<awaitq_aw_error_cb>,
    ) -> c_int,
    /// `awaitq_aw_raise(aw, exc)`.
    pub raise: unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> c_int,
    /// `awaitq_aw_check(obj)`.
    pub check: unsafe extern "C" fn(*mut PyObject) -> c_int,
}

/// One frame for `awaitq_push_many` (`awaitq_frame_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct awaitq_frame_t {
    /// The frame's tag.
    pub tag: u32,
    /// `len` readable bytes, or null with `len == 0`.
    pub data: *const u8,
    /// Payload length in bytes.
    pub len: usize,
}

/// The batch and zero-copy producer functions (`awaitq_producer_ext_api_t`, capsule version
/// 3 on). Safe from any thread, without the GIL.
#[repr(C)]
pub struct awaitq_producer_ext_api_t {
    /// This table's own version (`AWAITQ_EXT_API_VERSION`).
    pub version: u32,
    /// `awaitq_push_many(ch, frames, count, pushed)`.
    pub push_many: unsafe extern "C" fn(
        *const awaitq_channel_t,
        *const awaitq_frame_t,
        usize,
        *mut usize,
    ) -> awaitq_status_t,
    /// `awaitq_reserve(ch, len, status)`: where to write the payload, or null.
    pub reserve:
        unsafe extern "C" fn(*const awaitq_channel_t, usize, *mut awaitq_status_t) -> *mut u8,
    /// `awaitq_commit(ch, slot, tag, len)`.
    pub commit:
        unsafe extern "C" fn(*const awaitq_channel_t, *mut u8, u32, usize) -> awaitq_status_t,
    /// `awaitq_abort(ch, slot)`.
    pub abort: unsafe extern "C" fn(*const awaitq_channel_t, *mut u8) -> awaitq_status_t,
}

/// What the capsule points to.
#[repr(C)]
pub struct awaitq_capi_t {
    /// Version 1 on: `producer.version` is the capsule's version.
    pub producer: awaitq_producer_api_t,
    /// Version 2 on ([`AW_VERSION`]).
    pub aw: awaitq_aw_api_t,
    /// Version 3 on ([`EXT_VERSION`]).
    pub ext: awaitq_producer_ext_api_t,
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};

    #[test]
    fn the_producer_table_mirrors_awaitq_capi() {
        use awaitq_capi::awaitq_producer_api_t as Theirs;
        assert_eq!(
            size_of::<super::awaitq_producer_api_t>(),
            size_of::<Theirs>()
        );
        assert_eq!(
            offset_of!(super::awaitq_producer_api_t, push),
            offset_of!(Theirs, push)
        );
        assert_eq!(
            offset_of!(super::awaitq_producer_api_t, stats),
            offset_of!(Theirs, stats)
        );
        assert_eq!(
            size_of::<super::awaitq_stats_t>(),
            size_of::<awaitq_capi::Stats>()
        );
        use awaitq_capi::awaitq_producer_ext_api_t as TheirExt;
        assert_eq!(
            size_of::<super::awaitq_producer_ext_api_t>(),
            size_of::<TheirExt>()
        );
        assert_eq!(
            offset_of!(super::awaitq_producer_ext_api_t, abort),
            offset_of!(TheirExt, abort)
        );
        assert_eq!(
            size_of::<super::awaitq_frame_t>(),
            size_of::<awaitq_capi::awaitq_frame_t>()
        );
        assert_eq!(
            offset_of!(super::awaitq_frame_t, len),
            offset_of!(awaitq_capi::awaitq_frame_t, len)
        );
        assert_eq!(super::CAPI_VERSION, awaitq_capi::AWAITQ_CAPI_VERSION);
        assert_eq!(super::PRODUCER_VERSION, awaitq_capi::AWAITQ_API_VERSION);
    }
}
