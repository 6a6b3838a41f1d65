//! The Rust state of a native awaitable (the tail of `awaitq_mp_cont_obj_t`, csrc/shim.h) and
//! the operations on it that are not the machine's: queueing an await (core's `AddCursor`
//! order), the result, saved values and pointers.
//!
//! Every field is a cell: callbacks run while the machine runs and call back into the same
//! object (add an await, set the result, cancel), so nothing is ever borrowed across a call
//! into MicroPython. Everything lives in the object's GC block (or in blocks it points to by
//! their start), so the collector keeps and scans all of it; C allocates the object, Rust
//! writes this state into it.

use core::cell::Cell;
use core::ffi::c_void;
use core::mem::{align_of, size_of};
use core::ptr::{self, addr_of_mut};

use awaitq_core::{ContError, ContInput, ContStep, Continuation};

use super::array::Array;
use super::entry::{Body, Entry, Node, OnError, OnResult};
use super::host::MpHost;
use super::obj::{cont_error, memory_error, Obj};
use super::queue::Queue;
use crate::ffi::{self, awaitq_mp_cont_obj_t};

/// What drives the awaitable (`enum awaitq_mp_cont_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A queue of awaits filled by native code (the C API).
    Queue,
    /// The statement awaitable of an `async with` (`ext`: its `WithState` block).
    With,
    /// A Rust future, polled from `next_entry` (`ext`: the future's block).
    Future,
}

pub(crate) struct ContState {
    pub(crate) cont: Continuation<Entry>,
    pub(crate) queue: Queue,
    /// `MP_OBJ_NULL` until native code sets it.
    pub(crate) result: Cell<Obj>,
    /// An `async with` block keeps its values and result in the awaitable that contains the
    /// statement (as a block's locals are the function's); `MP_OBJ_NULL` otherwise.
    pub(crate) owner: Cell<Obj>,
    pub(crate) values: Array<Obj>,
    pub(crate) ptrs: Array<*mut c_void>,
    pub(crate) kind: Kind,
    /// The start of the kind's own GC block (null for a queue).
    pub(crate) ext: Cell<*mut u8>,
    /// A Rust future's wake slot (`waker.rs`), 0 when none.
    pub(crate) wake: Cell<u32>,
    /// The entry a host step is working on, kept here while MicroPython runs: reachable for
    /// the collector whatever registers the compiler kept its address in.
    pub(crate) anchor: Cell<*mut Node>,
    /// The node of an entry that is done, for the next one (null if none).
    pub(crate) spare: Cell<*mut Node>,
}

// The tail is `uint64_t state[]`.
const _: () = assert!(align_of::<ContState>() <= 8);

/// A native awaitable, for one call: its object (kept, so the collector sees the start of
/// the block) and its state.
#[derive(Clone, Copy)]
pub(crate) struct Cont<'a> {
    pub(crate) obj: Obj,
    pub(crate) st: &'a ContState,
}

/// `size_of` the state, for C.
pub(crate) const STATE_SIZE: usize = size_of::<ContState>();

/// A new awaitable of `kind`; `MemoryError` when the heap is exhausted.
pub(crate) fn alloc(kind: Kind, owner: Obj, finaliser: bool) -> Result<Obj, Obj> {
    // SAFETY: never raises; NULL when out of memory.
    let p = unsafe { ffi::awaitq_mp_sys_cont_alloc(STATE_SIZE, finaliser) };
    if p.is_null() {
        return Err(memory_error());
    }
    let st = ContState {
        cont: Continuation::new(),
        queue: Queue::new(),
        result: Cell::new(Obj::NULL),
        owner: Cell::new(owner),
        values: Array::new(),
        ptrs: Array::new(),
        kind,
        ext: Cell::new(ptr::null_mut()),
        wake: Cell::new(0),
        anchor: Cell::new(ptr::null_mut()),
        spare: Cell::new(ptr::null_mut()),
    };
    // SAFETY: C allocated the object with STATE_SIZE bytes of tail, 8-aligned (checked
    // above), zeroed and ours alone; nothing runs between the allocation and this write.
    unsafe { state_ptr(p).write(st) };
    Ok(Obj::from_ptr(p))
}

fn state_ptr(p: *mut awaitq_mp_cont_obj_t) -> *mut ContState {
    // SAFETY: only computes the address of the tail field of an object C allocated.
    unsafe { addr_of_mut!((*p).state).cast::<ContState>() }
}

impl<'a> Cont<'a> {
    /// The awaitable at `p`.
    ///
    /// # Safety
    /// `p` is a live `awaitq_mp_cont_obj_t` whose state `alloc` wrote, alive for `'a`.
    pub(crate) unsafe fn from_raw(p: *mut awaitq_mp_cont_obj_t) -> Self {
        Self {
            obj: Obj::from_ptr(p),
            // SAFETY: per the contract.
            st: unsafe { &*state_ptr(p) },
        }
    }

