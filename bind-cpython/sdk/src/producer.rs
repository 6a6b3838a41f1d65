//! [`Producer`]: push into a Python `awaitq.Channel` from any thread, without the GIL.

use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyType};

use crate::api;
use crate::ffi::{
    self, awaitq_channel_t, awaitq_frame_t, awaitq_producer_api_t, awaitq_producer_ext_api_t,
};

/// Why a push did not queue its frame (the frame is not kept: push it again to retry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The channel is full and its overflow policy is `"reject"` (counted as dropped).
    Full,
    /// The channel is closed, or its Python `Channel` is gone.
    Closed,
    /// The payload is longer than the channel's `max_frame` (counted as rejected).
    Oversize,
    /// The installed awaitq predates this function (capsule version < 3): upgrade awaitq.
    Unsupported,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "awaitq channel is full",
            Self::Closed => "awaitq channel is closed",
            Self::Oversize => "frame longer than the channel's max_frame",
            Self::Unsupported => "the installed awaitq is too old for this (capsule version < 3)",
        })
    }
}

impl std::error::Error for PushError {}

/// A channel's counters.
pub type Stats = ffi::awaitq_stats_t;

/// A producer for a Python `awaitq.Channel`: `Send + Sync + Clone`, pushes from any thread
/// without the GIL, never allocates nor blocks beyond the channel's critical section.
///
/// It keeps the channel's storage alive (it holds a `"awaitq.channel"` capsule, which holds a
/// strong count on it): after the Python `Channel` is closed or dropped, [`push`](Self::push)
/// returns [`PushError::Closed`] and never touches freed memory. Dropping the last clone
/// without the GIL defers the capsule's release to PyO3's reference pool.
///
/// ```no_run
/// use pyo3::prelude::*;
///
/// #[pyfunction]
/// fn start(channel: &Bound<'_, PyAny>) -> PyResult<()> {
///     let producer = awaitq_sdk::Producer::from_object(channel)?; // a Channel or ProducerHandle
///     std::thread::spawn(move || {
///         for k in 0..1000u32 {
///             while let Err(awaitq_sdk::PushError::Full) = producer.push(k, &k.to_le_bytes()) {
///                 std::thread::yield_now();
///             }
///         }
///         producer.close();
///     });
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    api: &'static awaitq_producer_api_t,
    /// The batch and zero-copy functions, when the installed awaitq has them (version 3).
    ext: Option<&'static awaitq_producer_ext_api_t>,
    ch: NonNull<awaitq_channel_t>,
    /// The `"awaitq.channel"` capsule: its context owns a strong count on the storage.
    _keep: Py<PyCapsule>,
}

// SAFETY: the producer functions are documented safe from any thread without the GIL, and
// `ch` stays valid while `_keep` (a `Py`, itself `Send + Sync`) lives; nothing else is shared.
unsafe impl Send for Inner {}
// SAFETY: as above; every method takes `&self` and goes through the thread-safe C functions.
unsafe impl Sync for Inner {}

static TYPES: PyOnceLock<(Py<PyType>, Py<PyType>)> = PyOnceLock::new();

impl Producer {
    /// The producer of an `awaitq.Channel`, an `awaitq.ProducerHandle` or a `"awaitq.channel"`
    /// capsule (`handle.capsule()`). Needs the GIL; imports `awaitq` and checks its capsule's
    /// version on first use (`ImportError` if too old, `TypeError` for another object).
    pub fn from_object(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let table = api::table(py, ffi::PRODUCER_VERSION)?;
        let api = &table.producer;
        let ext = (table.producer.version >= ffi::EXT_VERSION).then_some(&table.ext);
        let (channel_t, handle_t) = TYPES.get_or_try_init(py, || {
            let m = py.import("awaitq")?;
            Ok::<_, PyErr>((
                m.getattr("Channel")?.cast_into::<PyType>()?.unbind(),
                m.getattr("ProducerHandle")?.cast_into::<PyType>()?.unbind(),
            ))
        })?;
        let capsule = if obj.is_instance(channel_t.bind(py))? {
            obj.call_method0("producer")?.call_method0("capsule")?
        } else if obj.is_instance(handle_t.bind(py))? {
            obj.call_method0("capsule")?
        } else {
            obj.clone()
        };
        let capsule = capsule.cast_into::<PyCapsule>().map_err(|_| {
            PyTypeError::new_err(format!(
                "expected an awaitq.Channel, ProducerHandle or channel capsule, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?;
        let ch = capsule
            .pointer_checked(Some(c"awaitq.channel"))?
            .cast::<awaitq_channel_t>();
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                ext,
                ch,
                _keep: capsule.unbind(),
            }),
        })
    }

