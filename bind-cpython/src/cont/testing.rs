//! `awaitq.testing.cont`: the Rust API of native awaitables, reachable from Python for tests
//! and benchmarks. The first group mirrors [`NativeAwaitable`]'s methods 1:1 with Python
//! callables as callbacks (so tests put errors, cancels and awaits in every position); the
//! rest are Rust-only building blocks: a chain of awaits, Rust futures of each shape, and a
//! native-thread signal that wakes a future from another thread.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::Py;

use super::api::NativeAwaitable;
use super::entry::{ErrorFn, ResultFn};
use super::future::future_into_py;
use super::pyawait::py_await;

fn aw<'py>(obj: &Bound<'py, PyAny>) -> PyResult<NativeAwaitable<'py>> {
    NativeAwaitable::from_object(obj)
}

/// A result callback calling `f(aw, value)`.
fn result_fn(f: Option<Py<PyAny>>) -> Option<ResultFn> {
    f.map(|f| -> ResultFn {
        Box::new(move |aw, v| {
            f.bind(aw.py()).call1((aw.as_any(), v))?;
            Ok(())
        })
    })
}

/// An error callback calling `f(aw, exc)`: returning handles it, raising does not.
fn error_fn(f: Option<Py<PyAny>>) -> Option<ErrorFn> {
    f.map(|f| -> ErrorFn {
        Box::new(move |aw, e| {
            let py = aw.py();
            f.bind(py).call1((aw.as_any(), e.into_value(py)))?;
            Ok(())
        })
    })
}

#[pyfunction]
fn new(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    Ok(NativeAwaitable::new(py)?.into_any())
}

#[pyfunction]
#[pyo3(signature = (aw, awaitable, on_result=None, on_error=None))]
fn add_await(
    aw: &Bound<'_, PyAny>,
    awaitable: &Bound<'_, PyAny>,
    on_result: Option<Py<PyAny>>,
    on_error: Option<Py<PyAny>>,
) -> PyResult<()> {
    self::aw(aw)?.add_await(awaitable, result_fn(on_result), error_fn(on_error))
}

#[pyfunction]
fn defer(aw: &Bound<'_, PyAny>, decide: Py<PyAny>) -> PyResult<()> {
    self::aw(aw)?.defer(move |aw| {
        decide.bind(aw.py()).call1((aw.as_any(),))?;
        Ok(())
    })
}

#[pyfunction]
#[pyo3(signature = (aw, cm, body, on_error=None))]
fn async_with(
    aw: &Bound<'_, PyAny>,
    cm: &Bound<'_, PyAny>,
    body: Py<PyAny>,
    on_error: Option<Py<PyAny>>,
) -> PyResult<()> {
    let body = result_fn(Some(body)).expect("some");
    self::aw(aw)?.async_with(cm, body, error_fn(on_error))
}

#[pyfunction]
fn set_result(aw: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    self::aw(aw)?.set_result(value)
}

#[pyfunction]
fn save(aw: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    self::aw(aw)?.save(value)
}

#[pyfunction]
fn value<'py>(aw: &Bound<'py, PyAny>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    self::aw(aw)?.value(index)
}

#[pyfunction]
fn set_value(aw: &Bound<'_, PyAny>, index: usize, value: &Bound<'_, PyAny>) -> PyResult<()> {
    self::aw(aw)?.set_value(index, value)
}

#[pyfunction]
fn cancel(aw: &Bound<'_, PyAny>) -> PyResult<()> {
    self::aw(aw)?.cancel()
}

/// Awaits each awaitable in turn (each result callback queues the next); returns the list of
/// their values. Pure Rust callbacks: the chain benchmark and the 100 000-step test.
#[pyfunction]
fn chain<'py>(py: Python<'py>, awaitables: Vec<Py<PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    fn step(aw: &NativeAwaitable<'_>, mut rest: VecDeque<Py<PyAny>>) -> PyResult<()> {
        match rest.pop_front() {
            None => aw.set_result(&aw.value(0)?),
            Some(next) => aw.then(next.bind(aw.py()), move |aw, v| {
                aw.value(0)?.cast::<PyList>()?.append(v)?;
                step(aw, rest)
            }),
        }
    }
    let aw = NativeAwaitable::new(py)?;
    aw.save(&PyList::empty(py))?;
    step(&aw, awaitables.into())?;
    Ok(aw.into_any())
}

