//! `py_await(obj).await` inside a Rust future that [`future_into_py`](super::future_into_py)
//! runs: the sub-future puts `obj` in the request slot of the future being polled (found
//! through a thread-local set for the length of the poll, so [`PyAwait`] stays `Send`), and
//! returns the outcome the host leaves in the reply slot.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};

use awaitq_core::ContError;
use pyo3::prelude::*;
use pyo3::{ffi, Py};

use super::errors::cont_err;
use super::future::FutureState;
use super::obj::{Exc, Obj};

/// What a future's `py_await`s and its host share.
#[derive(Default)]
pub(crate) struct Slots {
    /// The awaitable asked for in this poll, with its request id.
    pub(crate) request: Option<(u64, Obj)>,
    /// The outcome of the awaitable requested with that id.
    pub(crate) reply: Option<(u64, Result<Obj, Exc>)>,
}

impl Slots {
    pub(crate) fn visit(&self, add: &mut dyn FnMut(*mut ffi::PyObject)) {
        if let Some((_, o)) = &self.request {
            add(o.as_ptr());
        }
        if let Some((_, Ok(o))) = &self.reply {
            add(o.as_ptr());
        }
    }
}

thread_local! {
    /// The future state being polled on this thread (null outside a poll).
    static CURRENT: Cell<*const FutureState> = const { Cell::new(ptr::null()) };
}

/// Marks `st` as the future being polled; restores the previous one (a poll may drive another
/// awaitable's poll) when dropped.
pub(crate) struct Current(*const FutureState);

impl Current {
    pub(crate) fn enter(st: &FutureState) -> Self {
        Self(CURRENT.with(|c| c.replace(st)))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The future of [`py_await`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct PyAwait {
    obj: Option<Py<PyAny>>,
    /// The request id once asked (0 before).
    id: u64,
}

/// Awaits a Python awaitable (a coroutine, an asyncio future, anything with `__await__` or
/// the iterator protocol) from a Rust future run by
/// [`future_into_py`](super::future_into_py): what it yields goes to the event loop, its value
/// or exception comes back here (`Err(CancelledError)` when the task is cancelled meanwhile,
/// after the coroutine's `except`/`finally` ran).
///
/// One at a time: a second `py_await` polled while one is asked for (`join!` of two) is
/// `Err(RuntimeError)`. Polled by another executor: `Err(RuntimeError)`.
pub fn py_await(obj: impl Into<Py<PyAny>>) -> PyAwait {
    PyAwait {
        obj: Some(obj.into()),
        id: 0,
    }
}

impl Future for PyAwait {
    type Output = PyResult<Py<PyAny>>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let st = CURRENT.with(Cell::get);
        if st.is_null() {
            return Poll::Ready(Err(cont_err(ContError::NotInFuture)));
        }
        // SAFETY: CURRENT is non-null only inside `future::poll`, pointing into the awaitable
        // object being polled, which the polling slot keeps alive; that poll runs attached
        // (counted), on this thread.
        let (st, py) = unsafe { (&*st, Python::assume_attached()) };
        let mut slots = st.slots.borrow_mut();
        if self.id != 0 {
            if slots.reply.as_ref().is_some_and(|(id, _)| *id == self.id) {
                let (_, outcome) = slots.reply.take().expect("checked");
                drop(slots);
                self.id = 0;
                return Poll::Ready(match outcome {
                    Ok(v) => Ok(v.into_py(py)),
                    Err(e) => Err(e.into_pyerr(py)),
                });
            }
            return Poll::Pending;
        }
        if slots.request.is_some() {
            return Poll::Ready(Err(cont_err(ContError::OneAwaitAtATime)));
        }
        let Some(obj) = self.obj.take() else {
            return Poll::Ready(Err(cont_err(ContError::Exhausted)));
        };
        let id = NEXT_ID.fetch_add(1, Relaxed);
        slots.request = Some((id, Obj::from_py(obj)));
        self.id = id;
        Poll::Pending
    }
}
