//! One [`Waker`] per event loop, registered once with `loop.add_reader`. Its descriptor is the
//! only thing producers touch; the reader callback ([`LoopWaker::__call__`], under the GIL on
//! the loop's thread) completes the futures of the channels whose hooks fired.
//!
//! Loops have no close hook, so the registry refers to each loop weakly and every
//! registration of a new loop first drops the entries of loops that are closed or gone (their
//! selector, and the reader with it, is gone; dropping the entry closes our descriptor). So
//! descriptors are bounded by the loops alive, never by receives, and the registry never keeps
//! a loop alive. After `fork()` the child forgets every
//! entry (the descriptors are shared with the parent) and bumps the generation, which makes
//! every channel rebuild its per-context caches on its next park.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyAnyMethods, PyWeakrefMethods, PyWeakrefReference};
use pyo3::{intern, Py};

use super::park;
use super::waker::Waker;
use crate::errors::Failure;

/// The reader callback of one event loop: `loop.add_reader(fd, waker)`.
#[pyclass(frozen, module = "awaitq._awaitq")]
pub(crate) struct LoopWaker {
    pub(crate) waker: Arc<Waker>,
    /// The context id waiters parked from this loop carry.
    pub(crate) id: u64,
}

#[pymethods]
impl LoopWaker {
    /// The descriptor is readable: wake the waiters of every channel whose hook fired.
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let mut result = Ok(());
        for node in self.waker.take() {
            if let Some(shared) = node.channel() {
                // Keep going after an error so no other channel's wake is lost; report the first.
                let r = park::wake_waiters(py, &shared, self.id);
                if result.is_ok() {
                    result = r;
                }
            }
        }
        result
    }

    fn fileno(&self) -> i32 {
        self.waker.fileno()
    }

    fn __repr__(&self) -> String {
        format!("<awaitq loop waker fd={}>", self.waker.fileno())
    }
}

/// A reference to an event loop that does not keep it alive (strong only for a loop type
/// without weak reference support).
pub(crate) enum LoopRef {
    Weak(Py<PyWeakrefReference>),
    Strong(Py<PyAny>),
}

impl LoopRef {
    pub(crate) fn new(lp: &Bound<'_, PyAny>) -> Self {
        match PyWeakrefReference::new(lp) {
            Ok(w) => Self::Weak(w.unbind()),
            Err(_) => Self::Strong(lp.clone().unbind()),
        }
    }

    /// The loop, if it still exists.
    pub(crate) fn get<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        match self {
            Self::Weak(w) => w.bind(py).upgrade(),
            Self::Strong(lp) => Some(lp.bind(py).clone()),
        }
    }

    /// `true` if this refers to `lp`.
    pub(crate) fn is(&self, py: Python<'_>, lp: &Bound<'_, PyAny>) -> bool {
        self.get(py).is_some_and(|l| l.is(lp))
    }
}

struct Entry {
    event_loop: LoopRef,
    waker: Py<LoopWaker>,
}

static LOOPS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
/// Context ids: 0 means "outside an event loop"; loops count from 1.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static GENERATION: AtomicU64 = AtomicU64::new(0);

fn registry() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    LOOPS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Bumped in a forked child; caches from another generation are stale.
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// The event loop running in this thread, if any (asyncio's and uvloop's alike).
pub(crate) fn running_loop(py: Python<'_>) -> PyResult<Option<Bound<'_, PyAny>>> {
    static GET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get = match GET.get(py) {
        Some(get) => get,
        None => {
            // No asyncio imported means no loop can be running: don't import it for a
            // hand-written scheduler.
            let modules = py
                .import(intern!(py, "sys"))?
                .getattr(intern!(py, "modules"))?;
            let Some(events) = modules
                .get_item(intern!(py, "asyncio.events"))
                .ok()
                .filter(|m| !m.is_none())
            else {
                return Ok(None);
            };
            let f = events.getattr(intern!(py, "_get_running_loop"))?.unbind();
            GET.get_or_init(py, || f)
        }
    };
    let lp = get.bind(py).call0()?;
    Ok((!lp.is_none()).then_some(lp))
}

/// The waker of `event_loop`, registering it (one `add_reader`) the first time.
pub(crate) fn waker_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Py<LoopWaker>> {
    // Upgrading a weak reference runs no Python code, so the lock may be held meanwhile.
    if let Some(e) = registry().iter().find(|e| e.event_loop.is(py, event_loop)) {
        return Ok(e.waker.clone_ref(py));
    }
    if event_loop
        .call_method0(intern!(py, "is_closed"))?
        .is_truthy()?
    {
        return Err(Failure::LoopClosed.into());
    }
    prune(py)?;
    let waker = Waker::new().map_err(Failure::from)?;
    let fd = waker.fileno();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let lw = Py::new(py, LoopWaker { waker, id })?;
    event_loop.call_method1(intern!(py, "add_reader"), (fd, lw.clone_ref(py)))?;
    registry().push(Entry {
        event_loop: LoopRef::new(event_loop),
        waker: lw.clone_ref(py),
    });
    Ok(lw)
}

/// Drops the entries of loops that are closed or gone. Python is called (and entries dropped)
/// with the registry unlocked: a call can switch threads, a drop can run a finalizer.
fn prune(py: Python<'_>) -> PyResult<()> {
    let snapshot: Vec<(u64, Option<Bound<'_, PyAny>>)> = registry()
        .iter()
        .map(|e| (e.waker.get().id, e.event_loop.get(py)))
        .collect();
    let mut stale = Vec::new();
    for (id, lp) in &snapshot {
        let closed = match lp {
            None => true,
            Some(lp) => lp.call_method0(intern!(py, "is_closed"))?.is_truthy()?,
        };
        if closed {
            stale.push(*id);
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    // By waker id, not position: another thread may have changed the registry meanwhile.
    let removed: Vec<Entry> = {
        let mut reg = registry();
        let (gone, keep) = reg
            .drain(..)
            .partition(|e| stale.contains(&e.waker.get().id));
        *reg = keep;
        gone
    };
    drop(removed);
    drop(snapshot);
    Ok(())
}

/// `os.register_at_fork(after_in_child=...)`: forget the parent's loops and descriptors, and
/// repair every channel a vanished producer thread was pushing into (see
/// [`crate::shared::recover_after_fork`]).
#[pyfunction]
pub(crate) fn _after_fork_in_child() {
    crate::shared::recover_after_fork();
    GENERATION.fetch_add(1, Ordering::Relaxed);
    let entries = std::mem::take(&mut *registry());
    drop(entries);
}

/// How many loops are registered now (for the descriptor-leak tests).
#[pyfunction]
pub(crate) fn _registered_loops() -> usize {
    registry().len()
}
