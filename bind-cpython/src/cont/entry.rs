//! One queued await and what to do with its outcome. The callbacks are C function pointers
//! (the C API), boxed Rust closures (the Rust API), or the binding's own steps (a Rust
//! future's reply slot, the `async with` statement's stages).

use std::ffi::c_int;
use std::mem::ManuallyDrop;

use pyo3::ffi;
use pyo3::prelude::*;

use super::api::NativeAwaitable;
use super::obj::{attached, Obj};

/// `awaitq_aw_result_cb`: `0` ok, `-1` raised.
pub type CResultCb =
    unsafe extern "C" fn(aw: *mut ffi::PyObject, result: *mut ffi::PyObject) -> c_int;
/// `awaitq_aw_error_cb`: `0` handled, `-1` not handled (raise what is set, or the original).
pub type CErrorCb = unsafe extern "C" fn(aw: *mut ffi::PyObject, exc: *mut ffi::PyObject) -> c_int;
/// `awaitq_aw_defer_cb`: runs when the deferred await is reached; may add awaits.
pub type CDeferCb = unsafe extern "C" fn(aw: *mut ffi::PyObject) -> c_int;

/// A Rust result callback: the awaited value. `Err` raises it from the awaitable (the entry's
/// error callback is not called: try / except / else).
pub type ResultFn =
    Box<dyn for<'py> FnOnce(&NativeAwaitable<'py>, Bound<'py, PyAny>) -> PyResult<()> + Send>;
/// A Rust error callback: `Ok` = handled, carry on; `Err(e)` = raise `e` (a new exception
/// gets the original as its `__context__`).
pub type ErrorFn = Box<dyn for<'py> FnOnce(&NativeAwaitable<'py>, PyErr) -> PyResult<()> + Send>;
/// A Rust deferred decision: runs when reached, may add awaits (they run next).
pub type DeferFn = Box<dyn for<'py> FnOnce(&NativeAwaitable<'py>) -> PyResult<()> + Send>;

/// Rust code that is not ours (a closure, a future) and may hold PyO3 references: dropped
/// inside [`attached`], so those references are released at once.
pub(crate) struct Attached<T>(ManuallyDrop<T>);

impl<T> Attached<T> {
    pub(crate) fn new(t: T) -> Self {
        Self(ManuallyDrop::new(t))
    }

    /// Takes the value out (its drop is then the caller's business).
    pub(crate) fn into_inner(self) -> T {
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again.
        unsafe { ManuallyDrop::take(&mut me.0) }
    }
}

impl<T> Drop for Attached<T> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here.
        let t = unsafe { ManuallyDrop::take(&mut self.0) };
        attached(|_| drop(t));
    }
}

/// Which stage of an `async with` an entry of its statement awaitable belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WithStage {
    /// `await __aenter__()`.
    Enter,
    /// `await block` (the nested awaitable the body callback filled).
    Body,
    /// `await __aexit__(...)`.
    Exit,
}

pub(crate) enum OnResult {
    /// Drop the value.
    Ignore,
    C(CResultCb),
    Rust(Attached<ResultFn>),
    /// A Rust future's `py_await` with this id gets the value.
    Reply(u64),
    With(WithStage),
}

pub(crate) enum OnError {
    /// No callback: raise.
    Raise,
    C(CErrorCb),
    Rust(Attached<ErrorFn>),
    Reply(u64),
    With(WithStage),
}

pub(crate) enum OnDefer {
    C(CDeferCb),
    Rust(Attached<DeferFn>),
    /// `async with`: call `__aenter__` now and await its result.
    WithEnter,
}

pub(crate) enum Entry {
    /// Await `awaitable` (its iterator once started).
    Await {
        awaitable: Obj,
        iter: Option<Obj>,
        on_result: OnResult,
        on_error: OnError,
    },
    /// A decision to run when reached (its failure goes to `on_error`).
    Defer {
        decide: Option<OnDefer>,
        on_error: OnError,
    },
    /// A Rust future parked on its `Waker`: yields the parker once, returns when resumed.
    Wait { parker: Option<Obj> },
}

impl Entry {
    /// An await with callbacks.
    pub(crate) fn await_(awaitable: Obj, on_result: OnResult, on_error: OnError) -> Self {
        Self::Await {
            awaitable,
            iter: None,
            on_result,
            on_error,
        }
    }

    /// The Python objects it holds (for `tp_traverse`; Rust closures are opaque).
    pub(crate) fn objects(&self) -> [*mut ffi::PyObject; 2] {
        let p = |o: Option<&Obj>| o.map_or(std::ptr::null_mut(), Obj::as_ptr);
        match self {
            Self::Await {
                awaitable, iter, ..
            } => [awaitable.as_ptr(), p(iter.as_ref())],
            Self::Defer { .. } => [std::ptr::null_mut(); 2],
            Self::Wait { parker } => [p(parker.as_ref()), std::ptr::null_mut()],
        }
    }
}
