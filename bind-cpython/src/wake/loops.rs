//! One [`Waker`] per event loop, and what context a park happens in ([`here`]: asyncio's
//! running loop first, then a trio run, else a hand-written scheduler). The waker's signal is
//! the only thing producers touch; the callback ([`LoopWaker::__call__`], under the GIL on the
//! loop's thread) wakes the waiters of the channels whose hooks fired.
//!
//! - **asyncio / uvloop** (and anyio on asyncio): a descriptor registered once with
//!   `loop.add_reader`; the callback completes the waiters' futures.
//! - **asyncio without `add_reader`** (Windows' Proactor loop), or forced with
//!   `AWAITQ_WAKE=thread`: a [`Waker::threaded`] — a native thread that, on a parked -> ready
//!   edge only, attaches and calls `loop.call_soon_threadsafe(callback)`.
//! - **trio** (and anyio on trio): one descriptor per `trio.run`, kept in a `RunVar`, watched
//!   by a system task (`awaitq._trio.pump`: `wait_readable`, then the callback); parked tasks
//!   yield trio's `wait_task_rescheduled` trap and the callback `reschedule`s them. One task
//!   waits on the descriptor, so trio's one-waiter-per-descriptor rule holds however many
//!   tasks park on however many channels.
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

use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyAnyMethods, PyDict, PyWeakrefMethods, PyWeakrefReference};
use pyo3::{intern, Py};

use super::fd::RawWake;
use super::park;
use super::waker::Waker;
use crate::errors::Failure;

/// The callback of one event loop or trio run: `loop.add_reader(fd, waker)`,
/// `loop.call_soon_threadsafe(waker)` from a waker thread, or trio's pump task.
#[pyclass(frozen, weakref, module = "awaitq._awaitq")]
pub(crate) struct LoopWaker {
    pub(crate) waker: Arc<Waker>,
    /// The context id waiters parked from this loop carry (see [`is_trio`]).
    pub(crate) id: u64,
}

#[pymethods]
impl LoopWaker {
    /// The signal came: wake the waiters of every channel whose hook fired.
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

    /// The descriptor, or `None` for a waker thread.
    fn fileno(&self) -> Option<RawWake> {
        self.waker.fileno()
    }

    fn __repr__(&self) -> String {
        match self.waker.fileno() {
            Some(fd) => format!("<awaitq loop waker fd={fd}>"),
            None => "<awaitq loop waker thread>".into(),
        }
    }
}

