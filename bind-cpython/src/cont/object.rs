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
use pyo3::ffi;

use super::entry::Entry;
use super::freelist;
use super::future::FutureState;
use super::host::PyHost;
use super::obj::{Exc, Obj};
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
    /// A Rust future, polled from `next_entry` (inline: one allocation fewer per future; the
    /// future itself lives in the `Arc` its `Waker` shares).
    Future(FutureState),
    /// The statement awaitable of an `async with` (its queue holds the statement's stages).
    With(Box<WithState>),
}

pub(crate) struct ContData {
    pub(crate) cont: Continuation<Entry>,
    pub(crate) queue: RefCell<VecDeque<Entry>>,
    pub(crate) cursor: Cell<AddCursor>,
    pub(crate) result: Cell<Option<Obj>>,
    pub(crate) values: RefCell<Vec<Obj>>,
    pub(crate) ptrs: RefCell<Vec<*mut c_void>>,
    /// An `async with` body's awaitable keeps its values and result in the awaitable that
    /// contains the statement (as a block's locals are the function's).
    pub(crate) owner: Cell<Option<Obj>>,
    pub(crate) kind: Kind,
}

/// A new awaitable of `kind` (a new reference).
pub(crate) fn alloc(kind: Kind, owner: Option<Obj>) -> Result<Obj, Exc> {
    let tp = slots::type_ptr()?;
    // SAFETY: attached (every caller is); a kept object is re-initialised for `tp`; else
    // tp_alloc (PyType_GenericAlloc) returns zeroed, GC-tracked memory of `basicsize` bytes,
    // or NULL with an exception set.
    let (obj, track) = unsafe {
        match freelist::take(tp) {
            Some(p) => (p, true),
            None => (slots::tp_alloc()(tp, 0), false),
        }
    };
    if obj.is_null() {
        return Err(Exc::fetch());
    }
    // SAFETY: `obj` is exclusively ours. A kept object's `d` is valid and empty (see
    // `ContData::recycle`): only its owner and kind are set (the old kind is `Queue`, which
    // holds nothing). Fresh memory is zeroed, so `d` is written whole, without dropping what
    // was there. No Python code runs between the allocation and the write, so the GC never
    // traverses the object before `d` is valid; a kept object is tracked only once it is.
    unsafe {
        let d = ptr::addr_of_mut!((*obj.cast::<ContObject>()).d);
        if track {
            (*d).owner.set(owner);
            // Already `Queue`; a larger kind (a future's state) is the only one worth a write.
            if !matches!(kind, Kind::Queue) {
                (*d).kind = kind;
            }
            ffi::PyObject_GC_Track(obj.cast());
        } else {
            d.write(ContData {
                cont: Continuation::new(),
                queue: RefCell::new(VecDeque::new()),
                cursor: Cell::new(AddCursor::new()),
                result: Cell::new(None),
                values: RefCell::new(Vec::new()),
                ptrs: RefCell::new(Vec::new()),
                owner: Cell::new(owner),
                kind,
            });
        }
        Ok(Obj::from_owned(obj).expect("non-NULL"))
    }
}

/// Containers larger than this are freed rather than kept with a recycled object.
const KEEP_CAPACITY: usize = 16;

impl ContData {
    /// Drops every reference and resets the state to a new awaitable's (`Queue` kind, no
    /// owner), keeping the containers' memory (up to [`KEEP_CAPACITY`] items) for the object's
    /// next use: a recycled object allocates nothing for its first awaits. Drops may run
    /// finalisers; the object is dead (refcount 0, untracked), so none can reach it.
    pub(crate) fn recycle(&mut self) {
        fn reuse<T>(v: &mut Vec<T>) {
            if v.capacity() > KEEP_CAPACITY {
                *v = Vec::new();
            } else {
                v.clear();
            }
        }
        self.cont = Continuation::new();
        let queue = self.queue.get_mut();
        if queue.capacity() > KEEP_CAPACITY {
            *queue = VecDeque::new();
        } else {
            queue.clear();
        }
        self.cursor.set(AddCursor::new());
        self.result.set(None);
        reuse(self.values.get_mut());
        reuse(self.ptrs.get_mut());
        self.owner.set(None);
        if !matches!(self.kind, Kind::Queue) {
            self.kind = Kind::Queue;
        }
    }
}

impl ContObject {
    /// `obj` as a native awaitable, or `ContError::NotNativeAwaitable`.
    ///
    /// # Safety
    /// `obj` is a live object (or NULL) and stays alive for `'a`; attached.
    pub(crate) unsafe fn from_ptr<'a>(obj: *mut ffi::PyObject) -> Result<&'a Self, Exc> {
        if obj.is_null() {
            return Err(Exc::cont(ContError::NullArgument));
        }
        // SAFETY: live per the contract.
        if !ptr::eq(unsafe { ffi::Py_TYPE(obj) }, slots::type_ptr()?) {
            return Err(Exc::cont(ContError::NotNativeAwaitable));
        }
        // SAFETY: its type is ours, so it is a ContObject.
        Ok(unsafe { &*obj.cast::<Self>() })
    }

