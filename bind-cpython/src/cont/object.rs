//! The object layout of a native awaitable and the operations on its state that are not
//! the machine's: queueing an await (core's [`AddCursor`] order), the result, saved values.
//!
//! Every field is a cell: callbacks run while the machine runs and call back into the same
//! object (add an await, set the result, cancel), so no borrow is ever held across a call
//! into Python or into a callback.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::ptr;

use awaitq_core::{AddCursor, ContError, ContInput, ContStep, Continuation};
use pyo3::prelude::*;
use pyo3::{ffi, Py};

use super::entry::Entry;
use super::errors::cont_err;
use super::future::FutureState;
use super::host::PyHost;
use super::slots;
use super::with::WithState;

/// The object: `PyObject_HEAD`, then Rust state.
#[repr(C)]
pub(crate) struct ContObject {
    ob_base: ffi::PyObject,
    pub(crate) d: ContData,
}

/// What drives the awaitable.
pub(crate) enum Kind {
    /// A queue of awaits filled by native code (the C and Rust APIs).
    Queue,
    /// A Rust future, polled from `next_entry`.
    Future(FutureState),
    /// The statement awaitable of an `async with` (its queue holds the statement's stages).
    With(WithState),
}

pub(crate) struct ContData {
    pub(crate) cont: Continuation<Entry>,
    pub(crate) queue: RefCell<VecDeque<Entry>>,
    pub(crate) cursor: Cell<AddCursor>,
    pub(crate) result: Cell<Option<Py<PyAny>>>,
    pub(crate) values: RefCell<Vec<Py<PyAny>>>,
    pub(crate) ptrs: RefCell<Vec<*mut c_void>>,
    /// An `async with` body's awaitable keeps its values and result in the awaitable that
    /// contains the statement (as a block's locals are the function's).
    pub(crate) owner: Cell<Option<Py<PyAny>>>,
    pub(crate) kind: Kind,
}

/// A new awaitable of `kind` (a new reference).
pub(crate) fn alloc<'py>(
    py: Python<'py>,
    kind: Kind,
    owner: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let tp = slots::type_ptr(py)?;
    // SAFETY: our heap type; tp_alloc (PyType_GenericAlloc) returns zeroed, GC-tracked memory
    // of `basicsize` bytes, or NULL with an exception set.
    let obj = unsafe {
        let alloc: ffi::allocfunc = std::mem::transmute(ffi::PyType_GetSlot(tp, ffi::Py_tp_alloc));
        alloc(tp, 0)
    };
    if obj.is_null() {
        return Err(PyErr::fetch(py));
    }
    let data = ContData {
        cont: Continuation::new(),
        queue: RefCell::new(VecDeque::new()),
        cursor: Cell::new(AddCursor::new()),
        result: Cell::new(None),
        values: RefCell::new(Vec::new()),
        ptrs: RefCell::new(Vec::new()),
        owner: Cell::new(owner),
        kind,
    };
    // SAFETY: `obj` is a fresh, exclusively owned ContObject allocation; the write does not
    // drop the zeroes. No Python code runs between the allocation and this write, so the GC
    // never traverses the object before `d` is valid.
    unsafe {
        ptr::addr_of_mut!((*obj.cast::<ContObject>()).d).write(data);
        Ok(Bound::from_owned_ptr(py, obj))
    }
}