    /// `obj` as a native awaitable: `NullArgument` for NULL, `NotNativeAwaitable` for
    /// another object.
    ///
    /// # Safety
    /// `obj` is NULL or a live object that stays alive for `'a`.
    pub(crate) unsafe fn from_obj(obj: Obj) -> Result<Self, Obj> {
        if obj.is_null() {
            return Err(cont_error(ContError::NullArgument));
        }
        // SAFETY: a live object; never raises.
        if !unsafe { ffi::awaitq_mp_sys_is_cont(obj.raw()) } {
            return Err(cont_error(ContError::NotNativeAwaitable));
        }
        // SAFETY: its type is ours, so `alloc` made it.
        Ok(unsafe { Self::from_raw(obj.to_ptr()) })
    }

    pub(crate) fn raw(self) -> *mut awaitq_mp_cont_obj_t {
        self.obj.to_ptr()
    }

    /// Advances the machine (core decides; the host runs MicroPython).
    pub(crate) fn resume(self, input: ContInput<Obj, Obj>) -> ContStep<Obj, Obj> {
        self.st.cont.resume(&mut MpHost::new(self), input)
    }

    /// Native code gives up (`awaitq_aw_cancel`).
    pub(crate) fn cancel(self) -> Result<(), Obj> {
        self.st.cont.cancel(&mut MpHost::new(self))
    }

    /// Whether an await may be queued: open, and not a Rust future (which decides its own
    /// awaits; a queue would never be looked at).
    pub(crate) fn check_add(self) -> Result<(), Obj> {
        self.st.cont.check_open().map_err(cont_error)?;
        if self.st.kind == Kind::Future {
            return Err(cont_error(ContError::NotNativeAwaitable));
        }
        Ok(())
    }

    /// Queues an entry (made by the caller after `check_add`, so a failed allocation left
    /// nothing half-done).
    pub(crate) fn add(self, entry: Entry) -> Result<(), Obj> {
        // Again: allocating the entry may have run a collection, and its finalisers.
        self.check_add()?;
        self.st.queue.insert(entry);
        Ok(())
    }

    /// A new entry (in the spare node if there is one).
    pub(crate) fn entry(self, body: Body) -> Result<Entry, Obj> {
        Entry::new(self.st.spare.replace(ptr::null_mut()), body)
    }

    /// A new await entry.
    pub(crate) fn await_entry(
        self,
        awaitable: Obj,
        on_result: OnResult,
        on_error: OnError,
    ) -> Result<Entry, Obj> {
        self.entry(Body::Await {
            awaitable,
            iter: Cell::new(Obj::NULL),
            on_result,
            on_error,
        })
    }

    /// An entry that is done: its node becomes the spare, cleared (it must not keep what it
    /// awaited alive).
    pub(crate) fn recycle(self, entry: Entry) {
        let p = entry.as_ptr();
        // SAFETY: the handle was the node's only owner and is consumed here; writing plain
        // values over the node drops nothing.
        unsafe {
            p.write(Node {
                next: Cell::new(ptr::null_mut()),
                body: Body::Wait {
                    yielded: Cell::new(false),
                },
            })
        };
        self.st.spare.set(p);
    }

    /// Where values and the result live: the statement's owner for an `async with` block.
    pub(crate) fn target(self) -> Cont<'a> {
        let owner = self.st.owner.get();
        if owner.is_null() {
            self
        } else {
            // SAFETY: an owner is a native awaitable (set only by `with.rs`), kept alive by
            // this object, which references it.
            unsafe { Cont::from_raw(owner.to_ptr()) }
        }
    }

    /// Sets the result (last one wins).
    pub(crate) fn set_result(self, value: Obj) -> Result<(), Obj> {
        let t = self.target();
        t.st.cont.check_open().map_err(cont_error)?;
        t.st.result.set(value);
        Ok(())
    }

    /// Appends values for the callbacks, all or nothing.
    pub(crate) fn save(self, values: &[Obj]) -> Result<(), Obj> {
        let t = self.target();
        t.st.cont.check_open().map_err(cont_error)?;
        t.st.values.extend(values).map_err(|()| memory_error())
    }

    /// Appends raw pointers, all or nothing.
    pub(crate) fn save_ptrs(self, ptrs: &[*mut c_void]) -> Result<(), Obj> {
        let t = self.target();
        t.st.cont.check_open().map_err(cont_error)?;
        t.st.ptrs.extend(ptrs).map_err(|()| memory_error())
    }

    /// Saved value `index`.
    pub(crate) fn value(self, index: usize) -> Result<Obj, Obj> {
        let v = &self.target().st.values;
        v.get(index).ok_or_else(|| too_few(v.len(), index + 1))
    }

    /// Replaces saved value `index`.
    pub(crate) fn set_value(self, index: usize, value: Obj) -> Result<(), Obj> {
        let v = &self.target().st.values;
        if v.set(index, value) {
            Ok(())
        } else {
            Err(too_few(v.len(), index + 1))
        }
    }
}

/// `ContError::TooFewValues`.
pub(crate) fn too_few(saved: usize, wanted: usize) -> Obj {
    cont_error(ContError::TooFewValues { saved, wanted })
}
