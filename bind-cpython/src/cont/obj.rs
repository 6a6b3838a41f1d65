//! Owned Python references for the machine's hot path: [`Obj`] (a value) and [`Exc`] (an
//! exception instance carrying its traceback), both released with a plain `Py_DecRef`.
//!
//! Why not PyO3's `Py`/`PyErr` here: slots and C API functions are called straight from
//! CPython, where PyO3 does not count the thread as attached, so a dropped `Py` would wait in
//! PyO3's deferred pool until some PyO3 function runs (objects would outlive their awaitable,
//! finalisers would run late). Counting the thread (`Python::attach`) on every entry costs
//! more than the rest of a ready await. So the machine holds `Obj`/`Exc`, and PyO3 types are
//! used only inside [`attached`], around Rust code that is not ours (callbacks, futures) and
//! on slow paths.

use std::any::Any;
use std::ffi::CStr;
use std::ptr::{self, NonNull};

use awaitq_core::{ContError, ExcType};
use pyo3::prelude::*;
use pyo3::{ffi, Py};

/// Runs `f` with PyO3 counting this thread as attached: `Py` values dropped inside decref at
/// once. For Rust code that is not the machine's (the Rust API's callbacks, futures, their
/// drops) and for slow paths written with PyO3.
pub(crate) fn attached<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
    Python::attach(f)
}

/// An owned strong reference. Created and dropped only by threads attached to Python.
#[repr(transparent)]
pub(crate) struct Obj(NonNull<ffi::PyObject>);

impl Obj {
    /// Takes ownership of a new reference (`None` for NULL).
    ///
    /// # Safety
    /// `p` is NULL or a new (owned) reference; attached.
    pub(crate) unsafe fn from_owned(p: *mut ffi::PyObject) -> Option<Self> {
        NonNull::new(p).map(Self)
    }

    /// A new reference to a borrowed object.
    ///
    /// # Safety
    /// `p` is a live object; attached.
    pub(crate) unsafe fn from_borrowed(p: *mut ffi::PyObject) -> Self {
        // SAFETY: per the contract.
        unsafe { ffi::Py_IncRef(p) };
        // SAFETY: a live object is never NULL.
        Self(unsafe { NonNull::new_unchecked(p) })
    }