/// Awaits `awaitable` and returns its value, with a result callback written in Rust (the
/// Rust-API counterpart of the C benchmark's one-await function).
#[pyfunction]
fn await_one<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let aw = NativeAwaitable::new(awaitable.py())?;
    aw.then(awaitable, |aw, v| aw.set_result(&v))?;
    Ok(aw.into_any())
}

/// A result callback that panics.
#[pyfunction]
fn panic_in_callback<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let aw = NativeAwaitable::new(awaitable.py())?;
    aw.then(awaitable, |_, _| panic!("callback bug"))?;
    Ok(aw.into_any())
}

/// Test futures alive now (each holds a [`Live`]): proves a cancelled future was dropped.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Live;
impl Live {
    fn new() -> Self {
        LIVE.fetch_add(1, SeqCst);
        Self
    }
}
impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, SeqCst);
    }
}

#[pyfunction]
fn live_futures() -> isize {
    LIVE.load(SeqCst)
}

/// `async fn ready(v) { v }`: a Rust future that completes at once.
#[pyfunction]
fn ready(py: Python<'_>, value: Py<PyAny>) -> PyResult<Bound<'_, PyAny>> {
    future_into_py(py, async move { Ok(value) })
}

/// Awaits each awaitable with `py_await` (an error propagates with `?`); returns the list.
#[pyfunction]
fn await_each(py: Python<'_>, awaitables: Vec<Py<PyAny>>) -> PyResult<Bound<'_, PyAny>> {
    let live = Live::new();
    future_into_py(py, async move {
        let _live = live;
        let mut out = Vec::with_capacity(awaitables.len());
        for a in awaitables {
            out.push(py_await(a).await?);
        }
        Python::attach(|py| Ok(PyList::new(py, out)?.into_any().unbind()))
    })
}

/// Awaits `awaitable`; returns `("ok", value)` or `("error", exc)`: the future itself sees
/// the exception (a cancellation included) and finishes normally.
#[pyfunction]
fn await_catching(py: Python<'_>, awaitable: Py<PyAny>) -> PyResult<Bound<'_, PyAny>> {
    let live = Live::new();
    future_into_py(py, async move {
        let _live = live;
        let r = py_await(awaitable).await;
        Python::attach(|py| {
            let t = match r {
                Ok(v) => PyTuple::new(
                    py,
                    [
                        pyo3::types::PyString::new(py, "ok").into_any(),
                        v.into_bound(py),
                    ],
                )?,
                Err(e) => PyTuple::new(
                    py,
                    [
                        pyo3::types::PyString::new(py, "error").into_any(),
                        e.into_value(py).into_bound(py).into_any(),
                    ],
                )?,
            };
            Ok(t.into_any().unbind())
        })
    })
}

/// Awaits `awaitable`, then panics.
#[pyfunction]
fn panic_after(py: Python<'_>, awaitable: Py<PyAny>) -> PyResult<Bound<'_, PyAny>> {
    future_into_py(py, async move {
        py_await(awaitable).await?;
        panic!("future bug")
    })
}

/// Two `py_await`s polled in the same poll (a `join!`): the second is refused.
#[pyfunction]
fn join_two(py: Python<'_>, a: Py<PyAny>, b: Py<PyAny>) -> PyResult<Bound<'_, PyAny>> {
    future_into_py(py, async move {
        let mut fa = std::pin::pin!(py_await(a));
        let mut fb = std::pin::pin!(py_await(b));
        let (ra, rb) = std::future::poll_fn(|cx| {
            let pa = fa.as_mut().poll(cx);
            let pb = fb.as_mut().poll(cx);
            match (pa, pb) {
                (Poll::Ready(a), Poll::Ready(b)) => Poll::Ready((Some(a), Some(b))),
                (Poll::Pending, Poll::Ready(b)) => Poll::Ready((None, Some(b))),
                _ => Poll::Pending,
            }
        })
        .await;
        drop(ra);
        rb.expect("b is ready")
    })
}

/// Polls a `py_await` the way another executor would (no awaitq host): its error text.
#[pyfunction]
fn poll_outside(awaitable: Py<PyAny>) -> String {
    let mut f = std::pin::pin!(py_await(awaitable));
    let mut cx = std::task::Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(Err(e)) => e.to_string(),
        _ => "no error".into(),
    }
}

/// A future that wakes itself `n` times during its polls before returning `n`: each wake
/// comes during a poll, so the awaitable polls again without yielding.
#[pyfunction]
fn yield_now(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyAny>> {
    future_into_py(py, async move {
        for _ in 0..n {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
        }
        Python::attach(|py| Ok(n.into_pyobject(py)?.into_any().unbind()))
    })
}

#[derive(Default)]
struct SignalState {
    /// Sets not yet consumed by a wait: two sets before the waiter runs are two wake-ups (a
    /// flag would merge them, and a waiter counting its wake-ups would wait forever).
    pending: usize,
    waker: Option<Waker>,
}

/// A counting signal a native thread (or Python) sets; Rust futures wait on it with their
/// `Waker`, each wait consuming one set.
#[pyclass(frozen, module = "awaitq.testing.cont")]
struct Signal(Arc<Mutex<SignalState>>);

fn fire(s: &Mutex<SignalState>) {
    let waker = {
        let mut st = s.lock().unwrap_or_else(|e| e.into_inner());
        st.pending += 1;
        st.waker.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
}

#[pymethods]
impl Signal {
    #[new]
    fn new() -> Self {
        Self(Arc::default())
    }

    /// Sets it from this thread.
    fn set(&self) {
        fire(&self.0);
    }

    /// Sets it from a new native thread after `delay` seconds (the GIL is never taken there).
    fn set_later(&self, delay: f64) {
        let s = Arc::clone(&self.0);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(delay));
            fire(&s);
        });
    }
}

/// Waits for `signal`, `times` times in a row (re-armed in between), then returns `value`.
#[pyfunction]
#[pyo3(signature = (signal, value, times=1))]
fn wait_signal<'py>(
    py: Python<'py>,
    signal: &Bound<'_, Signal>,
    value: Py<PyAny>,
    times: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let s = Arc::clone(&signal.get().0);
    let live = Live::new();
    future_into_py(py, async move {
        let _live = live;
        for _ in 0..times {
            std::future::poll_fn(|cx| {
                let mut st = s.lock().unwrap_or_else(|e| e.into_inner());
                if st.pending > 0 {
                    st.pending -= 1;
                    Poll::Ready(())
                } else {
                    st.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await;
        }
        Ok(value)
    })
}

/// Registers `awaitq.testing.cont` (added to the extension module as `_cont_testing`).
pub(crate) fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "awaitq.testing.cont")?;
    m.add_function(wrap_pyfunction!(new, &m)?)?;
    m.add_function(wrap_pyfunction!(add_await, &m)?)?;
    m.add_function(wrap_pyfunction!(defer, &m)?)?;
    m.add_function(wrap_pyfunction!(async_with, &m)?)?;
    m.add_function(wrap_pyfunction!(set_result, &m)?)?;
    m.add_function(wrap_pyfunction!(save, &m)?)?;
    m.add_function(wrap_pyfunction!(value, &m)?)?;
    m.add_function(wrap_pyfunction!(set_value, &m)?)?;
    m.add_function(wrap_pyfunction!(cancel, &m)?)?;
    m.add_function(wrap_pyfunction!(chain, &m)?)?;
    m.add_function(wrap_pyfunction!(await_one, &m)?)?;
    m.add_function(wrap_pyfunction!(panic_in_callback, &m)?)?;
    m.add_function(wrap_pyfunction!(live_futures, &m)?)?;
    m.add_function(wrap_pyfunction!(ready, &m)?)?;
    m.add_function(wrap_pyfunction!(await_each, &m)?)?;
    m.add_function(wrap_pyfunction!(await_catching, &m)?)?;
    m.add_function(wrap_pyfunction!(panic_after, &m)?)?;
    m.add_function(wrap_pyfunction!(join_two, &m)?)?;
    m.add_function(wrap_pyfunction!(poll_outside, &m)?)?;
    m.add_function(wrap_pyfunction!(yield_now, &m)?)?;
    m.add_function(wrap_pyfunction!(wait_signal, &m)?)?;
    m.add_class::<Signal>()?;
    m.add("NativeAwaitable", NativeAwaitable::type_object(py)?)?;
    Ok(m)
}
