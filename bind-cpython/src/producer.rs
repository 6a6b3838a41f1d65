//! Native producers: the Rust [`Producer`] handle, the Python `ProducerHandle` that carries a
//! channel pointer to C code, and the `awaitq._C_API` capsule with the C function table.
//!
//! Lifetime rule: the channel's storage lives as long as any `Arc<Shared>` (the Python
//! `Channel`, a `Producer`, a `ProducerHandle`, a channel capsule). Once the Python `Channel`
//! is gone the channel is closed, so pushes return closed; they never touch freed memory as
//! long as the pusher holds one of those handles.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use awaitq_capi::{as_c_ptr, awaitq_channel_t};
use awaitq_core::{PushError, Stats};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use pyo3::{ffi, Py};

use crate::args;
use crate::buffer;
use crate::channel::Channel;
use crate::errors::Failure;
use crate::shared::Shared;

/// A producer for Rust code: `Send + Sync + Clone`, usable from any thread, never touches
/// Python. It keeps the channel's storage alive; after the Python `Channel` is dropped (or
/// closed), [`push`](Self::push) returns [`PushError::Closed`].
///
/// ```ignore
/// // In a PyO3 function of an extension that links this crate:
/// let producer = awaitq_cpython::Producer::from_object(channel_or_handle)?;
/// std::thread::spawn(move || producer.push(0x123, b"frame"));
/// ```
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl Producer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The producer of an `awaitq.Channel` or `awaitq.ProducerHandle` object.
    pub fn from_object(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(ch) = obj.cast::<Channel>() {
            return Ok(Self::new(Arc::clone(ch.get().shared())));
        }
        let h = obj
            .cast::<ProducerHandle>()
            .map_err(|_| Failure::Type("the object", "an awaitq.Channel or ProducerHandle"))?;
        Ok(h.get().producer.clone())
    }

    /// Queues one frame. Never blocks (the core's lock-free ring), never allocates.
    pub fn push(&self, tag: u32, payload: &[u8]) -> Result<(), PushError> {
        self.shared.ch.push(tag, payload)
    }

    /// Closes the channel: the consumer drains what is queued, then sees it closed.
    pub fn close(&self) {
        self.shared.ch.close();
    }

    /// `true` once the channel is closed (by either side, or by dropping the Python object).
    pub fn is_closed(&self) -> bool {
        self.shared.ch.is_closed()
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        self.shared.ch.len()
    }

    /// `true` when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The longest payload the channel accepts.
    pub fn max_frame(&self) -> usize {
        self.shared.config.max_frame
    }

    /// The channel's counters.
    pub fn stats(&self) -> Stats {
        self.shared.ch.stats()
    }

    /// The `awaitq_channel_t *` for the C functions; valid while this producer (or a clone)
    /// exists.
    pub fn as_c_ptr(&self) -> *const awaitq_channel_t {
        as_c_ptr(&self.shared.ch)
    }
}

/// `ch.producer()`: hands a channel to native code and keeps its storage alive meanwhile.
///
/// `address` is the `awaitq_channel_t *` as an int; `capsule()` wraps it in a PyCapsule named
/// `"awaitq.channel"` that holds its own reference. C code must keep the handle (or capsule)
/// referenced for as long as it pushes: take a reference with the GIL before starting a
/// thread, drop it with the GIL after joining it.
#[pyclass(frozen, module = "awaitq")]
pub struct ProducerHandle {
    producer: Producer,
}

impl ProducerHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            producer: Producer::new(shared),
        }
    }
}

const CHANNEL_CAPSULE: &std::ffi::CStr = c"awaitq.channel";

#[pymethods]
impl ProducerHandle {
    /// The `awaitq_channel_t *` as an int.
    #[getter]
    fn address(&self) -> usize {
        self.producer.as_c_ptr() as usize
    }

    /// A PyCapsule `"awaitq.channel"` holding the channel pointer (and a reference to it).
    fn capsule<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let ptr = NonNull::new(self.producer.as_c_ptr().cast_mut().cast::<c_void>())
            .expect("a reference is never null");
        // SAFETY: the pointer stays valid while the capsule lives, because the capsule's
        // context owns a strong count on the storage, released by `release_capsule`.
        let cap = unsafe {
            PyCapsule::new_with_pointer_and_destructor(
                py,
                ptr,
                CHANNEL_CAPSULE,
                Some(release_capsule),
            )
        }?;
        let keep = Arc::into_raw(Arc::clone(&self.producer.shared))
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `cap` is a live capsule; the context is ours to set.
        if unsafe { ffi::PyCapsule_SetContext(cap.as_ptr(), keep) } != 0 {
            // SAFETY: the context was not stored, so the count is still ours to release.
            drop(unsafe { Arc::from_raw(keep.cast::<Shared>()) });
            return Err(PyErr::fetch(py));
        }
        Ok(cap)
    }

    /// Pushes a frame, like a native producer would (for tests and demos).
    #[pyo3(signature = (data, tag=None), text_signature = "($self, data, tag=0)")]
    fn push(&self, data: &Bound<'_, PyAny>, tag: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let tag = tag.map_or(Ok(0), args::tag)?;
        buffer::with_bytes(data, "data", |d| self.producer.push(tag, d))?.map_err(Failure::from)?;
        Ok(())
    }

    /// Closes the channel from the producer side.
    fn close(&self) {
        self.producer.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.producer.is_closed()
    }

    fn __repr__(&self) -> String {
        format!("<awaitq.ProducerHandle address={:#x}>", self.address())
    }
}

/// Releases the strong count a channel capsule holds.
unsafe extern "C" fn release_capsule(capsule: *mut ffi::PyObject) {
    // SAFETY: called once by the capsule's dealloc; the context (if set) is the count taken in
    // `capsule()`.
    unsafe {
        let ctx = ffi::PyCapsule_GetContext(capsule);
        if !ctx.is_null() {
            drop(Arc::from_raw(ctx.cast::<Shared>()));
        }
    }
}

/// `awaitq._C_API`: a PyCapsule of the core's `awaitq_producer_api_t` (see
/// `ports/include/awaitq.h`), so C extensions push without linking this module; the
/// native-awaitable table follows it (`crate::cont::C_API`, `ports/include/awaitq_aw.h`).
pub(crate) fn c_api_capsule(py: Python<'_>) -> PyResult<Py<PyCapsule>> {
    let ptr = NonNull::from(&crate::cont::C_API).cast::<c_void>();
    // SAFETY: a pointer to a `static` table, valid for the whole process; C code only reads it.
    let cap = unsafe { PyCapsule::new_with_pointer(py, ptr, c"awaitq._C_API") }?;
    Ok(cap.unbind())
}