/// Where a park happens.
pub(crate) enum Here<'py> {
    /// An asyncio (or uvloop) loop is running in this thread.
    Asyncio(Bound<'py, PyAny>),
    /// Inside a trio task: the run's waker.
    Trio(Bound<'py, LoopWaker>),
    /// Neither: a hand-written scheduler.
    Outside,
}

/// The running library, asked at the moment of waiting (so anyio needs nothing: it runs on
/// one of the two). trio first, once it is imported: in trio's guest mode a trio task runs
/// inside an asyncio callback, where asyncio's running loop is the host's.
pub(crate) fn here(py: Python<'_>) -> PyResult<Here<'_>> {
    if let Some(lw) = trio_waker(py)? {
        return Ok(Here::Trio(lw));
    }
    Ok(match running_loop(py)? {
        Some(lp) => Here::Asyncio(lp),
        None => Here::Outside,
    })
}

/// Context ids carry their library in the low bit: waiters of a trio run are `reschedule`d,
/// and what trio sends them is an `outcome` to unwrap.
pub(crate) fn is_trio(ctx: u64) -> bool {
    ctx & 1 == 1
}

fn next_id(trio: bool) -> u64 {
    (NEXT_ID.fetch_add(1, Ordering::Relaxed) << 1) | u64::from(trio)
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
/// Context ids (before [`next_id`]'s shift): 0 means "outside an event loop"; loops count
/// from 1.
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
    let id = next_id(false);
    let waker = if thread_forced() {
        threaded(id)?
    } else {
        Waker::new().map_err(Failure::from)?
    };
    let mut lw = Py::new(py, LoopWaker { waker, id })?;
    if let Some(fd) = lw.get().waker.fileno() {
        match event_loop.call_method1(intern!(py, "add_reader"), (fd, lw.clone_ref(py))) {
            Ok(_) => {}
            // Windows' Proactor loop: no readers; wake through call_soon_threadsafe.
            Err(e) if e.is_instance_of::<PyNotImplementedError>(py) => {
                lw = Py::new(
                    py,
                    LoopWaker {
                        waker: threaded(id)?,
                        id,
                    },
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    registry().push(Entry {
        event_loop: LoopRef::new(event_loop),
        waker: lw.clone_ref(py),
    });
    Ok(lw)
}

/// `AWAITQ_WAKE=thread` forces the waker thread on every loop (so the path a loop without
/// `add_reader` takes is tested on any system). Read when a loop registers.
fn thread_forced() -> bool {
    std::env::var_os("AWAITQ_WAKE").is_some_and(|v| v == "thread")
}

/// A waker thread for the registered loop `id`.
fn threaded(id: u64) -> PyResult<Arc<Waker>> {
    Ok(Waker::threaded(Box::new(move || schedule(id))).map_err(Failure::from)?)
}

/// Set at interpreter exit: waker threads no longer attach.
static EXITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Waker threads between their `EXITING` check and the end of their attach.
static SCHEDULING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// On a waker thread, after a parked -> ready edge: `loop.call_soon_threadsafe(waker)`.
///
/// A thread still waiting for the GIL when the interpreter finalizes is ended by CPython
/// (before 3.13, with `pthread_exit`, which aborts the process when it unwinds through
/// Rust). So the check of `EXITING` and the attach are bracketed by `SCHEDULING`, and
/// [`_at_exit`] sets `EXITING` then waits (GIL released) until no thread is inside: with
/// both sides sequentially consistent, a thread either sees `EXITING` or is waited for.
fn schedule(id: u64) {
    SCHEDULING.fetch_add(1, Ordering::SeqCst);
    if !EXITING.load(Ordering::SeqCst) {
        attach_and_schedule(id);
    }
    SCHEDULING.fetch_sub(1, Ordering::SeqCst);
}

fn attach_and_schedule(id: u64) {
    // Not during finalization (try_attach refuses then): the wake has nobody to reach.
    let _ = Python::try_attach(|py| {
        let found = registry()
            .iter()
            .find(|e| e.waker.get().id == id)
            .map(|e| (e.event_loop.get(py), e.waker.clone_ref(py)));
        let Some((Some(lp), lw)) = found else {
            return; // the loop is gone: nobody waits
        };
        let r = lp
            .call_method0(intern!(py, "is_closed"))
            .and_then(|c| c.is_truthy());
        let r = match r {
            Ok(true) => return,
            Ok(false) => lp.call_method1(intern!(py, "call_soon_threadsafe"), (lw,)),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            // A loop closed between the check and the call raises RuntimeError: nobody waits.
            if !e.is_instance_of::<pyo3::exceptions::PyRuntimeError>(py) {
                e.write_unraisable(py, Some(&lp));
            }
        }
    });
}

/// `atexit`: waker threads stop attaching to an interpreter that is going away; the ones
/// already on their way in are let through first (bounded: 1 s).
#[pyfunction]
pub(crate) fn _at_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while SCHEDULING.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
}

/// What awaitq uses of trio, looked up once trio is imported.
struct Trio {
    /// `in_trio_task` (trio >= 0.23); older trio: `current_task()` raising RuntimeError.
    in_trio_task: Option<Py<PyAny>>,
    current_task: Py<PyAny>,
    reschedule: Py<PyAny>,
    spawn_system_task: Py<PyAny>,
    /// `RunVar("awaitq")`: the run's [`LoopWaker`].
    run_waker: Py<PyAny>,
    /// `awaitq._trio.pump`, the system task.
    pump: Py<PyAny>,
    /// The type of what `wait_task_rescheduled(abort)` yields (trio's trap message).
    trap: Py<PyAny>,
    /// `trio.lowlevel.Abort.SUCCEEDED`.
    abort_succeeded: Py<PyAny>,
}

/// trio's API, if trio is imported (not importing it: a program that never imported trio
/// cannot be in a trio run).
fn trio(py: Python<'_>) -> PyResult<Option<&Trio>> {
    static TRIO: PyOnceLock<Trio> = PyOnceLock::new();
    static MODULES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    if let Some(t) = TRIO.get(py) {
        return Ok(Some(t));
    }
    // Until trio is imported, every park asks: one dict lookup in a cached `sys.modules`.
    let modules = MODULES
        .get_or_try_init(py, || {
            py.import(intern!(py, "sys"))?
                .getattr(intern!(py, "modules"))
                .map(Bound::unbind)
        })?
        .bind(py);
    if modules
        .get_item(intern!(py, "trio"))
        .ok()
        .filter(|m| !m.is_none())
        .is_none()
    {
        return Ok(None);
    }
    let ll = py.import(intern!(py, "trio.lowlevel"))?;
    let get = |name: &str| ll.getattr(name).map(Bound::unbind);
    // The trap's type, from the public coroutine: its first step yields the message.
    let coro = ll.call_method1(intern!(py, "wait_task_rescheduled"), (py.None(),))?;
    let msg = coro.call_method1(intern!(py, "send"), (py.None(),));
    coro.call_method0(intern!(py, "close"))?;
    let trap = msg?.get_type().into_any().unbind();
    let t = Trio {
        in_trio_task: get("in_trio_task").ok(),
        current_task: get("current_task")?,
        reschedule: get("reschedule")?,
        spawn_system_task: get("spawn_system_task")?,
        run_waker: ll.getattr("RunVar")?.call1(("awaitq",))?.unbind(),
        pump: py.import("awaitq._trio")?.getattr("pump")?.unbind(),
        trap,
        abort_succeeded: ll.getattr("Abort")?.getattr("SUCCEEDED")?.unbind(),
    };
    Ok(Some(TRIO.get_or_init(py, || t)))
}

/// In a trio task: the run's waker (made, with its pump task, on the run's first park).
fn trio_waker(py: Python<'_>) -> PyResult<Option<Bound<'_, LoopWaker>>> {
    let Some(t) = trio(py)? else {
        return Ok(None);
    };
    let inside = match &t.in_trio_task {
        Some(f) => f.bind(py).call0()?.is_truthy()?,
        None => match t.current_task.bind(py).call0() {
            Ok(_) => true,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyRuntimeError>(py) => false,
            Err(e) => return Err(e),
        },
    };
    if !inside {
        return Ok(None);
    }
    let run_waker = t.run_waker.bind(py);
    let cur = run_waker.call_method1(intern!(py, "get"), (py.None(),))?;
    if !cur.is_none() {
        return Ok(Some(cur.cast_into::<LoopWaker>()?));
    }
    let waker = Waker::new().map_err(Failure::from)?;
    let lw = Bound::new(
        py,
        LoopWaker {
            waker,
            id: next_id(true),
        },
    )?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "name"), "awaitq waker")?;
    t.spawn_system_task
        .bind(py)
        .call((t.pump.bind(py), &lw), Some(&kwargs))?;
    run_waker.call_method1(intern!(py, "set"), (&lw,))?;
    Ok(Some(lw))
}

/// The trio task running now.
pub(crate) fn trio_current_task(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    match trio(py)? {
        Some(t) => t.current_task.bind(py).call0(),
        None => Err(no_trio()),
    }
}

/// The trap a task parked under trio yields: trio calls `abort(raise_cancel)` to cancel it.
pub(crate) fn trio_trap<'py>(
    py: Python<'py>,
    abort: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    match trio(py)? {
        Some(t) => t.trap.bind(py).call1((abort,)),
        None => Err(no_trio()),
    }
}

/// `trio.lowlevel.reschedule(task)`.
pub(crate) fn trio_reschedule(py: Python<'_>, task: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Some(t) = trio(py)? {
        t.reschedule.bind(py).call1((task,))?;
    }
    Ok(())
}

/// `Abort.SUCCEEDED`.
pub(crate) fn trio_abort_succeeded(py: Python<'_>) -> PyResult<Py<PyAny>> {
    match trio(py)? {
        Some(t) => Ok(t.abort_succeeded.clone_ref(py)),
        None => Err(no_trio()),
    }
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

/// `os.register_at_fork(after_in_child=...)`: forget the parent's loops and descriptors.
#[pyfunction]
pub(crate) fn _after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    let entries = std::mem::take(&mut *registry());
    drop(entries);
}

/// How many loops are registered now (for the descriptor-leak tests).
#[pyfunction]
pub(crate) fn _registered_loops() -> usize {
    registry().len()
}

/// Never raised in practice: the trio helpers run only after a park found a trio run.
fn no_trio() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("awaitq: trio is not imported")
}
