//! One reusable awaitable per channel. A finished awaitable parks itself here; `recv()` and
//! friends take it back out when the cache holds the only reference to it (so no driver, step
//! or user can still see it). An awaitable in flight is *not* referenced from here: a task
//! abandoned while waiting (its loop closed) forms a cycle the garbage collector can see and
//! collect, and collecting it closes the wait.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::{ffi, Py};

use super::state::{Inner, Kind};
use super::{slots, AwaitObject, Running};
use crate::gil::{drop_now, GilCell};
use crate::shared::Shared;

#[derive(Default)]
struct Slot {
    aw: Option<Py<PyAny>>,
    /// Cleared when the Python `Channel` goes away: from then on nothing is cached, so the
    /// `Shared` <-> cached awaitable pair cannot keep each other alive.
    closed: bool,
}

/// The channel's reusable awaitable (inside [`Shared`]).
#[derive(Default)]
pub(crate) struct AwCache(GilCell<Slot>);

impl AwCache {
    /// An awaitable performing `kind` on `shared`: the cached one if it is free, else a new one.
    pub(crate) fn get(
        py: Python<'_>,
        shared: &Arc<Shared>,
        kind: Kind,
        arg: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let free = shared.cache.0.with(py, |slot| {
            // SAFETY: a cached object is alive (we hold a reference); attached.
            let only_ours = |o: &Py<PyAny>| unsafe { ffi::Py_REFCNT(o.as_ptr()) } == 1;
            if slot.aw.as_ref().is_some_and(only_ours) {
                slot.aw.take()
            } else {
                None
            }
        });
        if let Some(obj) = free {
            // SAFETY: only AwaitObjects are cached, and we now hold the only reference.
            let aw = unsafe { &*obj.as_ptr().cast::<AwaitObject>() };
            // `Running` guards against a re-entrant call from a finalizer run by the reset.
            if let Ok(mut run) = Running::enter(aw) {
                run.inner().reset(py, aw, kind);
                drop_now(py, aw.arg.replace(arg));
                return Ok(obj);
            }
        }
        slots::alloc(py, Inner::new(Arc::clone(shared), kind), arg)
    }

    /// A finished awaitable offers itself for reuse (kept if the cache is empty).
    #[inline]
    pub(crate) fn offer(&self, py: Python<'_>, aw: &AwaitObject) {
        let obj = (aw as *const AwaitObject)
            .cast_mut()
            .cast::<ffi::PyObject>();
        self.0.with(py, |slot| {
            if !slot.closed && slot.aw.is_none() {
                // SAFETY: `aw` is alive (the caller is inside one of its steps). Taking a new
                // reference runs no Python code.
                slot.aw = Some(unsafe { Bound::from_borrowed_ptr(py, obj) }.unbind());
            }
        });
    }

    /// The Python channel is going away: drop the cached awaitable and cache nothing more.
    pub(crate) fn close(&self, py: Python<'_>) {
        let old = self.0.with(py, |slot| {
            slot.closed = true;
            slot.aw.take()
        });
        drop(old); // outside the cell: the drop may run the awaitable's dealloc
    }
}
