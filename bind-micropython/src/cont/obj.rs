//! Values and exceptions as the machine holds them: [`Obj`], a MicroPython object
//! (`mp_obj_t`, copied freely: the garbage collector, not reference counts, decides how long
//! an object lives), the status of a call C made into MicroPython, and the exceptions core's
//! [`ContError`]s are raised as.

use core::ffi::c_void;

use awaitq_core::ContError;

use crate::error::{self, MpError};
use crate::ffi;

/// A MicroPython object (`mp_obj_t`): a pointer, a small int, a qstr or an immediate object,
/// depending on the port's object representation.
///
/// Copying it is free and keeps nothing alive by itself: an object lives while the collector
/// can reach it. An `Obj` is reachable when it is in scanned memory, i.e. on the VM thread's
/// stack (a local), in a GC block that is reachable (a native awaitable, a Rust future's
/// block), or in a root. MicroPython's collector only recognises pointers to the start of a
/// block, so keep the `Obj` itself, not a pointer into the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Obj(ffi::mp_obj_t);

// SAFETY: `mp_obj_t` is a pointer or an unsigned integer; all-zero bytes are MP_OBJ_NULL in
// every object representation.
const NULL_RAW: ffi::mp_obj_t = unsafe { core::mem::zeroed() };

/// `mp_obj_t` is `void *` (representations A, B, C) or `uint64_t` (D): pointer conversions
/// for whichever bindgen produced.
pub(crate) trait RawObj: Copy {
    fn from_addr(addr: usize) -> Self;
    fn to_addr(self) -> usize;
}

impl RawObj for *mut c_void {
    fn from_addr(addr: usize) -> Self {
        addr as *mut c_void
    }
    fn to_addr(self) -> usize {
        self as usize
    }
}

impl RawObj for u64 {
    fn from_addr(addr: usize) -> Self {
        addr as u64
    }
    fn to_addr(self) -> usize {
        self as usize
    }
}

impl Obj {
    /// `MP_OBJ_NULL`: no object (never a Python value).
    pub const NULL: Obj = Obj(NULL_RAW);

    /// Wraps a raw `mp_obj_t`.
    pub const fn from_raw(raw: ffi::mp_obj_t) -> Self {
        Self(raw)
    }

    /// The raw `mp_obj_t`.
    pub const fn raw(self) -> ffi::mp_obj_t {
        self.0
    }

    /// `None`.
    pub fn none() -> Self {
        // SAFETY: no arguments, no preconditions; never raises.
        Self(unsafe { ffi::awaitq_mp_sys_none() })
    }

    /// Whether this is `MP_OBJ_NULL`.
    pub fn is_null(self) -> bool {
        self.0 == NULL_RAW
    }

    /// Whether this is `None`.
    pub fn is_none(self) -> bool {
        self == Self::none()
    }

    /// `MP_OBJ_FROM_PTR(p)`.
    pub(crate) fn from_ptr<T>(p: *const T) -> Self {
        Self(ffi::mp_obj_t::from_addr(p as usize))
    }

    /// `MP_OBJ_TO_PTR(self)`, for an object known to be a pointer.
    pub(crate) fn to_ptr<T>(self) -> *mut T {
        self.0.to_addr() as *mut T
    }

    /// Where C writes an out-parameter.
    pub(crate) fn as_out(&mut self) -> *mut ffi::mp_obj_t {
        &mut self.0
    }
}

/// The status of a call C made into MicroPython (`enum awaitq_mp_call`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// Returned this value.
    Ok(Obj),
    /// Raised this exception.
    Raised(Obj),
    /// A resumed iterator yielded this value.
    Yielded(Obj),
    /// Not there (not awaitable, no such methods, a callback's -1 with nothing recorded).
    Nothing,
}

impl Call {
    /// Decodes a status and its out-parameter.
    pub(crate) fn of(status: u8, out: Obj) -> Self {
        match u32::from(status) {
            ffi::AWAITQ_MP_CALL_OK => Self::Ok(out),
            ffi::AWAITQ_MP_CALL_YIELDED => Self::Yielded(out),
            ffi::AWAITQ_MP_CALL_NONE => Self::Nothing,
            _ => Self::Raised(out),
        }
    }

    /// `Ok` as `Ok`, an exception as `Err`; anything else is `Err(missing())`.
    pub(crate) fn value(self, missing: impl FnOnce() -> Obj) -> Result<Obj, Obj> {
        match self {
            Self::Ok(v) => Ok(v),
            Self::Raised(e) => Err(e),
            Self::Yielded(_) | Self::Nothing => Err(missing()),
        }
    }
}

/// Runs a call C provides: `f` gets the out-parameter and returns the status.
pub(crate) fn call(f: impl FnOnce(*mut ffi::mp_obj_t) -> u8) -> Call {
    let mut out = Obj::NULL;
    let status = f(out.as_out());
    Call::of(status, out)
}

/// The exception core's error is raised as: its type and core's text (the one mapping,
/// `error.rs`, shared with the channel's errors).
pub(crate) fn cont_error(e: ContError) -> Obj {
    new_exc(&e)
}

/// A `MemoryError` (MicroPython's emergency exception if even that cannot be allocated).
pub(crate) fn memory_error() -> Obj {
    new_exc(&error::Kind(ffi::AWAITQ_MP_EXC_MEMORY, ""))
}

/// A new exception for `e`; never raises.
pub(crate) fn new_exc(e: &dyn MpError) -> Obj {
    let mut err = error::blank();
    // SAFETY: `err` is a valid, writable error struct.
    unsafe { error::fill(&mut err, e) };
    // SAFETY: `msg` is NUL-terminated (fill guarantees it); the call copies it and never
    // raises.
    Obj(unsafe { ffi::awaitq_mp_sys_exc(err.exc, err.msg.as_ptr()) })
}
