//! A third-party extension written against `awaitq-sdk` only: it never links awaitq.
//!
//! - `start(channel, count, size) -> Job`: a Rust thread pushes `count` frames (frame k: tag k,
//!   payload k as u32 LE then `k & 0xFF` bytes), retrying while full, then closes;
//!   `Job.join()` (GIL released) returns the frames pushed.
//! - `plus_one(aw)`: `await plus_one(coro) == (await coro) + 1` ([`NativeAwaitable`]).
//! - `add_later(a, b, delay_ms)`: a Rust `async` block that waits for another thread (its
//!   `Waker` fired without the GIL), then awaits the Python awaitables `a` and `b`, returns
//!   their sum.
//! - `capi_version()`: the installed awaitq's capsule version.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use awaitq_sdk::{future_into_py, py_await, NativeAwaitable, Producer, PushError};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// A producer thread.
#[pyclass(module = "awaitq_sdk_example")]
struct Job {
    thread: Option<JoinHandle<u32>>,
}

#[pymethods]
impl Job {
    /// Waits for the thread (without the GIL); the frames it pushed.
    fn join(&mut self, py: Python<'_>) -> PyResult<u32> {
        let t = self
            .thread
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("joined already"))?;
        py.detach(|| t.join())
            .map_err(|_| PyRuntimeError::new_err("the producer thread panicked"))
    }
}

/// Frames `k`: the sequence number (LE) then `k as u8` repeated, `size` bytes in all.
fn fill(buf: &mut [u8], k: u32) {
    buf[..4].copy_from_slice(&k.to_le_bytes());
    buf[4..].fill(k as u8);
}

/// Starts a thread pushing `count` frames of `size` bytes: one `push` each (`mode="push"`),
/// `push_many` in batches of 8 (`"many"`), or written in place through `reserve`/`commit`
/// (`"reserve"`). It waits while the channel is full and closes it at the end.
#[pyfunction]
#[pyo3(signature = (channel, count, size, mode="push"))]
fn start(channel: &Bound<'_, PyAny>, count: u32, size: usize, mode: &str) -> PyResult<Job> {
    if !(4..=256).contains(&size) {
        return Err(PyValueError::new_err("size outside 4..256"));
    }
    let mode = match mode {
        "push" => 0,
        "many" => 1,
        "reserve" => 2,
        _ => {
            return Err(PyValueError::new_err(
                "mode must be 'push', 'many' or 'reserve'",
            ))
        }
    };
    let producer = Producer::from_object(channel)?;
    let full = || std::thread::sleep(Duration::from_micros(50));
    let thread = std::thread::spawn(move || {
        let mut pushed = 0;
        while pushed < count {
            let r = match mode {
                0 => {
                    let mut buf = [0u8; 256];
                    fill(&mut buf[..size], pushed);
                    producer.push(pushed, &buf[..size]).map(|()| 1)
                }
                1 => {
                    let mut bufs = [[0u8; 256]; 8];
                    let n = (count - pushed).min(8) as usize;
                    for (j, b) in bufs[..n].iter_mut().enumerate() {
                        fill(&mut b[..size], pushed + j as u32);
                    }
                    let frames: Vec<(u32, &[u8])> = (0..n)
                        .map(|j| (pushed + j as u32, &bufs[j][..size]))
                        .collect();
                    match producer.push_many(&frames) {
                        (0, Err(e)) => Err(e),
                        (k, _) => Ok(k as u32),
                    }
                }
                _ => producer.reserve(size).and_then(|mut r| {
                    fill(r.as_mut_slice(), pushed);
                    r.commit(pushed, size).map(|()| 1)
                }),
            };
            match r {
                Ok(k) => pushed += k,
                Err(PushError::Full) => full(),
                Err(_) => return pushed,
            }
        }
        producer.close();
        pushed
    });
    Ok(Job {
        thread: Some(thread),
    })
}

#[pyfunction]
fn plus_one<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let aw = NativeAwaitable::new(awaitable.py())?;
    aw.then(awaitable, |aw, value| aw.set_result(&value.add(1)?))?;
    Ok(aw.into_any())
}

/// A future completed by another thread after `delay` (a tiny timer: no runtime needed).
struct Timer {
    shared: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Timer {
    fn new(delay: Duration) -> Self {
        let shared = Arc::new(Mutex::new((false, None::<Waker>)));
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let waker = {
                let mut g = s.lock().unwrap();
                g.0 = true;
                g.1.take()
            };
            if let Some(w) = waker {
                w.wake(); // from a thread that never holds the GIL
            }
        });
        Self { shared }
    }
}

impl Future for Timer {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.shared.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[pyfunction]
fn add_later<'py>(
    py: Python<'py>,
    a: Py<PyAny>,
    b: Py<PyAny>,
    delay_ms: u64,
) -> PyResult<Bound<'py, PyAny>> {
    future_into_py(py, async move {
        Timer::new(Duration::from_millis(delay_ms)).await;
        let x = py_await(a).await?;
        let y = py_await(b).await?;
        Python::attach(|py| Ok(x.bind(py).add(y.bind(py))?.unbind()))
    })
}

#[pyfunction]
fn capi_version(py: Python<'_>) -> PyResult<u32> {
    awaitq_sdk::capi_version(py)
}

#[pymodule]
fn awaitq_sdk_example(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Job>()?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(plus_one, m)?)?;
    m.add_function(wrap_pyfunction!(add_later, m)?)?;
    m.add_function(wrap_pyfunction!(capi_version, m)?)?;
    Ok(())
}
