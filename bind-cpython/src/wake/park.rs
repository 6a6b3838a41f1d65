//! The consumer side of a park: after the core answered `Pending`, decide what the awaitable
//! yields and make sure the next wake reaches it.
//!
//! - Inside an event loop: the channel's hook points at this loop's [`Waker`] (one `add_reader`
//!   per loop); the awaitable yields a fresh `loop.create_future()` with
//!   `_asyncio_future_blocking = True`, which the reader callback completes. Never a bare
//!   `None`: that would make asyncio poll.
//! - Inside a trio task: the hook points at the run's waker (watched by one system task); the
//!   awaitable records the task and yields trio's `wait_task_rescheduled` trap, whose abort
//!   callback ([`TrioAbort`]) forgets the task so a later wake cannot reschedule it. trio
//!   resumes the awaitable with an `outcome` (`Value(None)` after a wake, `Error(Cancelled)`
//!   after a cancel), which [`outcome`] unwraps.
//! - Outside both (a hand-written scheduler driving `send()`): the hook points at the channel's
//!   own descriptor, and the awaitable yields a [`WaitHandle`] whose `fileno()` the scheduler
//!   `select()`s on before resuming with `send(None)`.
//!
//! All waiters of one channel must park from the same context (one loop, or none): the hook
//! has one target. A receiver parked from loop A while a receive starts on loop B is the
//! core's `Busy`; a *sender* parking from another context gets [`Failure::ForeignLoop`].

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::{intern, Py};

use super::loops::{self, Here, LoopRef, LoopWaker};
use super::waker::{Node, Waker};
use crate::errors::Failure;
use crate::shared::Shared;

/// The context id of waits outside any event loop.
pub(crate) const NO_LOOP: u64 = 0;

/// Where a parked awaitable keeps the future it yielded (asyncio) or its task (trio), inside
/// the awaitable object (so the garbage collector sees the reference). Touched only by
/// threads attached to Python.
#[derive(Default)]
pub(crate) struct FutSlot(Cell<Option<Py<PyAny>>>);

impl FutSlot {
    pub(crate) fn take(&self) -> Option<Py<PyAny>> {
        self.0.take()
    }

    fn set(&self, fut: Py<PyAny>) -> Option<Py<PyAny>> {
        self.0.replace(Some(fut))
    }

    /// The future's pointer, left in place (for `tp_traverse`).
    pub(crate) fn peek(&self) -> *mut pyo3::ffi::PyObject {
        let fut = self.0.take();
        let p = fut.as_ref().map_or(std::ptr::null_mut(), |f| f.as_ptr());
        self.0.set(fut);
        p
    }
}

/// A parked awaitable, as the channel sees it.
struct Waiter {
    ctx: u64,
    slot: NonNull<FutSlot>,
}

// SAFETY: `slot` is only dereferenced by threads attached to Python (so one at a time), and
// the awaitable that owns it removes this entry (`leave`) before it finishes or dies.
unsafe impl Send for Waiter {}

/// The loop last parked from. Weak: a channel must not keep a loop (or its descriptor, which
/// the registry owns) alive.
struct LoopCache {
    event_loop: LoopRef,
    id: u64,
    node: Arc<Node>,
}

struct OwnWait {
    handle: Py<WaitHandle>,
    waker: Arc<Waker>,
    node: Arc<Node>,
}

/// Per-channel consumer bookkeeping, inside [`Shared`].
#[derive(Default)]
pub(crate) struct Consumer {
    generation: u64,
    last_loop: Option<LoopCache>,
    own: Option<OwnWait>,
    waiters: Vec<Waiter>,
}

/// Caches taken out of the consumer state: drop them after the lock is released (dropping a
/// Python reference can run a finalizer).
pub(crate) struct Stale {
    _loop: Option<LoopCache>,
    _own: Option<OwnWait>,
}

impl Consumer {
    /// Forgets the caches if a fork happened since they were made.
    fn refresh(&mut self) -> Stale {
        let gen = loops::generation();
        if self.generation == gen {
            return Stale {
                _loop: None,
                _own: None,
            };
        }
        self.generation = gen;
        Stale {
            _loop: self.last_loop.take(),
            _own: self.own.take(),
        }
    }

    /// Forgets everything that holds Python objects (the Python channel is going away).
    pub(crate) fn clear(&mut self) -> Stale {
        Stale {
            _loop: self.last_loop.take(),
            _own: self.own.take(),
        }
    }
}

/// What the awaitable does after a park.
pub(crate) enum Parked {
    /// Yield this object (a future, or a [`WaitHandle`]) to the driver.
    Yield(Py<PyAny>),
    /// The hook was retargeted: a wake may have gone elsewhere, so attempt again first.
    Recheck,
}

