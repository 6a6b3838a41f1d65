//! [`NativeAwaitable`]: an awaitable written in Rust, in another extension module, through
//! the capsule's native-awaitable functions (the same object and rules as `awaitq_aw.h`).
//!
//! Callbacks are Rust functions or closures that capture nothing (zero-sized, checked at
//! compile time): like C function pointers, they carry no state of their own. The state the
//! steps share goes in the awaitable's saved values ([`save`](NativeAwaitable::save),
//! [`value`](NativeAwaitable::value)), which the garbage collector sees.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use pyo3::ffi::PyObject;
use pyo3::panic::PanicException;
use pyo3::prelude::*;

use crate::api;
use crate::ffi::{self, awaitq_aw_api_t};

/// An `awaitq.NativeAwaitable`: native code that awaits Python awaitables, one after another,
/// and finishes with a result or an exception. Return it to Python, which awaits it.
///
/// ```no_run
/// use pyo3::prelude::*;
/// use awaitq_sdk::NativeAwaitable;
///
/// /// `await plus_one(coro)` == `(await coro) + 1`
/// #[pyfunction]
/// fn plus_one<'py>(coro: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
///     let aw = NativeAwaitable::new(coro.py())?;
///     aw.then(coro, |aw, value| aw.set_result(&value.add(1)?))?;
///     Ok(aw.into_any())
/// }
/// ```
///
/// Semantics (awaitq-core's `cont` rules): awaits run in turn; awaits added by a callback run
/// next, before awaits queued earlier; a failing result callback raises from the awaitable (its
/// error callback is not called); `task.cancel()` is thrown into the awaited coroutine first,
/// then the error callback sees it.
pub struct NativeAwaitable<'py> {
    obj: Bound<'py, PyAny>,
    api: &'static awaitq_aw_api_t,
}

/// Reads the value of a zero-sized callback type.
///
/// # Safety
/// `F` is zero-sized (checked by the `const` assertion of every function that registers one)
/// and a value of it existed (the caller registered one), so reading one from a dangling,
/// aligned pointer makes no memory access and conjures no value that could not exist.
unsafe fn conjure<F: Copy>() -> F {
    const { assert!(std::mem::size_of::<F>() == 0) };
    // SAFETY: per the contract: a zero-sized read.
    unsafe { NonNull::<F>::dangling().as_ptr().read() }
}

/// Checks that a callback captures nothing; its value is not needed again (see [`conjure`]).
fn zero_sized<F>(_callback: F) {
    const {
        assert!(
            std::mem::size_of::<F>() == 0,
            "awaitq-sdk callbacks capture nothing (keep state in saved values)"
        )
    };
}

/// Runs a callback body attached, turning its error (or a panic) into a raised exception.
///
/// # Safety
/// Called by awaitq, holding the GIL, with `aw` a live native awaitable.
unsafe fn run(aw: *mut PyObject, body: impl FnOnce(&NativeAwaitable<'_>) -> PyResult<()>) -> c_int {
    // SAFETY: awaitq calls callbacks attached (the GIL held).
    let py = unsafe { Python::assume_attached() };
    let api = match api::table(py, ffi::AW_VERSION) {
        Ok(t) => &t.aw,
        Err(e) => {
            e.restore(py);
            return -1;
        }
    };
    // SAFETY: `aw` is a live object (borrowed for the call).
    let obj = unsafe { Bound::from_borrowed_ptr(py, aw) };
    let this = NativeAwaitable { obj, api };
    match catch_unwind(AssertUnwindSafe(|| body(&this))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            e.restore(py);
            -1
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a Rust callback panicked".into());
            PanicException::new_err(msg).restore(py);
            -1
        }
    }
}

unsafe extern "C" fn result_tramp<F>(aw: *mut PyObject, value: *mut PyObject) -> c_int
where
    F: Fn(&NativeAwaitable<'_>, &Bound<'_, PyAny>) -> PyResult<()> + Copy + 'static,
{
    // SAFETY: called by awaitq attached; `F` was registered by `add_await`/`then`.
    unsafe {
        run(aw, |this| {
            let v = Bound::from_borrowed_ptr(this.py(), value);
            conjure::<F>()(this, &v)
        })
    }
}

