//! [`Producer`]: push into a Python `awaitq.Channel` from any thread, without the GIL.

use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyCapsuleMethods, PyType};

use crate::api;
use crate::ffi::{self, awaitq_channel_t, awaitq_producer_api_t};

/// Why a push did not queue its frame (the frame is not kept: push it again to retry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The channel is full and its overflow policy is `"reject"` (counted as dropped).
    Full,
    /// The channel is closed, or its Python `Channel` is gone.
    Closed,
    /// The payload is longer than the channel's `max_frame` (counted as rejected).
    Oversize,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "awaitq channel is full",
            Self::Closed => "awaitq channel is closed",
            Self::Oversize => "frame longer than the channel's max_frame",
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
        let api = &api::table(py, ffi::PRODUCER_VERSION)?.producer;
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
        match st {
            ffi::AWAITQ_OK => Ok(()),
            ffi::AWAITQ_FULL => Err(PushError::Full),
            ffi::AWAITQ_OVERSIZE => Err(PushError::Oversize),
            // AWAITQ_INVALID cannot happen (non-null channel and payload); treat as closed.
            _ => Err(PushError::Closed),
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
