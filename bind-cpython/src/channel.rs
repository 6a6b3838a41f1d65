//! `awaitq.Channel`: the Python face of one core channel.

use std::sync::Arc;

use awaitq_core::{Config, Overflow, RecvError, DEFAULT_CAPACITY, DEFAULT_MAX_FRAME};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::{ffi, Py};

use crate::args;
use crate::awaitable::cache::AwCache;
use crate::awaitable::{new_bytes, Kind};
use crate::buffer;
use crate::errors::Failure;
use crate::producer::ProducerHandle;
use crate::shared::Shared;

/// A bounded channel of tagged byte frames: native producers push, asyncio awaits.
///
/// Dropping the channel closes it: producers still holding it get "closed".
#[pyclass(frozen, module = "awaitq")]
pub struct Channel {
    shared: Arc<Shared>,
}

impl Channel {
    /// The shared state, for producer handles (`ch.producer()`, `spawn_producer`).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    fn awaitable(&self, py: Python<'_>, kind: Kind, arg: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        AwCache::get(py, &self.shared, kind, arg)
    }
}

#[pymethods]
impl Channel {
    // Left out, a size takes the core's default (the text signature shows it); `None` is
    // refused like any non-int, as on MicroPython.
    #[new]
    #[pyo3(
        signature = (capacity=args::Given(None), max_frame=args::Given(None), overflow=None),
        text_signature = "(capacity=256, max_frame=64, overflow='reject')"
    )]
    fn new(
        capacity: args::Given<'_>,
        max_frame: args::Given<'_>,
        overflow: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let capacity = args::size_or(capacity, "capacity", DEFAULT_CAPACITY)?;
        let max_frame = args::size_or(max_frame, "max_frame", DEFAULT_MAX_FRAME)?;
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
        Ok(Self { shared })
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

    /// `await ch.recv_many_into(buf, max=None)` -> how many frames (1..=max, at most 256 a
    /// call) were packed into `buf` as records (waits for the first); walk them with
    /// `awaitq.frames(buf, n)`.
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
    /// A frame whose `bytes` cannot be made (`MemoryError`) stays queued (staged).
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let ch = &self.shared.ch;
        self.shared.staged.with(py, |st| {
            if st.is_empty() {
                match ch.try_recv_into(st.landing()) {
                    Ok(frame) => st.landed(frame.tag, frame.len),
                    Err(RecvError::Empty) => return Ok(None),
                    // Closed by a native reader's error: that error, after the queued frames.
                    Err(e) => return Err(self.shared.recv_failure(e).into()),
                }
            }
            let (_, payload) = st.iter().next().expect("staged");
            let value = new_bytes(py, payload)?;
            st.consume(1);
            Ok(Some(value.unbind()))
        })
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

    fn __len__(&self, py: Python<'_>) -> usize {
        self.shared.ch.len() + self.shared.staged.with(py, |st| st.frames())
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

/// `Channel.recv`, the hottest call of the binding (`await ch.recv()` on a queued frame), is a
/// plain `METH_NOARGS` C method installed on the class by [`install_recv`] rather than a
/// `#[pymethods]` entry: PyO3's method trampoline (its attach guard, thread-local counters and
/// argument extraction) cost as much as the rest of a ready receive's binding work.
unsafe extern "C" fn recv_noargs(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: a method descriptor of the Channel type calls us attached, with `slf` a live
    // instance of that type (the descriptor checks it; Channel cannot be subclassed).
    unsafe {
        crate::awaitable::trampoline(std::ptr::null_mut(), |py| {
            let ch = Bound::ref_from_ptr(py, &slf).cast_unchecked::<Channel>();
            Ok(ch.get().awaitable(py, Kind::Recv, None)?.into_ptr())
        })
    }
}

/// Adds `recv` to the `Channel` class (module initialisation).
pub(crate) fn install_recv(py: Python<'_>) -> PyResult<()> {
    // The type keeps a pointer to its method definition: it must live as long as the process.
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"recv".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: recv_noargs,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"recv($self, /)\n--\n\n`await ch.recv()` -> the next payload (`bytes`).".as_ptr(),
    }));
    let tp = py.get_type::<Channel>();
    // SAFETY: attached; a valid, 'static method definition for our own type object.
    let descr = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyDescr_NewMethod(tp.as_ptr().cast::<ffi::PyTypeObject>(), def),
        )
    }?;
    tp.setattr("recv", descr)
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