unsafe extern "C" fn defer_tramp<F>(aw: *mut PyObject) -> c_int
where
    F: Fn(&NativeAwaitable<'_>) -> PyResult<()> + Copy + 'static,
{
    // SAFETY: called by awaitq attached; `F` was registered by `defer`.
    unsafe { run(aw, |this| conjure::<F>()(this)) }
}

fn status(py: Python<'_>, r: c_int) -> PyResult<()> {
    if r < 0 {
        Err(PyErr::fetch(py))
    } else {
        Ok(())
    }
}

impl<'py> NativeAwaitable<'py> {
    /// A new, empty awaitable (awaiting it returns `None` unless a result is set).
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        let api = &api::table(py, ffi::AW_VERSION)?.aw;
        // SAFETY: attached; returns a new reference or NULL with an exception.
        let obj = unsafe { Bound::from_owned_ptr_or_err(py, (api.new_)())? };
        Ok(Self { obj, api })
    }

    /// `obj` as a native awaitable (`TypeError` if it is another object).
    pub fn from_object(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let api = &api::table(obj.py(), ffi::AW_VERSION)?.aw;
        // SAFETY: attached; `obj` is live.
        if unsafe { (api.check)(obj.as_ptr()) } != 1 {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "not an awaitq.NativeAwaitable",
            ));
        }
        Ok(Self {
            obj: obj.clone(),
            api,
        })
    }

    /// The interpreter token.
    pub fn py(&self) -> Python<'py> {
        self.obj.py()
    }

    /// The Python object.
    pub fn as_any(&self) -> &Bound<'py, PyAny> {
        &self.obj
    }

    /// The Python object (to return it to Python).
    pub fn into_any(self) -> Bound<'py, PyAny> {
        self.obj
    }

    /// Queues `await awaitable`; its value goes to `on_result`, its exception to `on_error`
    /// (`Ok(())`: handled, carry on; `Err(e)`: `e` is raised from this awaitable).
    pub fn add_await<R, E>(
        &self,
        awaitable: &Bound<'py, PyAny>,
        on_result: R,
        on_error: E,
    ) -> PyResult<()>
    where
        R: Fn(&NativeAwaitable<'_>, &Bound<'_, PyAny>) -> PyResult<()> + Copy + 'static,
        E: Fn(&NativeAwaitable<'_>, &Bound<'_, PyAny>) -> PyResult<()> + Copy + 'static,
    {
        zero_sized(on_result);
        zero_sized(on_error);
        // SAFETY: attached; live objects; the trampolines match the callback types.
        let r = unsafe {
            (self.api.add_await)(
                self.obj.as_ptr(),
                awaitable.as_ptr(),
                Some(result_tramp::<R>),
                Some(result_tramp::<E>),
            )
        };
        status(self.py(), r)
    }

    /// Queues `await awaitable`, its value to `on_result`; its exception is raised from this
    /// awaitable.
    pub fn then<R>(&self, awaitable: &Bound<'py, PyAny>, on_result: R) -> PyResult<()>
    where
        R: Fn(&NativeAwaitable<'_>, &Bound<'_, PyAny>) -> PyResult<()> + Copy + 'static,
    {
        zero_sized(on_result);
        // SAFETY: attached; live objects; the trampoline matches the callback type.
        let r = unsafe {
            (self.api.add_await)(
                self.obj.as_ptr(),
                awaitable.as_ptr(),
                Some(result_tramp::<R>),
                None,
            )
        };
        status(self.py(), r)
    }

    /// Queues `await awaitable` and drops its value (its exception is raised from this one).
    pub fn await_ignoring(&self, awaitable: &Bound<'py, PyAny>) -> PyResult<()> {
        // SAFETY: attached; live objects; no callbacks.
        let r = unsafe { (self.api.add_await)(self.obj.as_ptr(), awaitable.as_ptr(), None, None) };
        status(self.py(), r)
    }

    /// Queues a decision: `decide` runs when the queue reaches it and may add awaits (they
    /// run next) or set the result.
    pub fn defer<F>(&self, decide: F) -> PyResult<()>
    where
        F: Fn(&NativeAwaitable<'_>) -> PyResult<()> + Copy + 'static,
    {
        zero_sized(decide);
        // SAFETY: attached; live object; the trampoline matches the callback type.
        let r = unsafe { (self.api.defer_await)(self.obj.as_ptr(), Some(defer_tramp::<F>)) };
        status(self.py(), r)
    }

    /// Queues `async with cm:`: `body(block, value_of_aenter)` adds the block's awaits to
    /// `block`; what the statement raises goes to `on_error`.
    pub fn async_with<B, E>(&self, cm: &Bound<'py, PyAny>, body: B, on_error: E) -> PyResult<()>
    where
        B: Fn(&NativeAwaitable<'_>, &Bound<'_, PyAny>) -> PyResult<()> + Copy + 'static,
        E: Fn(&NativeAwaitable<'_>, &Bound<'_, PyAny>) -> PyResult<()> + Copy + 'static,
    {
        zero_sized(body);
        zero_sized(on_error);
        // SAFETY: attached; live objects; the trampolines match the callback types.
        let r = unsafe {
            (self.api.async_with)(
                self.obj.as_ptr(),
                cm.as_ptr(),
                Some(result_tramp::<B>),
                Some(result_tramp::<E>),
            )
        };
        status(self.py(), r)
    }

    /// The value `await` returns (the last one set wins).
    pub fn set_result(&self, value: &Bound<'py, PyAny>) -> PyResult<()> {
        // SAFETY: attached; live objects (a new reference is taken).
        let r = unsafe { (self.api.set_result)(self.obj.as_ptr(), value.as_ptr()) };
        status(self.py(), r)
    }

    /// Appends a value for the callbacks (a strong reference the garbage collector sees).
    pub fn save(&self, value: &Bound<'py, PyAny>) -> PyResult<()> {
        let p = value.as_ptr();
        // SAFETY: attached; one live object at `&p`.
        let r = unsafe { (self.api.save)(self.obj.as_ptr(), 1, &p) };
        status(self.py(), r)
    }

    /// Saved value `index` (`SystemError` if there are not that many).
    pub fn value(&self, index: usize) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: attached; returns a borrowed reference or NULL with an exception.
        unsafe {
            let p = (self.api.get_value)(self.obj.as_ptr(), index);
            if p.is_null() {
                return Err(PyErr::fetch(self.py()));
            }
            Ok(Bound::from_borrowed_ptr(self.py(), p))
        }
    }

    /// Replaces saved value `index`.
    pub fn set_value(&self, index: usize, value: &Bound<'py, PyAny>) -> PyResult<()> {
        // SAFETY: attached; live objects.
        let r = unsafe { (self.api.set_value)(self.obj.as_ptr(), index, value.as_ptr()) };
        status(self.py(), r)
    }

    /// Gives up on the awaits not yet finished (see `awaitq_aw_cancel` in `awaitq_aw.h`).
    pub fn cancel(&self) -> PyResult<()> {
        // SAFETY: attached; live object.
        let r = unsafe { (self.api.cancel)(self.obj.as_ptr()) };
        status(self.py(), r)
    }
}
