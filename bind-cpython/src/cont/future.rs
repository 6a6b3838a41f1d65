//! A Rust future as a native awaitable, with no executor: it is polled from `am_send` (core's
//! `next_entry`), under the GIL, on the thread that awaits it. The frame is core's (`cont`
//! docs, "A Rust future as the host"):
//!
//! - `Ready(Ok(v))` → the result; `Ready(Err(e))` or a panic → raised.
//! - `Pending` after [`py_await`](super::pyawait::py_await) asked for a Python awaitable → an
//!   await entry whose outcome goes to the reply slot the sub-future returns on the next poll.
//! - `Pending` otherwise → a wait entry: the awaitable parks until the future's `Waker` fires.
//!
//! The `Waker` takes the channel's wake path, GIL-free from any thread: a parked future is the
//! one waiter of a tiny private channel ([`Shared`]) whose hook the `Waker` fires, so the wake
//! goes through that channel's node into the event loop's eventfd and its reader completes the
//! loop future the task waits on (or, outside a loop, the `WaitHandle`'s descriptor becomes
//! readable). That channel is made on the first park and reused; it never carries a frame.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use awaitq_core::{Config, Inner, Overflow, Started};
use pyo3::prelude::*;
use pyo3::{ffi, Py};

use super::entry::{Entry, OnError, OnResult};
use super::errors::panic_err;
use super::iter;
use super::object::{self, ContObject, Kind};
use super::pyawait::{Current, Slots};
use crate::shared::Shared;
use crate::wake::park::{self, FutSlot, Parked};

/// What `future_into_py` accepts, boxed.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// The future's `Waker`: `woken` first (a wake during a poll or a park is never lost), then
/// the private channel's hook, if the future has parked once.
#[derive(Default)]
pub(crate) struct FutureWake {
    woken: AtomicBool,
    hub: OnceLock<Arc<Shared>>,
}

impl Wake for FutureWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        if let Some(hub) = self.hub.get() {
            hub.wake.fire();
        }
    }
}

/// The state of a future-driven awaitable (inside the object).
pub(crate) struct FutureState {
    fut: Cell<Option<BoxFuture>>,
    pub(crate) slots: RefCell<Slots>,
    wake: Arc<FutureWake>,
    waker: Waker,
    /// The loop future a park yielded (the private channel's waiter slot).
    parked: FutSlot,
    /// The context the awaitable is registered in as a waiter, while parked.
    ctx: Cell<Option<u64>>,
    /// The future is out of `fut` for a poll; a discard meanwhile drops it afterwards.
    polling: Cell<bool>,
    discarded: Cell<bool>,
}

impl FutureState {
    pub(crate) fn has_future(&self) -> bool {
        let f = self.fut.take();
        let has = f.is_some();
        self.fut.set(f);
        has
    }

    /// The Python objects it holds (for `tp_traverse`).
    pub(crate) fn visit(&self, add: &mut dyn FnMut(*mut ffi::PyObject)) {
        add(self.parked.peek());
        if let Ok(slots) = self.slots.try_borrow() {
            slots.visit(add);
        }
    }

    /// Drops every reference (`tp_clear`), the future included.
    pub(crate) fn clear(&self, py: Python<'_>) {
        self.unregister(py);
        let taken = (
            self.fut.take(),
            std::mem::take(&mut *self.slots.borrow_mut()),
        );
        drop(taken);
    }

    /// Leaves the private channel's waiters and drops its per-loop caches (they hold the event
    /// loop; a `Waker` kept by some thread keeps the channel alive, not the loop).
    pub(crate) fn unregister(&self, py: Python<'_>) {
        self.unpark(py);
        if let Some(hub) = self.wake.hub.get() {
            let stale = hub.consumer().clear();
            drop(stale);
        }
    }

    /// Leaves the private channel's waiters (a no-op unless parked).
    fn unpark(&self, _py: Python<'_>) {
        let Some(hub) = self.wake.hub.get() else {
            return;
        };
        let mut ctx = self.ctx.get();
        if ctx.is_some() {
            park::resumed(hub, &self.parked, ctx);
            park::leave(hub, &self.parked, &mut ctx);
            self.ctx.set(ctx);
        }
    }

    /// The private channel, made on the first park.
    fn hub(&self) -> PyResult<&Arc<Shared>> {
        if let Some(h) = self.wake.hub.get() {
            return Ok(h);
        }
        let hub = Shared::new(Config::new(1, 1, Overflow::Reject))?;
        Ok(self.wake.hub.get_or_init(|| hub))
    }
}