/// Object a receive yields outside an event loop: `select()` on `fileno()`, then resume the
/// coroutine with `send(None)`. Resume every coroutine waiting on a readable descriptor.
#[pyclass(frozen, module = "awaitq")]
pub(crate) struct WaitHandle {
    waker: Arc<Waker>,
}

#[pymethods]
impl WaitHandle {
    /// The descriptor that becomes readable when the channel may have changed.
    fn fileno(&self) -> super::fd::RawWake {
        self.waker.fileno().unwrap_or(-1) // an own waker always has a descriptor
    }

    fn __repr__(&self) -> String {
        format!("<awaitq.WaitHandle fd={}>", self.fileno())
    }
}

/// After the core parked the operation: resolve the context, register the awaitable, point
/// the hook at the context, and say what to yield. `ctx` records the registration.
pub(crate) fn park(
    py: Python<'_>,
    shared: &Arc<Shared>,
    slot: &FutSlot,
    ctx: &mut Option<u64>,
) -> PyResult<Parked> {
    let here = loops::here(py)?;
    let (id, node) = match &here {
        Here::Asyncio(lp) => loop_node(py, shared, lp, || loops::waker_for(py, lp))?,
        Here::Trio(lw) => loop_node(py, shared, lw.as_any(), || Ok(lw.clone().unbind()))?,
        Here::Outside => (NO_LOOP, own_wait(py, shared)?.1),
    };
    {
        let mut c = shared.consumer();
        if c.waiters.iter().any(|w| w.ctx != id) {
            return Err(Failure::ForeignLoop.into());
        }
        let me = NonNull::from(slot);
        if !c.waiters.iter().any(|w| w.slot == me) {
            c.waiters.push(Waiter { ctx: id, slot: me });
        }
    }
    *ctx = Some(id);
    if shared.wake.retarget(&node) {
        return Ok(Parked::Recheck);
    }
    let yielded = match here {
        Here::Asyncio(lp) => {
            let fut = lp.call_method0(intern!(py, "create_future"))?;
            fut.setattr(intern!(py, "_asyncio_future_blocking"), true)?;
            drop(slot.set(fut.clone().unbind()));
            fut.unbind()
        }
        Here::Trio(_) => {
            let task = loops::trio_current_task(py)?;
            drop(slot.set(task.clone().unbind()));
            let abort = TrioAbort {
                shared: Arc::clone(shared),
                task: task.unbind(),
            };
            loops::trio_trap(py, Bound::new(py, abort)?.into_any())?.unbind()
        }
        Here::Outside => own_wait(py, shared)?.0.into_any(),
    };
    Ok(Parked::Yield(yielded))
}

/// This channel's node in the waker of `lp` (an asyncio loop, or a trio run's [`LoopWaker`]),
/// cached for the loop last parked from; `waker` finds the waker on a miss.
fn loop_node(
    py: Python<'_>,
    shared: &Arc<Shared>,
    lp: &Bound<'_, PyAny>,
    waker: impl FnOnce() -> PyResult<Py<LoopWaker>>,
) -> PyResult<(u64, Arc<Node>)> {
    let stale = {
        let mut c = shared.consumer();
        let stale = c.refresh();
        if let Some(l) = c.last_loop.as_ref().filter(|l| l.event_loop.is(py, lp)) {
            return Ok((l.id, Arc::clone(&l.node)));
        }
        stale
    };
    drop(stale);
    let lw = waker()?;
    let (id, node) = {
        let w = lw.get();
        (w.id, Node::new(&w.waker, Arc::downgrade(shared)))
    };
    let event_loop = LoopRef::new(lp);
    let old = shared.consumer().last_loop.replace(LoopCache {
        event_loop,
        id,
        node: Arc::clone(&node),
    });
    drop(old);
    Ok((id, node))
}

/// The channel's own descriptor for waits outside a loop: (handle, node), made on first use.
fn own_wait(py: Python<'_>, shared: &Arc<Shared>) -> PyResult<(Py<WaitHandle>, Arc<Node>)> {
    let stale = {
        let mut c = shared.consumer();
        let stale = c.refresh();
        if let Some(o) = &c.own {
            return Ok((o.handle.clone_ref(py), Arc::clone(&o.node)));
        }
        stale
    };
    drop(stale);
    let waker = Waker::new().map_err(Failure::from)?;
    let node = Node::new(&waker, Arc::downgrade(shared));
    let handle = Py::new(
        py,
        WaitHandle {
            waker: Arc::clone(&waker),
        },
    )?;
    let old = shared.consumer().own.replace(OwnWait {
        handle: handle.clone_ref(py),
        waker,
        node: Arc::clone(&node),
    });
    drop(old);
    Ok((handle, node))
}

