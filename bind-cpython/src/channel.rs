//! `awaitq.Channel`: the Python face of one core channel.

use std::sync::Arc;

use awaitq_core::{Config, Overflow, RecvError, DEFAULT_CAPACITY, DEFAULT_MAX_FRAME};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use pyo3::Py;

use crate::args;
use crate::awaitable::cache::AwCache;
use crate::awaitable::Kind;
use crate::buffer;
use crate::errors::Failure;
use crate::gil::GilCell;
use crate::producer::ProducerHandle;
use crate::shared::Shared;

/// A bounded channel of tagged byte frames: native producers push, asyncio awaits.
///
/// Dropping the channel closes it: producers still holding it get "closed".
#[pyclass(frozen, module = "awaitq")]
pub struct Channel {
    shared: Arc<Shared>,
    /// Where `try_recv` lands a frame before it becomes `bytes` (`max_frame` long).
    scratch: GilCell<Box<[u8]>>,
}

impl Channel {
    /// The shared state, for producer handles (`ch.producer()`, `spawn_producer`).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn awaitable(&self, py: Python<'_>, kind: Kind, arg: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        AwCache::get(py, &self.shared, kind, arg)
    }

    /// The next frame, given to `f` (which must not run Python code: it may allocate the
    /// result object, nothing more).
    fn try_take<R>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(u32, &[u8]) -> R,
    ) -> Result<Option<R>, Failure> {
        self.scratch
            .with(py, |buf| match self.shared.ch.try_recv_into(buf) {
                Ok(frame) => Ok(Some(f(frame.tag, &buf[..frame.len]))),
                Err(RecvError::Empty) => Ok(None),
                Err(e) => Err(e.into()),
            })
    }
}

#[pymethods]
impl Channel {
    // `None` stands for the core's defaults, which the text signature shows.
    #[new]
    #[pyo3(
        signature = (capacity=None, max_frame=None, overflow=None),
        text_signature = "(capacity=256, max_frame=64, overflow='reject')"
    )]
    fn new(
        capacity: Option<&Bound<'_, PyAny>>,
        max_frame: Option<&Bound<'_, PyAny>>,
        overflow: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let capacity = capacity.map_or(Ok(DEFAULT_CAPACITY), |c| args::size(c, "capacity"))?;
        let max_frame = max_frame.map_or(Ok(DEFAULT_MAX_FRAME), |m| args::size(m, "max_frame"))?;
        let overflow = match overflow {
            None => Overflow::default(),
            Some(o) => {
                let name = o
                    .cast::<PyString>()
                    .map_err(|_| Failure::Type("overflow", "a str"))?;
                Overflow::from_name(name.to_str()?).map_err(Failure::from)?
            }
        };
        let shared = Shared::new(Config::new(capacity, max_frame, overflow))?;
        Ok(Self {
            scratch: GilCell::new(vec![0; shared.config.max_frame].into_boxed_slice()),
            shared,
        })
    }

    /// `await ch.recv()` -> the next payload (`bytes`).
    fn recv(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.awaitable(py, Kind::Recv, None)
    }

    /// `await ch.recv_tagged()` -> `(tag, payload)`.
    fn recv_tagged(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.awaitable(py, Kind::Tagged, None)
    }

    /// `await ch.recv_into(buf)` -> the payload length; the payload is copied into `buf`.
    fn recv_into(&self, py: Python<'_>, buf: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        buffer::with_writable(buf, "buf", |_| ())?;
        self.awaitable(py, Kind::Into, Some(buf.clone().unbind()))
    }

    /// `await ch.recv_many(n)` -> 1..=n payloads (waits for the first).
    fn recv_many(&self, py: Python<'_>, n: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let n = args::size(n, "n")?;
        if n < 1 {
            return Err(Failure::BatchTooSmall.into());
        }
        self.awaitable(py, Kind::Many(n), None)
    }

    /// `await ch.recv_many_into(buf, max=None)` -> how many frames (1..=max) were packed into
    /// `buf` as records (waits for the first); walk them with `awaitq.frames(buf, n)`.
    #[pyo3(signature = (buf, max=None), text_signature = "($self, buf, max=None)")]
    fn recv_many_into(
        &self,
        py: Python<'_>,
        buf: &Bound<'_, PyAny>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        buffer::with_writable(buf, "buf", |_| ())?;
        let max = match max.filter(|m| !m.is_none()) {
            None => usize::MAX,
            Some(m) => args::size(m, "max")?,
        };
        if max < 1 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "max must be at least 1",
            ));
        }
        self.awaitable(py, Kind::ManyInto(max), Some(buf.clone().unbind()))
    }

    /// `await ch.send(data, tag=0)`: queues a copy of `data`, waiting for room under "reject".
    #[pyo3(signature = (data, tag=None), text_signature = "($self, data, tag=0)")]
    fn send(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        tag: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let tag = tag.map_or(Ok(0), args::tag)?;
        let data = buffer::with_bytes(data, "data", <[u8]>::to_vec)?;
        self.awaitable(py, Kind::Send { tag, data }, None)
    }

    /// Queues a frame now, or raises `ChannelFull` / `ChannelClosed` / `ValueError`.
    #[pyo3(signature = (data, tag=None), text_signature = "($self, data, tag=0)")]
    fn send_nowait(&self, data: &Bound<'_, PyAny>, tag: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let tag = tag.map_or(Ok(0), args::tag)?;
        buffer::with_bytes(data, "data", |d| self.shared.ch.push(tag, d))?
            .map_err(Failure::from)?;
        Ok(())
    }

    /// The next payload, or `None` when empty; raises `ChannelClosed` once closed and drained.
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        Ok(self.try_take(py, |_, p| PyBytes::new(py, p).unbind())?)
    }

    /// Closes the channel: producers get "closed"; receivers drain, then get `ChannelClosed`.
    fn close(&self) {
        self.shared.ch.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.shared.ch.is_closed()
    }

    #[getter]
    fn capacity(&self) -> usize {
        self.shared.config.capacity
    }

    #[getter]
    fn max_frame(&self) -> usize {
        self.shared.config.max_frame
    }

    #[getter]
    fn overflow(&self) -> &'static str {
        self.shared.config.overflow.name()
    }

    fn __len__(&self) -> usize {
        self.shared.ch.len()
    }

    /// The counters: sent, received, dropped, overwritten, rejected, high_water.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.shared.ch.stats().fields() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// A handle for native producers; keeps the channel's storage alive while it exists.
    fn producer(&self) -> ProducerHandle {
        ProducerHandle::new(Arc::clone(&self.shared))
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.awaitable(py, Kind::Next, None)
    }

    fn __repr__(&self) -> String {
        let c = &self.shared.config;
        format!(
            "<awaitq.Channel capacity={} max_frame={} overflow='{}' len={}{}>",
            c.capacity,
            c.max_frame,
            c.overflow.name(),
            self.shared.ch.len(),
            if self.shared.ch.is_closed() {
                " closed"
            } else {
                ""
            }
        )
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // Producers that outlive us see "closed"; parked waiters wake and drain.
        self.shared.ch.close();
        Python::attach(|py| self.shared.cache.close(py));
        let stale = self.shared.consumer().clear();
        drop(stale);
    }
}
