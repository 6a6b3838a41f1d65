//! One reusable awaitable per channel: `recv()` hands out the cached object again when the
//! cache holds the only reference to it (so no driver, step or user can still see it).

use std::cell::UnsafeCell;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::{ffi, Py, PyTraverseError, PyVisit};

use super::state::{Inner, Kind};
use super::{slots, AwaitObject, Running};
use crate::shared::Shared;

/// A strong reference to the channel's reusable awaitable.
pub(crate) struct AwCache(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: the cell is only accessed by threads attached to Python, and the module declares
// `gil_used`, so those accesses are serialised by the GIL. No `&mut` to the cell is held
// across a call into Python (which could re-enter through a finalizer or the GC).
unsafe impl Sync for AwCache {}

impl AwCache {
    pub(crate) fn new() -> Self {
        Self(UnsafeCell::new(None))
    }

    fn ptr(&self) -> *mut ffi::PyObject {
        // SAFETY: shared read while attached (see the Sync impl).
        unsafe { &*self.0.get() }
            .as_ref()
            .map_or(std::ptr::null_mut(), |o| o.as_ptr())
    }

    /// An awaitable performing `kind` on `shared`: the cached one if it is free, else a new
    /// one (which becomes the cached one if there is none).
    pub(crate) fn get(
        &self,
        py: Python<'_>,
        shared: &Arc<Shared>,
        kind: Kind,
        arg: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let p = self.ptr();
        // SAFETY: a non-null pointer is our strong reference to a live object; attached.
        let free = !p.is_null() && unsafe { ffi::Py_REFCNT(p) } == 1;
        if free {
            // SAFETY: only AwaitObjects are cached, and ours is alive.
            let aw = unsafe { &*p.cast::<AwaitObject>() };
            // Refcount 1: nobody else holds it. `Running` still guards against a re-entrant
            // call from a finalizer run by the reset below.
            if let Ok(mut run) = Running::enter(aw) {
                run.inner().reset(aw, kind);
                aw.arg.set(arg);
                drop(run);
                // SAFETY: `p` is live; the new reference is returned to the caller.
                return Ok(unsafe { Bound::from_borrowed_ptr(py, p) }.unbind());
            }
        }
        let obj = slots::alloc(py, Inner::new(Arc::clone(shared), kind), arg)?;
        if self.ptr().is_null() {
            // SAFETY: exclusive while attached (see the Sync impl); no Python runs here.
            unsafe { *self.0.get() = Some(obj.clone_ref(py)) };
        }
        Ok(obj)
    }

    /// For the owner's `__traverse__`.
    pub(crate) fn visit(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: shared read while attached (the GC runs attached).
        visit.call(unsafe { &*self.0.get() })
    }

    /// Drops the cached reference (the owner's `__clear__` or drop; attached).
    pub(crate) fn clear(&self) {
        // SAFETY: exclusive while attached; the value is moved out before it is dropped, so
        // a finalizer re-entering `get` sees an empty cache.
        let old = unsafe { (*self.0.get()).take() };
        drop(old);
    }
}