/// Before resuming a parked awaitable: in a loop, the future it yielded is taken out when the
/// wake completes it, so a future still pending means another task is driving this awaitable
/// (`await aw` from a second task). That driver is refused and the wait stays intact. Under
/// trio the slot holds the parked task until a wake or an abort takes it: one still there
/// means the same.
pub(crate) fn check_driver(py: Python<'_>, slot: &FutSlot, ctx: Option<u64>) -> PyResult<()> {
    let Some(fut) = slot.take() else {
        return Ok(());
    };
    if ctx.is_some_and(loops::is_trio) {
        drop(slot.set(fut));
        return Err(Failure::SharedAwaitable.into());
    }
    let pending = !fut
        .bind(py)
        .call_method0(intern!(py, "done"))?
        .is_truthy()?;
    drop(slot.set(fut));
    if pending {
        return Err(Failure::SharedAwaitable.into());
    }
    Ok(())
}

/// What the driver sent into a parked awaitable: under trio an `outcome` (`Error(Cancelled)`
/// after a cancel raises here; the caller then ends the wait as for a `throw`); elsewhere
/// ignored.
pub(crate) fn outcome(
    py: Python<'_>,
    ctx: Option<u64>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    match value {
        Some(v) if ctx.is_some_and(loops::is_trio) && !v.is_none() => {
            v.call_method0(intern!(py, "unwrap")).map(drop)
        }
        _ => Ok(()),
    }
}

/// Resuming a parked awaitable (it will attempt again): forget its future; outside a loop,
/// consume the descriptor's signal so `select()` does not spin.
pub(crate) fn resumed(shared: &Shared, slot: &FutSlot, ctx: Option<u64>) {
    drop(slot.take());
    if ctx == Some(NO_LOOP) {
        let waker = shared.consumer().own.as_ref().map(|o| Arc::clone(&o.waker));
        if let Some(w) = waker {
            drop(w.take());
        }
    }
}

/// The awaitable finished (or died): deregister it and drop its future.
pub(crate) fn leave(shared: &Shared, slot: &FutSlot, ctx: &mut Option<u64>) {
    if ctx.take().is_some() {
        let me = NonNull::from(slot);
        shared.consumer().waiters.retain(|w| w.slot != me);
    }
    drop(slot.take());
}

/// The reader callback of context `ctx` found this channel's node: complete the futures of
/// the channel's waiters from that context. They re-attempt when their task resumes.
pub(crate) fn wake_waiters(py: Python<'_>, shared: &Shared, ctx: u64) -> PyResult<()> {
    let futs: Vec<Py<PyAny>> = {
        let c = shared.consumer();
        c.waiters
            .iter()
            .filter(|w| w.ctx == ctx)
            // SAFETY: registered slots are alive (see `Waiter`), and we are attached.
            .filter_map(|w| unsafe { w.slot.as_ref() }.take())
            .collect()
    };
    let mut result = Ok(());
    if loops::is_trio(ctx) {
        for task in futs {
            let r = loops::trio_reschedule(py, task.bind(py));
            if result.is_ok() {
                result = r;
            }
        }
        return result;
    }
    for fut in futs {
        // A cancelled future (its task is being thrown into) refuses the result with
        // InvalidStateError: nothing to wake. Checking done() first would cost a call per wake.
        if let Err(e) = fut
            .bind(py)
            .call_method1(intern!(py, "set_result"), (py.None(),))
        {
            if !is_invalid_state(py, &e) && result.is_ok() {
                result = Err(e);
            }
        }
    }
    result
}

/// The abort callback of a trio park: trio calls it (with the task still parked) to cancel
/// the wait. It takes the task out of its waiter slot, so no later wake reschedules it, and
/// lets trio deliver `Cancelled` (which [`outcome`] raises in the awaitable).
#[pyclass(frozen, module = "awaitq._awaitq")]
pub(crate) struct TrioAbort {
    shared: Arc<Shared>,
    task: Py<PyAny>,
}

#[pymethods]
impl TrioAbort {
    fn __call__(&self, py: Python<'_>, _raise_cancel: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let me = self.task.as_ptr();
        let taken: Vec<Py<PyAny>> = {
            let c = self.shared.consumer();
            c.waiters
                .iter()
                // SAFETY: registered slots are alive (see `Waiter`), and we are attached.
                .map(|w| unsafe { w.slot.as_ref() })
                .filter(|s| s.peek() == me)
                .filter_map(FutSlot::take)
                .collect()
        };
        drop(taken);
        loops::trio_abort_succeeded(py)
    }
}

/// `asyncio.InvalidStateError` (what `set_result` on a done future raises).
fn is_invalid_state(py: Python<'_>, err: &PyErr) -> bool {
    static TYPE: pyo3::sync::PyOnceLock<Py<pyo3::types::PyType>> = pyo3::sync::PyOnceLock::new();
    TYPE.import(py, "asyncio", "InvalidStateError")
        .is_ok_and(|t| err.is_instance(py, t))
}