    /// `None`.
    pub(crate) fn none() -> Self {
        // SAFETY: Py_None is a live (immortal or long-lived) object; attached by contract of
        // every caller of this module.
        unsafe { Self::from_borrowed(ffi::Py_None()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// Gives the reference away.
    pub(crate) fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    pub(crate) fn is_none(&self) -> bool {
        // SAFETY: Py_None() only reads a static.
        ptr::eq(self.as_ptr(), unsafe { ffi::Py_None() })
    }

    pub(crate) fn clone_ref(&self) -> Self {
        // SAFETY: `self` is live.
        unsafe { Self::from_borrowed(self.as_ptr()) }
    }

    pub(crate) fn from_py(obj: Py<PyAny>) -> Self {
        // SAFETY: `into_ptr` gives away a non-NULL owned reference.
        Self(unsafe { NonNull::new_unchecked(obj.into_ptr()) })
    }

    pub(crate) fn into_py(self, py: Python<'_>) -> Py<PyAny> {
        // SAFETY: an owned, live reference.
        unsafe { Bound::from_owned_ptr(py, self.into_ptr()) }.unbind()
    }

    pub(crate) fn bind<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: live.
        unsafe { Bound::from_borrowed_ptr(py, self.as_ptr()) }
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: we own one reference; every Obj lives and dies attached.
        unsafe { ffi::Py_DecRef(self.0.as_ptr()) }
    }
}

/// An exception instance whose `__traceback__` holds its traceback (what 3.12's
/// `PyErr_GetRaisedException` returns).
#[repr(transparent)]
pub(crate) struct Exc(Obj);

impl Exc {
    /// The exception being raised, taken out of the thread state (a `SystemError` if none is).
    pub(crate) fn fetch() -> Self {
        Self::take().unwrap_or_else(|| {
            Self::new(
                ContError::NoException.exc_type(),
                c"error return without exception set",
            )
        })
    }

    /// The exception being raised, if any, taken out of the thread state.
    // Deprecated since 3.12 in favour of PyErr_{Get,Set}RaisedException, which the abi3 (3.10)
    // wheel cannot call; version-specific builds (free-threaded 3.14) keep these, still supported.
    #[allow(deprecated)]
    pub(crate) fn take() -> Option<Self> {
        let (mut t, mut v, mut tb) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        // SAFETY: attached; Fetch/Normalize hand us owned references (or NULLs).
        unsafe {
            ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
            if t.is_null() {
                return None;
            }
            ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
            if !tb.is_null() && !v.is_null() {
                ffi::PyException_SetTraceback(v, tb);
            }
            let t = Obj::from_owned(t);
            drop(Obj::from_owned(tb));
            match Obj::from_owned(v) {
                Some(v) => Some(Self(v)),
                // Normalisation always makes a value; keep the type if it did not.
                None => t.map(Self),
            }
        }
    }

    /// Raises it (the thread state takes it over, traceback included).
    #[allow(deprecated)] // as in `take`
    pub(crate) fn restore(self) {
        let v = self.0.into_ptr();
        // SAFETY: attached; Restore steals the three references we pass.
        unsafe {
            let t = ffi::Py_TYPE(v).cast::<ffi::PyObject>();
            ffi::Py_IncRef(t);
            let tb = ffi::PyException_GetTraceback(v);
            ffi::PyErr_Restore(t, v, tb);
        }
    }

    /// A new exception of one of core's types with `msg`.
    pub(crate) fn new(ty: ExcType, msg: &CStr) -> Self {
        // SAFETY: attached; the type objects are static; SetString copies `msg`.
        unsafe {
            let t = match ty {
                ExcType::TypeError => ffi::PyExc_TypeError,
                ExcType::ValueError => ffi::PyExc_ValueError,
                ExcType::RuntimeError => ffi::PyExc_RuntimeError,
                ExcType::SystemError => ffi::PyExc_SystemError,
            };
            ffi::PyErr_SetString(t, msg.as_ptr());
        }
        Self::fetch()
    }

    /// The exception core's error asks for, with its text.
    pub(crate) fn cont(e: ContError) -> Self {
        let msg = std::ffi::CString::new(e.to_string()).unwrap_or_default();
        Self::new(e.exc_type(), &msg)
    }

    /// The exception instance (borrowed).
    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }

    /// Another reference to the same exception.
    pub(crate) fn clone_of(e: &Exc) -> Self {
        Self(e.0.clone_ref())
    }

    pub(crate) fn is(&self, other: &Exc) -> bool {
        ptr::eq(self.as_ptr(), other.as_ptr())
    }

    /// `self`, raised while `handled` was being handled: `handled` becomes its `__context__`
    /// unless it is the same exception or `self` already has a context.
    pub(crate) fn raised_while(self, handled: Exc) -> Self {
        if !self.is(&handled) {
            // SAFETY: attached; both live; GetContext returns a new reference or NULL;
            // SetContext steals the reference we pass.
            unsafe {
                match Obj::from_owned(ffi::PyException_GetContext(self.as_ptr())) {
                    Some(_existing) => {}
                    None => ffi::PyException_SetContext(self.as_ptr(), handled.0.into_ptr()),
                }
            }
        }
        self
    }

    /// Whether it is an instance of `ty` (e.g. `PyExc_StopIteration`).
    ///
    /// # Safety
    /// `ty` is a live exception class; attached.
    pub(crate) unsafe fn matches(&self, ty: *mut ffi::PyObject) -> bool {
        // SAFETY: per the contract.
        unsafe { ffi::PyErr_GivenExceptionMatches(self.as_ptr(), ty) != 0 }
    }

    /// A caught Rust panic, as PyO3 reports one (`PanicException`).
    /// PyO3's null-pointer panic (a failed allocation) becomes `MemoryError` instead
    /// ([`crate::errors::panic_error`]).
    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> Self {
        attached(|py| Self::from_pyerr(py, crate::errors::panic_error(py, payload)))
    }

    pub(crate) fn from_pyerr(py: Python<'_>, e: PyErr) -> Self {
        Self(Obj::from_py(e.into_value(py).into_any()))
    }

    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        PyErr::from_value(self.0.into_py(py).into_bound(py))
    }

    /// Takes the object back.
    pub(crate) fn into_obj(self) -> Obj {
        self.0
    }

    /// An exception object (instance, or a class to instantiate) as an `Exc`.
    ///
    /// # Safety
    /// `obj` is live; attached.
    pub(crate) unsafe fn from_object(obj: *mut ffi::PyObject) -> Self {
        // SAFETY: per the contract; SetObject/SetNone copy what they need.
        unsafe {
            if ffi::PyExceptionInstance_Check(obj) != 0 {
                return Self(Obj::from_borrowed(obj));
            }
            if ffi::PyExceptionClass_Check(obj) != 0 {
                ffi::PyErr_SetNone(obj);
            } else {
                ffi::PyErr_SetString(
                    ffi::PyExc_TypeError,
                    c"exceptions must derive from BaseException".as_ptr(),
                );
            }
        }
        Self::fetch()
    }
}
