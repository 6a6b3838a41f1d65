//! `awaitq.testing`: native producer threads for tests, demos and benchmarks. None of them
//! ever takes the GIL; they push through the same [`Producer`] Rust code would use.

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use awaitq_core::PushError;
use pyo3::prelude::*;

use crate::args;
use crate::errors::Failure;
use crate::producer::Producer;

/// How long a producer backs off when the channel is full (`reject` policy) before retrying.
const FULL_BACKOFF: Duration = Duration::from_micros(20);

/// Pushes `payload` until it is queued. `false` if the channel is closed.
fn push_retrying(p: &Producer, tag: u32, payload: &[u8]) -> bool {
    loop {
        match p.push(tag, payload) {
            Ok(()) => return true,
            Err(PushError::Full) => std::thread::sleep(FULL_BACKOFF),
            Err(_) => return false,
        }
    }
}

/// Frame `k`: tag `k`, payload `k` as u32 little-endian, then `k & 0xFF` repeated. With
/// `stamp`, bytes 4..12 are the push time instead (CLOCK_MONOTONIC ns, Python's
/// `time.monotonic_ns()` clock), for latency measurements.
fn fill_frame(buf: &mut [u8], k: u64, stamp: bool) {
    buf[..4].copy_from_slice(&(k as u32).to_le_bytes());
    buf[4..].fill(k as u8);
    if stamp {
        buf[4..12].copy_from_slice(&monotonic_ns().to_le_bytes());
    }
}

#[cfg(unix)]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Windows: QueryPerformanceCounter, the clock of Python's `time.perf_counter_ns()` there.
#[cfg(windows)]
fn monotonic_ns() -> u64 {
    #[link(name = "kernel32")]
    extern "system" {
        fn QueryPerformanceCounter(count: *mut i64) -> i32;
        fn QueryPerformanceFrequency(freq: *mut i64) -> i32;
    }
    let (mut count, mut freq) = (0i64, 1i64);
    // SAFETY: both write one i64 through a valid pointer; they cannot fail since Windows XP.
    unsafe {
        QueryPerformanceCounter(&mut count);
        QueryPerformanceFrequency(&mut freq);
    }
    (count as u128 * 1_000_000_000 / freq.max(1) as u128) as u64
}

/// What one producer thread does.
struct Plan {
    count: u64,
    size: usize,
    period: Option<Duration>,
    close: bool,
    stamp: bool,
}

fn run(p: Producer, plan: Plan) -> u64 {
    let Plan {
        count,
        size,
        period,
        close,
        stamp,
    } = plan;
    let mut buf = vec![0u8; size];
    let start = Instant::now();
    let mut pushed = 0;
    for k in 0..count {
        if let Some(period) = period {
            let due = start + period.mul_f64(k as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        fill_frame(&mut buf, k, stamp);
        if !push_retrying(&p, k as u32, &buf) {
            return pushed;
        }
        pushed += 1;
    }
    if close {
        p.close();
    }
    pushed
}

/// A running `spawn_producer` thread.
#[pyclass(frozen, module = "awaitq.testing", name = "Producer")]
pub(crate) struct SpawnedProducer {
    thread: Mutex<Option<JoinHandle<u64>>>,
    pushed: Mutex<Option<u64>>,
}

#[pymethods]
impl SpawnedProducer {
    /// Waits for the thread (without holding the GIL) and returns the frames it pushed.
    fn join(&self, py: Python<'_>) -> u64 {
        if let Some(n) = *self.pushed.lock().unwrap_or_else(|e| e.into_inner()) {
            return n;
        }
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        let n = match handle {
            Some(h) => py.detach(|| h.join().unwrap_or(0)),
            // Another thread is joining right now: wait for its result.
            None => loop {
                if let Some(n) = *self.pushed.lock().unwrap_or_else(|e| e.into_inner()) {
                    break n;
                }
                py.detach(|| std::thread::sleep(Duration::from_millis(1)));
            },
        };
        *self.pushed.lock().unwrap_or_else(|e| e.into_inner()) = Some(n);
        n
    }

    /// `True` while the thread is pushing.
    #[getter]
    fn running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }
}

/// `spawn_producer(ch, count, size=16, rate_hz=None, close=False, *, stamp=False)`: a native
/// thread pushing `count` frames (frame k: tag k, payload k as u32 LE then `k & 0xFF` bytes;
/// with `stamp`, bytes 4..12 carry the push time in `time.monotonic_ns()` units).
#[pyfunction]
#[pyo3(
    signature = (ch, count, size=None, rate_hz=None, close=false, *, stamp=false),
    text_signature = "(ch, count, size=16, rate_hz=None, close=False, *, stamp=False)"
)]
pub(crate) fn spawn_producer(
    ch: &Bound<'_, PyAny>,
    count: &Bound<'_, PyAny>,
    size: Option<&Bound<'_, PyAny>>,
    rate_hz: Option<f64>,
    close: bool,
    stamp: bool,
) -> PyResult<SpawnedProducer> {
    let p = Producer::from_object(ch)?;
    let count = args::count(count, "count")?;
    let max_frame = p.max_frame();
    let size = size.map_or(Ok(16), |s| args::size(s, "size"))?;
    if !(4..=max_frame).contains(&size) {
        return Err(Failure::ProducerSize { size, max_frame }.into());
    }
    if stamp && size < 12 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "stamp=True needs size >= 12 (the time is bytes 4..12)",
        ));
    }
    let period = rate_hz
        .map(awaitq_core::args::period_ns)
        .transpose()
        .map_err(Failure::Arg)?
        .map(Duration::from_nanos);
    let thread = std::thread::Builder::new()
        .name("awaitq-producer".into())
        .spawn(move || {
            let plan = Plan {
                count,
                size,
                period,
                close,
                stamp,
            };
            run(p, plan)
        })
        .map_err(Failure::from)?;
    Ok(SpawnedProducer {
        thread: Mutex::new(Some(thread)),
        pushed: Mutex::new(None),
    })
}

/// A native thread that pushes one frame (tag = the ping's number, empty payload) each time
/// `ping()` is called: the far end of a ping-pong latency measurement.
#[pyclass(frozen, module = "awaitq.testing")]
pub(crate) struct Pinger {
    tx: Mutex<Option<mpsc::Sender<u32>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[pymethods]
impl Pinger {
    #[new]
    fn new(ch: &Bound<'_, PyAny>) -> PyResult<Self> {
        let p = Producer::from_object(ch)?;
        let (tx, rx) = mpsc::channel::<u32>();
        let thread = std::thread::Builder::new()
            .name("awaitq-pinger".into())
            .spawn(move || {
                while let Ok(n) = rx.recv() {
                    if !push_retrying(&p, n, &[]) {
                        return;
                    }
                }
            })
            .map_err(Failure::from)?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Asks the thread to push frame `n` (returns at once).
    fn ping(&self, n: &Bound<'_, PyAny>) -> PyResult<()> {
        let n = args::tag(n)?;
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match tx.as_ref().map(|tx| tx.send(n)) {
            Some(Ok(())) => Ok(()),
            _ => Err(Failure::Push(PushError::Closed).into()),
        }
    }

    /// Stops the thread and waits for it.
    fn close(&self, py: Python<'_>) {
        drop(self.tx.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(h) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            py.detach(|| drop(h.join()));
        }
    }
}