    /// Queues one frame (`tag`, `payload`). From any thread; never takes the GIL.
    pub fn push(&self, tag: u32, payload: &[u8]) -> Result<(), PushError> {
        let i = &*self.inner;
        // SAFETY: `ch` is live while `_keep` is (see `Inner`); `payload` is `len` readable bytes.
        let st = unsafe { (i.api.push)(i.ch.as_ptr(), tag, payload.as_ptr(), payload.len()) };
        status(st)
    }

    /// Queues `frames` in order, waking the consumer at most once; stops at the first frame
    /// that cannot be queued. Returns how many were queued and, if not all, why the next one
    /// was not. With an awaitq older than capsule version 3 this is a loop over [`push`](Self::push).
    /// From any thread; never takes the GIL.
    pub fn push_many(&self, frames: &[(u32, &[u8])]) -> (usize, Result<(), PushError>) {
        let i = &*self.inner;
        let Some(ext) = i.ext else {
            for (n, (tag, payload)) in frames.iter().enumerate() {
                if let Err(e) = self.push(*tag, payload) {
                    return (n, Err(e));
                }
            }
            return (frames.len(), Ok(()));
        };
        let mut done = 0;
        // Converted in chunks on the stack: no allocation on the producer's path.
        for chunk in frames.chunks(32) {
            let mut c = [awaitq_frame_t {
                tag: 0,
                data: std::ptr::null(),
                len: 0,
            }; 32];
            for (slot, (tag, payload)) in c.iter_mut().zip(chunk) {
                *slot = awaitq_frame_t {
                    tag: *tag,
                    data: payload.as_ptr(),
                    len: payload.len(),
                };
            }
            let mut pushed = 0usize;
            // SAFETY: `ch` is live (see `Inner`); `c[..chunk.len()]` are frames whose `data`
            // points to `len` readable bytes borrowed from `frames`; `pushed` is writable.
            let st =
                unsafe { (ext.push_many)(i.ch.as_ptr(), c.as_ptr(), chunk.len(), &mut pushed) };
            done += pushed;
            if let Err(e) = status(st) {
                return (done, Err(e));
            }
        }
        (done, Ok(()))
    }

    /// Claims a slot for a frame of up to `len` bytes to be written in place (zero-copy: a
    /// DMA completion, a parser writing its output). Write through
    /// [`Reservation::as_mut_slice`], then [`Reservation::commit`]; dropping the reservation
    /// aborts it (the consumer skips the slot). Until it is committed or dropped, the consumer
    /// sees the channel empty at this position: keep it short. `Err(Full | Closed |
    /// Oversize)` as [`push`](Self::push); [`PushError::Unsupported`] with an awaitq older
    /// than capsule version 3. From any thread; never takes the GIL.
    pub fn reserve(&self, len: usize) -> Result<Reservation<'_>, PushError> {
        let i = &*self.inner;
        let ext = i.ext.ok_or(PushError::Unsupported)?;
        let mut st = ffi::AWAITQ_OK;
        // SAFETY: `ch` is live (see `Inner`); `st` is writable.
        let slot = unsafe { (ext.reserve)(i.ch.as_ptr(), len, &mut st) };
        match NonNull::new(slot) {
            Some(slot) => Ok(Reservation {
                producer: self,
                ext,
                slot,
                len,
            }),
            None => Err(status(st).err().unwrap_or(PushError::Closed)),
        }
    }

    /// Closes the channel: the consumer drains what is queued, then sees it closed.
    pub fn close(&self) {
        let i = &*self.inner;
        // SAFETY: `ch` is live (see `Inner`).
        unsafe { (i.api.close)(i.ch.as_ptr()) };
    }

    /// `true` once the channel is closed (by either side, or by dropping the Python object).
    pub fn is_closed(&self) -> bool {
        let i = &*self.inner;
        // SAFETY: `ch` is live (see `Inner`).
        unsafe { (i.api.is_closed)(i.ch.as_ptr()) }
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        let i = &*self.inner;
        // SAFETY: `ch` is live (see `Inner`).
        unsafe { (i.api.len)(i.ch.as_ptr()) }
    }

    /// `true` when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel's counters.
    pub fn stats(&self) -> Stats {
        let i = &*self.inner;
        let mut out = Stats::default();
        // SAFETY: `ch` is live (see `Inner`); `out` is a writable `awaitq_stats_t`.
        unsafe { (i.api.stats)(i.ch.as_ptr(), &mut out) };
        out
    }

    /// The `awaitq_channel_t *` for C code; valid while this producer (or a clone) exists.
    pub fn as_ptr(&self) -> *const awaitq_channel_t {
        self.inner.ch.as_ptr()
    }
}