/// A Rust future as a Python awaitable, with no executor: awaiting the returned object polls
/// `fut` from the awaiting task; its `Waker` may be called from any thread (no GIL needed).
/// Inside `fut`, [`py_await`](super::pyawait::py_await) awaits Python awaitables.
///
/// Cancellation (`task.cancel()`, a timeout) reaches `fut` as the `Err(CancelledError)` of the
/// `py_await` in progress (after the awaited coroutine's `except`/`finally` ran), or, while
/// `fut` waits on Rust, as its drop. Closing or dropping the awaitable drops `fut`.
pub fn future_into_py<F>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<Py<PyAny>>> + Send + 'static,
{
    let wake = Arc::new(FutureWake::default());
    let waker = Waker::from(Arc::clone(&wake));
    let state = FutureState {
        fut: Cell::new(Some(Box::pin(fut))),
        slots: RefCell::new(Slots::default()),
        wake,
        waker,
        parked: FutSlot::default(),
        ctx: Cell::new(None),
        polling: Cell::new(false),
        discarded: Cell::new(false),
    };
    object::alloc(py, Kind::Future(state), None)
}

/// core's `next_entry` for a future: one poll.
pub(crate) fn poll(py: Python<'_>, obj: &ContObject, st: &FutureState) -> PyResult<Option<Entry>> {
    let Some(mut fut) = st.fut.take() else {
        return Ok(None);
    };
    // Cleared before the poll: a wake during it shows up in `arm`.
    st.wake.woken.store(false, SeqCst);
    st.polling.set(true);
    st.discarded.set(false);
    let polled = {
        let _current = Current::enter(st);
        let mut cx = Context::from_waker(&st.waker);
        catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)))
    };
    st.polling.set(false);
    let (request, stale_reply) = {
        let mut slots = st.slots.borrow_mut();
        (slots.request.take(), slots.reply.take())
    };
    drop(stale_reply); // its `py_await` was dropped without taking it
    let outcome = match polled {
        Ok(Poll::Pending) if !st.discarded.get() => {
            st.fut.set(Some(fut));
            return Ok(Some(match request {
                Some((id, awaitable)) => {
                    Entry::await_(awaitable, OnResult::Reply(id), OnError::Reply(id))
                }
                None => Entry::Wait { parker: None },
            }));
        }
        // Cancelled from inside its own poll: the step completes with nothing more to run.
        Ok(Poll::Pending) => Ok(None),
        Ok(Poll::Ready(Ok(v))) => {
            obj.d.result.set(Some(v));
            Ok(None)
        }
        Ok(Poll::Ready(Err(e))) => Err(e),
        Err(payload) => Err(panic_err(payload)),
    };
    drop(fut);
    if let Some((_, awaitable)) = request {
        iter::close_unstarted(py, &awaitable);
    }
    st.unregister(py);
    outcome
}

/// core's `start` of a wait entry: park, then look at `woken` (a wake that came before the
/// park could reach us means "poll again", not "wait").
pub(crate) fn arm(
    py: Python<'_>,
    st: &FutureState,
    parker: &mut Option<Py<PyAny>>,
) -> PyResult<Started> {
    let hub = st.hub()?;
    loop {
        let mut ctx = st.ctx.get();
        let parked = park::park(py, hub, &st.parked, &mut ctx);
        st.ctx.set(ctx);
        let parked = match parked {
            Ok(p) => p,
            Err(e) => {
                st.unpark(py);
                return Err(e);
            }
        };
        if st.wake.woken.swap(false, SeqCst) {
            st.unpark(py);
            return Ok(Started::Skipped);
        }
        match parked {
            // The hook was pointed at this context just now: park again (no retarget now).
            Parked::Recheck => continue,
            Parked::Yield(p) => {
                *parker = Some(p);
                return Ok(Started::Awaiting);
            }
        }
    }
}

/// core's `send` into a wait entry: the first yields the parker; the next (the wake came, or
/// a spurious resume) ends the wait, and the future is polled again.
pub(crate) fn wait_send(
    py: Python<'_>,
    obj: &ContObject,
    parker: &mut Option<Py<PyAny>>,
) -> Inner<Py<PyAny>, PyErr> {
    if let Some(p) = parker.take() {
        return Inner::Yielded(p);
    }
    unpark(py, obj);
    Inner::Returned(py.None())
}

/// Ends a wait (throw, close, cancel).
pub(crate) fn unpark(py: Python<'_>, obj: &ContObject) {
    if let Kind::Future(st) = &obj.d.kind {
        st.unpark(py);
    }
}

/// An await entry of the future finished: its outcome waits for the `py_await` with `id`.
pub(crate) fn reply(obj: &ContObject, id: u64, outcome: PyResult<Py<PyAny>>) {
    if let Kind::Future(st) = &obj.d.kind {
        let old = st.slots.borrow_mut().reply.replace((id, outcome));
        drop(old);
    }
}

/// core's `discard_pending`: drop the future (its drop code runs now).
pub(crate) fn discard(py: Python<'_>, st: &FutureState) {
    if st.polling.get() {
        st.discarded.set(true);
    }
    let taken = (st.fut.take(), std::mem::take(&mut *st.slots.borrow_mut()));
    st.unregister(py);
    drop(taken);
}
