//! Binding state that Python objects own and only attached threads touch, safe both with the
//! GIL and without it (free-threaded CPython, `Py_GIL_DISABLED`, where the module declares
//! `gil_used = false`).
//!
//! - [`GilCell`]: a value touched through a short closure that runs no Python code. With the
//!   GIL, attached threads are serialised, so a plain cell; free-threaded, a mutex (never held
//!   across a call into Python, so it cannot deadlock with a stop-the-world pause or the GIL).
//! - [`RunFlag`]: "a step of this object is running", the guard of an object's Rust state
//!   (`Cell<bool>` with the GIL, an atomic free-threaded: a second thread entering a step is
//!   refused as a re-entrant one is).
//! - [`ObjSlot`]: one optional Python reference that another object's code may take (a
//!   parked awaitable's future, completed by the loop's reader callback).

#[cfg(not(Py_GIL_DISABLED))]
use std::cell::UnsafeCell;

use pyo3::prelude::*;
use pyo3::{ffi, Py};

/// A value that only threads attached to Python touch, through [`GilCell::with`].
#[derive(Default)]
pub(crate) struct GilCell<T> {
    #[cfg(not(Py_GIL_DISABLED))]
    value: UnsafeCell<T>,
    #[cfg(Py_GIL_DISABLED)]
    value: std::sync::Mutex<T>,
}

// SAFETY: with the GIL, every access goes through `with`, which requires being attached, and
// attached threads are serialised by the GIL; `with`'s closure cannot re-enter (see `with`).
// Free-threaded, the value is behind a mutex.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            #[cfg(not(Py_GIL_DISABLED))]
            value: UnsafeCell::new(value),
            #[cfg(Py_GIL_DISABLED)]
            value: std::sync::Mutex::new(value),
        }
    }

    /// Runs `f` on the value. `f` must not run Python code (it may allocate a Python object
    /// that has no finalizer, like `bytes`), so nothing can re-enter while it holds `&mut T`.
    pub(crate) fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        #[cfg(not(Py_GIL_DISABLED))]
        {
            // SAFETY: exclusive per the Sync impl and `f`'s contract.
            f(unsafe { &mut *self.value.get() })
        }
        #[cfg(Py_GIL_DISABLED)]
        {
            let mut guard = self
                .value
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        }
    }
}

/// Whether a step of an object is running (see the module docs).
#[derive(Default)]
pub(crate) struct RunFlag {
    #[cfg(not(Py_GIL_DISABLED))]
    flag: std::cell::Cell<bool>,
    #[cfg(Py_GIL_DISABLED)]
    flag: std::sync::atomic::AtomicBool,
}

impl RunFlag {
    /// Sets the flag; `false` if it was already set (another step runs: refuse).
    /// Free-threaded, acquiring: what the previous step wrote is visible.
    #[inline]
    pub(crate) fn enter(&self) -> bool {
        #[cfg(not(Py_GIL_DISABLED))]
        {
            !self.flag.replace(true)
        }
        #[cfg(Py_GIL_DISABLED)]
        {
            use std::sync::atomic::Ordering;
            self.flag
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }
    }

    /// Clears the flag (releasing: this step's writes are visible to the next).
    #[inline]
    pub(crate) fn leave(&self) {
        #[cfg(not(Py_GIL_DISABLED))]
        self.flag.set(false);
        #[cfg(Py_GIL_DISABLED)]
        self.flag.store(false, std::sync::atomic::Ordering::Release);
    }

    /// Whether a step runs now (for `dealloc`, when nothing else can reach the object).
    pub(crate) fn is_set(&self) -> bool {
        #[cfg(not(Py_GIL_DISABLED))]
        {
            self.flag.get()
        }
        #[cfg(Py_GIL_DISABLED)]
        {
            self.flag.load(std::sync::atomic::Ordering::Acquire)
        }
    }
}

/// An optional Python reference, taken and replaced whole (see the module docs). Touched
/// only by attached threads.
#[derive(Default)]
pub(crate) struct ObjSlot {
    #[cfg(not(Py_GIL_DISABLED))]
    obj: std::cell::Cell<Option<Py<PyAny>>>,
    #[cfg(Py_GIL_DISABLED)]
    obj: std::sync::Mutex<Option<Py<PyAny>>>,
}

impl ObjSlot {
    pub(crate) fn new(obj: Option<Py<PyAny>>) -> Self {
        Self {
            #[cfg(not(Py_GIL_DISABLED))]
            obj: std::cell::Cell::new(obj),
            #[cfg(Py_GIL_DISABLED)]
            obj: std::sync::Mutex::new(obj),
        }
    }

    #[inline]
    pub(crate) fn take(&self) -> Option<Py<PyAny>> {
        self.replace(None)
    }

    /// Puts `obj` in and returns what was there (drop it with [`drop_now`]).
    #[inline]
    pub(crate) fn replace(&self, obj: Option<Py<PyAny>>) -> Option<Py<PyAny>> {
        #[cfg(not(Py_GIL_DISABLED))]
        {
            self.obj.replace(obj)
        }
        #[cfg(Py_GIL_DISABLED)]
        {
            let mut g = self
                .obj
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(&mut *g, obj)
        }
    }

    /// The pointer held, left in place (for `tp_traverse`; free-threaded, the collector runs
    /// with every other thread stopped).
    pub(crate) fn peek(&self) -> *mut ffi::PyObject {
        let v = self.take();
        let p = v.as_ref().map_or(std::ptr::null_mut(), |o| o.as_ptr());
        drop(self.replace(v)); // None: nothing to drop
        p
    }
}

/// Drops a reference at once. Slots run attached but outside PyO3's own trampolines, where
/// dropping a `Py` only queues the decref in PyO3's pool until some later PyO3 call (a future
/// released late kept its task alive through a garbage collection); a `Bound`'s drop decrefs.
#[inline]
pub(crate) fn drop_now(py: Python<'_>, obj: Option<Py<PyAny>>) {
    drop(obj.map(|o| o.into_bound(py)));
}
