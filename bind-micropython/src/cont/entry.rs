//! One queued await and what to do with its outcome. The callbacks are C function pointers
//! (the C API) or the binding's own steps (a Rust future's reply slot, the stages of an
//! `async with`).
//!
//! Memory: each entry is one GC block (a [`Node`]), referenced from its awaitable's queue or
//! from the core `Continuation` while it is awaited, so the collector keeps and scans it (its
//! awaitable and iterator included). An [`Entry`] is a one-word handle to it: core's
//! `Option<Entry>` is a null pointer when empty, so no stale pointer lingers in scanned
//! memory. An entry that is done becomes its awaitable's spare node (the next await added
//! reuses it: a chain of awaits allocates no node after the first), or is simply no longer
//! referenced and freed by the collector.

use core::cell::Cell;
use core::ffi::c_int;
use core::mem::{align_of, size_of};
use core::ptr::{self, NonNull};

use super::obj::{memory_error, Obj};
use crate::ffi;

/// `awaitq_aw_result_cb` (non-NULL).
pub(crate) type CResultCb = unsafe extern "C" fn(ffi::mp_obj_t, ffi::mp_obj_t) -> c_int;
/// `awaitq_aw_error_cb` (non-NULL).
pub(crate) type CErrorCb = unsafe extern "C" fn(ffi::mp_obj_t, ffi::mp_obj_t) -> c_int;
/// `awaitq_aw_defer_cb` (non-NULL).
pub(crate) type CDeferCb = unsafe extern "C" fn(ffi::mp_obj_t) -> c_int;

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

#[derive(Clone, Copy)]
pub(crate) enum OnResult {
    /// Drop the value.
    Ignore,
    C(CResultCb),
    /// A Rust future's `py_await` with this id gets the value.
    Reply(u32),
    With(WithStage),
}

#[derive(Clone, Copy)]
pub(crate) enum OnError {
    /// No callback: raise.
    Raise,
    C(CErrorCb),
    Reply(u32),
    With(WithStage),
}

#[derive(Clone, Copy)]
pub(crate) enum OnDefer {
    C(CDeferCb),
    /// `async with`: call `__aenter__` now and await its result.
    WithEnter,
}

pub(crate) enum Body {
    /// Await `awaitable` (its iterator once started; `MP_OBJ_NULL` before).
    Await {
        awaitable: Obj,
        iter: Cell<Obj>,
        on_result: OnResult,
        on_error: OnError,
    },
    /// A decision to run when reached (its failure goes to `on_error`).
    Defer {
        decide: Cell<Option<OnDefer>>,
        on_error: OnError,
    },
    /// A Rust future parked on its `Waker`: yields once, returns when resumed.
    Wait { yielded: Cell<bool> },
}

/// The GC block of one entry.
pub(crate) struct Node {
    /// The next entry of the queue (null at the end, and once taken out).
    pub(crate) next: Cell<*mut Node>,
    pub(crate) body: Body,
}

// GC blocks are aligned to at least 16 bytes.
const _: () = assert!(align_of::<Node>() <= 16);

/// The handle core's machine moves around: the node's address (the start of its GC block).
pub(crate) struct Entry(NonNull<Node>);

impl Entry {
    /// A new entry in `spare` (the node of an entry that is done, null if none) or a fresh
    /// GC block; `MemoryError` when the heap is exhausted (nothing queued, nothing changed).
    pub(crate) fn new(spare: *mut Node, body: Body) -> Result<Self, Obj> {
        let p = if spare.is_null() {
            // SAFETY: a plain allocation; never raises (NULL when out of memory).
            unsafe { ffi::awaitq_mp_sys_alloc(size_of::<Node>()) }.cast::<Node>()
        } else {
            spare
        };
        let p = NonNull::new(p).ok_or_else(memory_error)?;
        // SAFETY: a fresh block of the node's size, aligned (checked above), or a spare node
        // no handle refers to any more: ours alone. Overwriting it drops nothing (a body
        // holds only plain values).
        unsafe {
            p.as_ptr().write(Node {
                next: Cell::new(ptr::null_mut()),
                body,
            })
        };
        Ok(Self(p))
    }

    pub(crate) fn node(&self) -> &Node {
        // SAFETY: the handle owns a live node: its block is reachable from the awaitable (or
        // from this handle, on the stack) for as long as the handle exists.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn body(&self) -> &Body {
        &self.node().body
    }

    pub(crate) fn as_ptr(&self) -> *mut Node {
        self.0.as_ptr()
    }

    /// # Safety
    /// `p` is a node that no other `Entry` handle owns (taken out of a queue).
    pub(crate) unsafe fn from_ptr(p: NonNull<Node>) -> Self {
        Self(p)
    }
}
