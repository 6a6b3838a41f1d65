//! A Rust `async` block as a Python awaitable, from another extension module, with no
//! executor: [`future_into_py`] and [`py_await`].
//!
//! Built only from the capsule's public functions: the future lives in a saved value of a
//! [`NativeAwaitable`] and is polled by its callbacks, attached, on the thread that awaits it.
//! When it is pending on Rust, the awaitable awaits `recv()` of a private one-slot
//! `awaitq.Channel`, and the future's `Waker` pushes into that channel through a
//! [`Producer`]: waking takes no GIL, works from any thread, and a waiting future costs no CPU
//! (the channel's wake path: the event loop's eventfd).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};

use crate::aw::NativeAwaitable;
use crate::producer::Producer;

type BoxFuture = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send + 'static>>;

const NAME: &std::ffi::CStr = c"awaitq_sdk.future";

/// What a [`py_await`] asks of the host, and the answer.
#[derive(Default)]
struct Slots {
    request: Option<Py<PyAny>>,
    reply: Option<PyResult<Py<PyAny>>>,
}

struct State {
    fut: Option<BoxFuture>,
    /// The private channel and its waker, made on the first park.
    wake: Option<(Py<PyAny>, Waker)>,
    slots: RefCell<Slots>,
}

thread_local! {
    /// The slots of the future being polled on this thread (null outside a poll).
    static CURRENT: Cell<*const RefCell<Slots>> = const { Cell::new(std::ptr::null()) };
}

struct ChannelWaker(Producer);

impl Wake for ChannelWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // Full: a wake is already pending. Closed: the awaitable is gone. Both are fine.
        let _ = self.0.push(0, &[]);
    }
}

/// `fut` as a Python awaitable (an `awaitq.NativeAwaitable`): `await` returns its `Ok` value
/// or raises its `Err`. Polled attached, on the awaiting thread; its `Waker` may be called
/// from any thread without the GIL. Dropped, attached, when it finishes or when the awaitable
/// is discarded (a cancelled task).
///
/// ```no_run
/// use pyo3::prelude::*;
///
/// #[pyfunction]
/// fn fetch<'py>(py: Python<'py>, coro: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
///     awaitq_sdk::future_into_py(py, async move {
///         let v = awaitq_sdk::py_await(coro).await?;   // awaits a Python awaitable
///         Python::attach(|py| Ok((v, "done").into_pyobject(py)?.into_any().unbind()))
///     })
/// }
/// ```
pub fn future_into_py<F>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<Py<PyAny>>> + Send + 'static,
{
    let aw = NativeAwaitable::new(py)?;
    let state = RefCell::new(State {
        fut: Some(Box::pin(fut)),
        wake: None,
        slots: RefCell::new(Slots::default()),
    });
    aw.save(PyCapsule::new_with_value(py, state, NAME)?.as_any())?;
    aw.defer(step)?;
    Ok(aw.into_any())
}

/// Awaits a Python awaitable from inside a future given to [`future_into_py`] (a
/// `RuntimeError` elsewhere). A `task.cancel()` meanwhile is thrown into `awaitable` first,
/// then comes out of this `await` as `Err(CancelledError)`.
pub fn py_await(awaitable: Py<PyAny>) -> PyAwait {
    PyAwait {
        awaitable: Some(awaitable),
    }
}

/// The future of [`py_await`].
pub struct PyAwait {
    awaitable: Option<Py<PyAny>>,
}

impl Future for PyAwait {
    type Output = PyResult<Py<PyAny>>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let slots = CURRENT.with(Cell::get);
        if slots.is_null() {
            return Poll::Ready(Err(PyRuntimeError::new_err(
                "awaitq_sdk::py_await outside a future given to future_into_py",
            )));
        }
        // SAFETY: CURRENT points to the slots of the state being polled on this thread; they
        // outlive the poll (the capsule holding them is kept by the awaitable being run).
        let slots = unsafe { &*slots };
        let mut s = slots.borrow_mut();
        if let Some(a) = self.awaitable.take() {
            s.request = Some(a);
            return Poll::Pending;
        }
        match s.reply.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

fn state<'a>(aw: &NativeAwaitable<'_>) -> PyResult<&'a RefCell<State>> {
    let cap = aw.value(0)?.cast_into::<PyCapsule>()?;
    let p = cap.pointer_checked(Some(NAME))?;
    // SAFETY: value 0 of an awaitable made by `future_into_py` is this capsule of a
    // `RefCell<State>` (the name is checked); the awaitable keeps it alive while its callbacks
    // run, and only this module's callbacks, attached, use it.
    Ok(unsafe { &*p.as_ptr().cast::<RefCell<State>>() })
}

struct Polling(*const RefCell<Slots>);

impl Polling {
    fn enter(slots: &RefCell<Slots>) -> Self {
        Self(CURRENT.with(|c| c.replace(slots)))
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Polls the future once and queues what it waits for.
fn step(aw: &NativeAwaitable<'_>) -> PyResult<()> {
    let py = aw.py();
    let st = state(aw)?;
    let Some(mut fut) = st.borrow_mut().fut.take() else {
        return Ok(()); // finished or dropped already
    };
    // A wake that came before this poll is in the channel: consume it (this poll sees its
    // cause); one that comes during or after the poll stays there and resumes the await.
    if let Some((ch, _)) = &st.borrow().wake {
        ch.bind(py).call_method0("try_recv")?;
    }
    let waker = {
        let mut s = st.borrow_mut();
        if s.wake.is_none() {
            let ch = py.import("awaitq")?.getattr("Channel")?.call1((1, 1))?;
            let waker = Waker::from(Arc::new(ChannelWaker(Producer::from_object(&ch)?)));
            s.wake = Some((ch.unbind(), waker));
        }
        s.wake.as_ref().map(|(_, w)| w.clone()).expect("set above")
    };
    let polled = {
        let _g = Polling::enter(&st.borrow().slots);
        fut.as_mut().poll(&mut Context::from_waker(&waker))
    };
    match polled {
        Poll::Ready(r) => {
            drop(fut);
            aw.set_result(r?.bind(py))
        }
        Poll::Pending => {
            let request = st.borrow().slots.borrow_mut().request.take();
            st.borrow_mut().fut = Some(fut);
            match request {
                Some(a) => aw.add_await(
                    a.bind(py),
                    |aw, v| {
                        state(aw)?.borrow().slots.borrow_mut().reply = Some(Ok(v.clone().unbind()));
                        step(aw)
                    },
                    |aw, exc| {
                        let e = PyErr::from_value(exc.clone());
                        state(aw)?.borrow().slots.borrow_mut().reply = Some(Err(e));
                        step(aw)
                    },
                ),
                None => {
                    let recv = {
                        let s = st.borrow();
                        let (ch, _) = s.wake.as_ref().expect("made before the poll");
                        ch.bind(py).call_method0("recv")?
                    };
                    aw.add_await(
                        &recv,
                        |aw, _| step(aw),
                        |aw, exc| {
                            // Cancelled while waiting on Rust: drop the future now, re-raise.
                            drop(state(aw)?.borrow_mut().fut.take());
                            Err(PyErr::from_value(exc.clone()))
                        },
                    )
                }
            }
        }
    }
}