impl ContObject {
    /// `obj` as a native awaitable, or `ContError::NotNativeAwaitable`.
    ///
    /// # Safety
    /// `obj` is a live object (or NULL) and stays alive for `'a`.
    pub(crate) unsafe fn from_ptr<'a>(
        py: Python<'_>,
        obj: *mut ffi::PyObject,
    ) -> PyResult<&'a Self> {
        if obj.is_null() {
            return Err(cont_err(ContError::NullArgument));
        }
        // SAFETY: live per the contract.
        if !ptr::eq(unsafe { ffi::Py_TYPE(obj) }, slots::type_ptr(py)?) {
            return Err(cont_err(ContError::NotNativeAwaitable));
        }
        // SAFETY: its type is ours, so it is a ContObject.
        Ok(unsafe { &*obj.cast::<Self>() })
    }

    /// The object pointer (borrowed).
    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        (self as *const Self).cast_mut().cast()
    }

    /// The object as a new strong reference.
    pub(crate) fn to_bound<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        // SAFETY: `self` is a live object (we are inside one of its methods).
        unsafe { Bound::from_borrowed_ptr(py, self.as_ptr()) }
    }

    /// Advances the machine (core decides; the host runs Python).
    pub(crate) fn resume(
        &self,
        py: Python<'_>,
        input: ContInput<Py<PyAny>, PyErr>,
    ) -> ContStep<Py<PyAny>, PyErr> {
        self.d.cont.resume(&mut PyHost::new(py, self), input)
    }

    /// Native code gives up (`awaitq_aw_cancel`).
    pub(crate) fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        self.d.cont.cancel(&mut PyHost::new(py, self))
    }

    /// Queues an await (or a deferred decision) in core's [`AddCursor`] order.
    pub(crate) fn add(&self, entry: Entry) -> PyResult<()> {
        self.d.cont.check_open().map_err(cont_err)?;
        if matches!(self.d.kind, Kind::Future(_)) {
            // A Rust future decides its own awaits; a queue would never be looked at.
            return Err(cont_err(ContError::NotNativeAwaitable));
        }
        let mut q = self.d.queue.borrow_mut();
        let mut cursor = self.d.cursor.get();
        let at = cursor.insert_index(q.len());
        self.d.cursor.set(cursor);
        q.insert(at, entry);
        Ok(())
    }

    /// Takes the next queued entry (core's `next_entry` for a queue).
    pub(crate) fn pop(&self) -> Option<Entry> {
        let e = self.d.queue.borrow_mut().pop_front();
        self.d.cursor.set(AddCursor::new());
        e
    }

    /// Where values and the result live: the statement owner for an `async with` body.
    pub(crate) fn target(&self) -> &ContObject {
        let owner = self.d.owner.take();
        let p = owner.as_ref().map(|o| o.as_ptr());
        self.d.owner.set(owner);
        match p {
            // SAFETY: an owner is a ContObject (set only by `with`), kept alive by our strong
            // reference, which is dropped only when this object is cleared or freed.
            Some(p) => unsafe { &*p.cast::<ContObject>() },
            None => self,
        }
    }

    /// Sets the awaitable's result (last one wins).
    pub(crate) fn set_result(&self, value: Py<PyAny>) -> PyResult<()> {
        let t = self.target();
        t.d.cont.check_open().map_err(cont_err)?;
        drop(t.d.result.replace(Some(value)));
        Ok(())
    }

    /// Appends values for the callbacks; returns the index of the first.
    pub(crate) fn save(&self, values: impl IntoIterator<Item = Py<PyAny>>) -> PyResult<usize> {
        let t = self.target();
        t.d.cont.check_open().map_err(cont_err)?;
        let mut v = t.d.values.borrow_mut();
        let first = v.len();
        v.extend(values);
        Ok(first)
    }

    /// Saved value `index` (a new reference).
    pub(crate) fn value(&self, py: Python<'_>, index: usize) -> PyResult<Py<PyAny>> {
        let v = self.target().d.values.borrow();
        v.get(index).map(|o| o.clone_ref(py)).ok_or_else(|| {
            cont_err(ContError::TooFewValues {
                saved: v.len(),
                wanted: index + 1,
            })
        })
    }

    /// Replaces saved value `index`.
    pub(crate) fn set_value(&self, index: usize, value: Py<PyAny>) -> PyResult<()> {
        let t = self.target();
        let old = {
            let mut v = t.d.values.borrow_mut();
            let saved = v.len();
            let slot = v.get_mut(index).ok_or_else(|| {
                cont_err(ContError::TooFewValues {
                    saved,
                    wanted: index + 1,
                })
            })?;
            std::mem::replace(slot, value)
        };
        drop(old); // outside the borrow: the drop may run a finalizer
        Ok(())
    }
}
