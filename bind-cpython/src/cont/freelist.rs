//! Freed native awaitables kept for reuse, as CPython keeps its own small objects: an
//! awaitable lives for one `await`, and allocating, zeroing and freeing its memory (with its
//! GC header) was a fifth of a ready await. At most [`MAX`] objects, touched only attached.
//! With the GIL a plain list; free-threaded (`Py_GIL_DISABLED`) behind a mutex held for a push
//! or a pop, never across a call into Python.

#[cfg(not(Py_GIL_DISABLED))]
use std::cell::UnsafeCell;

use pyo3::ffi;

/// How many freed objects are kept.
const MAX: usize = 64;

/// Object memory with a GC header, refcount 0, untracked, `d` recycled (valid and empty:
/// `ContData::recycle`).
#[cfg(not(Py_GIL_DISABLED))]
struct Free(UnsafeCell<Vec<*mut ffi::PyObject>>);
#[cfg(Py_GIL_DISABLED)]
struct Free(std::sync::Mutex<Vec<*mut ffi::PyObject>>);

// SAFETY: with the GIL, touched only by threads attached to Python, which the GIL serialises,
// and never across a call into Python (see `with`); free-threaded, behind a mutex. The
// pointers are object memory nobody else references.
unsafe impl Sync for Free {}

#[cfg(not(Py_GIL_DISABLED))]
static FREE: Free = Free(UnsafeCell::new(Vec::new()));
#[cfg(Py_GIL_DISABLED)]
static FREE: Free = Free(std::sync::Mutex::new(Vec::new()));

/// Runs `f` on the list. `f` runs no Python code.
///
/// # Safety
/// Attached.
unsafe fn with<R>(f: impl FnOnce(&mut Vec<*mut ffi::PyObject>) -> R) -> R {
    #[cfg(not(Py_GIL_DISABLED))]
    {
        // SAFETY: exclusive per the Sync impl and this function's contract.
        f(unsafe { &mut *FREE.0.get() })
    }
    #[cfg(Py_GIL_DISABLED)]
    {
        f(&mut FREE
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// A kept object, re-initialised as a new reference of `tp` (not yet GC-tracked), if any.
///
/// # Safety
/// Attached; `tp` is the type all kept objects were made for.
pub(crate) unsafe fn take(tp: *mut ffi::PyTypeObject) -> Option<*mut ffi::PyObject> {
    // SAFETY: attached (the contract).
    let p = unsafe { with(Vec::pop) }?;
    // SAFETY: `p` is memory of our type's basicsize that was tp_alloc'ed, untracked and not
    // freed; PyObject_Init sets its type and a refcount of 1 (and takes a reference to the
    // heap type, which `dealloc` gives back), as a fresh allocation would.
    unsafe { ffi::PyObject_Init(p, tp) };
    Some(p)
}

/// Keeps `obj` for reuse, or reports that it must be freed (the list is full, or the GC
/// finalised it: its header remembers that, and a reused object must be finalisable again).
///
/// # Safety
/// Attached; `obj` is untracked, its `d` recycled, its refcount 0, never used again (if not
/// kept, the caller drops `d` and frees it).
pub(crate) unsafe fn keep(obj: *mut ffi::PyObject) -> bool {
    // SAFETY: `obj`'s memory (and GC header) is still allocated.
    if unsafe { ffi::PyObject_GC_IsFinalized(obj) } != 0 {
        return false;
    }
    // SAFETY: attached.
    unsafe {
        with(|f| {
            if f.len() < MAX {
                f.push(obj);
                true
            } else {
                false
            }
        })
    }
}