    /// The object pointer (borrowed).
    pub(crate) fn as_ptr(&self) -> *mut ffi::PyObject {
        (self as *const Self).cast_mut().cast()
    }

    /// The object as a new strong reference.
    pub(crate) fn to_obj(&self) -> Obj {
        // SAFETY: `self` is a live object (we are inside one of its methods).
        unsafe { Obj::from_borrowed(self.as_ptr()) }
    }

    /// Advances the machine (core decides; the host runs Python).
    ///
    /// Free-threaded (`Py_GIL_DISABLED`), a step runs inside the object's per-object critical
    /// section, so two threads never run the machine's Rust code at once; a thread that enters
    /// while another's step waits on Python code (the critical section is then suspended) is
    /// refused by core's `Running` check, as a re-entrant resume is. With the GIL this is the
    /// plain call.
    pub(crate) fn resume(&self, input: ContInput<Obj, Exc>) -> ContStep<Obj, Exc> {
        #[cfg(Py_GIL_DISABLED)]
        {
            let obj = (self as *const Self).cast_mut().cast::<ffi::PyObject>();
            // SAFETY: `self` is a live object (its slot holds a reference); slots run attached.
            let (py, obj) = unsafe {
                let py = pyo3::Python::assume_attached();
                (py, pyo3::Bound::from_borrowed_ptr(py, obj))
            };
            let _ = py;
            pyo3::sync::critical_section::with_critical_section(&obj, || {
                self.d.cont.resume(&mut PyHost::new(self), input)
            })
        }
        #[cfg(not(Py_GIL_DISABLED))]
        self.d.cont.resume(&mut PyHost::new(self), input)
    }

    /// Native code gives up (`awaitq_aw_cancel`).
    pub(crate) fn cancel(&self) -> Result<(), Exc> {
        self.d.cont.cancel(&mut PyHost::new(self))
    }

    /// Queues an await (or a deferred decision) in core's [`AddCursor`] order.
    pub(crate) fn add(&self, entry: Entry) -> Result<(), Exc> {
        self.d.cont.check_open().map_err(Exc::cont)?;
        if matches!(self.d.kind, Kind::Future(_)) {
            // A Rust future decides its own awaits; a queue would never be looked at.
            return Err(Exc::cont(ContError::NotNativeAwaitable));
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
        let p = owner.as_ref().map(Obj::as_ptr);
        self.d.owner.set(owner);
        match p {
            // SAFETY: an owner is a ContObject (set only by `with`), kept alive by our strong
            // reference, which is dropped only when this object is cleared or freed.
            Some(p) => unsafe { &*p.cast::<ContObject>() },
            None => self,
        }
    }

    /// Sets the awaitable's result (last one wins).
    pub(crate) fn set_result(&self, value: Obj) -> Result<(), Exc> {
        let t = self.target();
        t.d.cont.check_open().map_err(Exc::cont)?;
        drop(t.d.result.replace(Some(value)));
        Ok(())
    }

    /// Appends values for the callbacks; returns the index of the first.
    pub(crate) fn save(&self, values: impl IntoIterator<Item = Obj>) -> Result<usize, Exc> {
        let t = self.target();
        t.d.cont.check_open().map_err(Exc::cont)?;
        let mut v = t.d.values.borrow_mut();
        let first = v.len();
        v.extend(values);
        Ok(first)
    }

    /// Saved value `index` (borrowed from the awaitable).
    pub(crate) fn value_ptr(&self, index: usize) -> Result<*mut ffi::PyObject, Exc> {
        let found = {
            let v = self.target().d.values.borrow();
            v.get(index).map(Obj::as_ptr).ok_or(v.len())
        };
        // The error is made outside the borrow: making it allocates, which may run the GC.
        found.map_err(|saved| too_few(saved, index + 1))
    }

    /// Replaces saved value `index`.
    pub(crate) fn set_value(&self, index: usize, value: Obj) -> Result<(), Exc> {
        let t = self.target();
        let old = {
            let mut v = t.d.values.borrow_mut();
            let saved = v.len();
            match v.get_mut(index) {
                Some(slot) => Ok(std::mem::replace(slot, value)),
                None => Err((saved, value)),
            }
        };
        // Outside the borrow: a drop may run a finaliser, making an error may run the GC.
        match old {
            Ok(old) => {
                drop(old);
                Ok(())
            }
            Err((saved, value)) => {
                drop(value);
                Err(too_few(saved, index + 1))
            }
        }
    }
}

/// `ContError::TooFewValues`.
pub(crate) fn too_few(saved: usize, wanted: usize) -> Exc {
    Exc::cont(ContError::TooFewValues { saved, wanted })
}