/// Maps a C status to the push result.
fn status(st: ffi::awaitq_status_t) -> Result<(), PushError> {
    match st {
        ffi::AWAITQ_OK => Ok(()),
        ffi::AWAITQ_FULL => Err(PushError::Full),
        ffi::AWAITQ_OVERSIZE => Err(PushError::Oversize),
        // AWAITQ_INVALID cannot happen (non-null channel and payload); treat as closed.
        _ => Err(PushError::Closed),
    }
}

/// A claimed slot of a channel ([`Producer::reserve`]): write the payload in place, then
/// [`commit`](Self::commit). Dropped without a commit, it aborts: nothing is delivered.
/// `Send`, so a reservation may be committed by another thread than the one that made it.
pub struct Reservation<'a> {
    producer: &'a Producer,
    ext: &'static awaitq_producer_ext_api_t,
    slot: NonNull<u8>,
    len: usize,
}

// SAFETY: the slot belongs to this reservation alone until commit/abort, which the C API
// allows from any thread; the producer it borrows is `Sync`.
unsafe impl Send for Reservation<'_> {}

impl Reservation<'_> {
    /// The `len` bytes reserved, to write the payload into (their initial contents are
    /// unspecified: whatever the slot held).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `awaitq_reserve` returned a pointer valid for `max_frame >= len` bytes that
        // no one else touches until this reservation commits or aborts; `&mut self` makes
        // this borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.slot.as_ptr(), self.len) }
    }

    /// Publishes the first `len` bytes written (at most the reserved length) with `tag`, and
    /// wakes a parked consumer. `Err(Oversize)` if `len` exceeds the reservation (the slot is
    /// then given back, nothing delivered).
    pub fn commit(self, tag: u32, len: usize) -> Result<(), PushError> {
        let this = std::mem::ManuallyDrop::new(self);
        if len > this.len {
            // SAFETY: as in `Drop`: the slot is a pending reservation of this channel.
            unsafe { (this.ext.abort)(this.producer.as_ptr(), this.slot.as_ptr()) };
            return Err(PushError::Oversize);
        }
        // SAFETY: `ch` is live (the producer keeps it); `slot` is this pending reservation,
        // committed exactly once (`ManuallyDrop` skips the abort in `Drop`).
        status(unsafe { (this.ext.commit)(this.producer.as_ptr(), this.slot.as_ptr(), tag, len) })
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        // SAFETY: `ch` is live (the producer keeps it); `slot` is a pending reservation that
        // was neither committed (commit skips this) nor aborted.
        unsafe { (self.ext.abort)(self.producer.as_ptr(), self.slot.as_ptr()) };
    }
}

impl fmt::Debug for Reservation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("len", &self.len)
            .finish()
    }
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("channel", &self.inner.ch)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn producer_is_send_sync_clone() {
        assert_send_sync_clone::<super::Producer>();
    }
}
