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
//!
//! The future lives in the awaitable object (`erased`: inline when small), is polled and
//! dropped only by its awaitable, attached, and dropped in place. A `Waker` never points at
//! it (`waker`): a waker kept after the awaitable is gone reaches only a small shared flag
//! and the private channel, and a future that never keeps its waker allocates nothing.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};

use awaitq_core::{Config, Inner, Overflow, Started};
use pyo3::ffi;
use pyo3::prelude::*;

use super::entry::{Entry, OnError, OnResult};
use super::erased::ErasedFuture;
use super::iter;
use super::obj::{attached, Exc, Obj};
use super::object::{self, ContObject, Kind};
use super::pyawait::{Current, Slots};
use super::waker::WakeState;
use crate::shared::Shared;
use crate::wake::park::{self, FutSlot, Parked};

/// The state of a future-driven awaitable (inside the object, which never moves: the future
/// is stored, and pinned, in it).
pub(crate) struct FutureState {
    fut: ErasedFuture,
    wake: WakeState,
    pub(crate) slots: RefCell<Slots>,
    /// The loop future a park yielded (the private channel's waiter slot).
    parked: FutSlot,
    /// The context the awaitable is registered in as a waiter, while parked.
    ctx: Cell<Option<u64>>,
    /// The private channel exists (it is made on the first park): most futures never park,
    /// and their unregister is then this one test.
    hubbed: Cell<bool>,
    /// A poll is in progress; a discard meanwhile drops the future after it.
    polling: Cell<bool>,
    discarded: Cell<bool>,
}

impl Drop for FutureState {
    fn drop(&mut self) {
        // Normally gone already (finished, closed or discarded); dropped attached, as it is
        // Rust code that may hold PyO3 references.
        if self.fut.is_live() {
            // SAFETY: `&mut self`: no poll is in progress.
            attached(|_| unsafe { self.fut.drop_future() });
        }
    }
}

impl FutureState {
    pub(crate) fn has_future(&self) -> bool {
        !self.polling.get() && self.fut.is_live()
    }

    /// Drops the future (inside `attached`: it is Rust code that may hold PyO3 references).
    fn drop_future(&self) {
        if self.polling.get() {
            self.discarded.set(true);
            return;
        }
        if self.fut.is_live() {
            // SAFETY: no poll in progress (checked above).
            attached(|_| unsafe { self.fut.drop_future() });
        }
    }

    /// The Python objects it holds (for `tp_traverse`).
    pub(crate) fn visit(&self, add: &mut dyn FnMut(*mut ffi::PyObject)) {
        add(self.parked.peek());
        if let Ok(slots) = self.slots.try_borrow() {
            slots.visit(add);
        }
    }

    /// Drops every reference (`tp_clear`), the future included.
    pub(crate) fn clear(&self) {
        self.unregister();
        self.drop_future();
        let slots = std::mem::take(&mut *self.slots.borrow_mut());
        drop(slots);
    }

    /// Leaves the private channel's waiters and drops its per-loop caches (they hold the event
    /// loop; a `Waker` kept by some thread keeps the channel alive, not the loop).
    pub(crate) fn unregister(&self) {
        if !self.hubbed.get() {
            return;
        }
        self.unpark();
        if let Some(hub) = self.hub_if_any() {
            attached(|_| {
                let stale = hub.consumer().clear();
                drop(stale);
            });
        }
    }

    /// Leaves the private channel's waiters (a no-op unless parked).
    fn unpark(&self) {
        let mut ctx = self.ctx.get();
        if ctx.is_none() {
            return;
        }
        if let Some(hub) = self.hub_if_any() {
            attached(|_| {
                park::resumed(hub, &self.parked, ctx);
                park::leave(hub, &self.parked, &mut ctx);
            });
            self.ctx.set(ctx);
        }
    }

    fn hub_if_any(&self) -> Option<&Arc<Shared>> {
        self.wake.shared.get()?.hub.get()
    }

    /// The private channel, made on the first park.
    fn hub(&self) -> PyResult<&Arc<Shared>> {
        let wake = self.wake.shared();
        if let Some(h) = wake.hub.get() {
            return Ok(h);
        }
        let hub = Shared::new(Config::new(1, 1, Overflow::Reject))?;
        self.hubbed.set(true);
        Ok(wake.hub.get_or_init(|| hub))
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
    let state = FutureState {
        fut: ErasedFuture::new(fut),
        wake: WakeState::default(),
        slots: RefCell::new(Slots::default()),
        parked: FutSlot::default(),
        ctx: Cell::new(None),
        hubbed: Cell::new(false),
        polling: Cell::new(false),
        discarded: Cell::new(false),
    };
    match object::alloc(Kind::Future(state), None) {
        Ok(o) => Ok(o.into_py(py).into_bound(py)),
        Err(e) => Err(e.into_pyerr(py)),
    }
}

/// core's `next_entry` for a future: one poll (counted as attached: it runs Rust code that is
/// not ours).
pub(crate) fn poll(obj: &ContObject, st: &FutureState) -> Result<Option<Entry>, Exc> {
    if !st.fut.is_live() {
        return Ok(None);
    }
    // Cleared before the poll: a wake during it shows up in `arm`. The borrowed waker's flag
    // is only set during a poll, so a plain store does; the owned wakers' flag (if a waker
    // was ever cloned) is ordered before the poll's reads.
    st.wake.woken_in_poll.store(false, Relaxed);
    if let Some(shared) = st.wake.shared.get() {
        shared.woken.store(false, SeqCst);
    }
    st.polling.set(true);
    st.discarded.set(false);
    // One attach for the poll and, when it finished, the future's drop (both run Rust code
    // that is not ours and may drop PyO3 references).
    let outcome = attached(|py| {
        let polled = {
            let _current = Current::enter(st);
            // SAFETY: the waker lives for this poll only; `st` is inside the object, which the
            // polling slot keeps alive and which never moves.
            let waker = unsafe { st.wake.borrowed() };
            let mut cx = Context::from_waker(&waker);
            // SAFETY: the future is inside the object (never moves); attached; `polling`
            // guards against re-entry.
            catch_unwind(AssertUnwindSafe(|| unsafe { st.fut.poll(&mut cx) }))
        };
        let outcome = match polled {
            Ok(Some(Poll::Pending)) => Ok(None),
            Ok(Some(Poll::Ready(Ok(v)))) => Ok(Some(Obj::from_py(v))),
            Ok(Some(Poll::Ready(Err(e)))) => Err(Exc::from_pyerr(py, e)),
            Ok(None) => Ok(Some(Obj::none())),
            Err(payload) => Err(Exc::panic(payload)),
        };
        st.polling.set(false);
        if !matches!(outcome, Ok(None)) || st.discarded.get() {
            // SAFETY: attached; the poll is over.
            unsafe { st.fut.drop_future() };
        }
        outcome
    });
    let (request, stale_reply) = {
        let mut slots = st.slots.borrow_mut();
        (slots.request.take(), slots.reply.take())
    };
    drop(stale_reply); // its `py_await` was dropped without taking it
    let done = match outcome {
        // Pending, and not cancelled from inside its own poll.
        Ok(None) if !st.discarded.get() => {
            return Ok(Some(match request {
                Some((id, awaitable)) => {
                    Entry::await_(awaitable, OnResult::Reply(id), OnError::Reply(id))
                }
                None => Entry::Wait { parker: None },
            }));
        }
        Ok(Some(v)) => {
            drop(obj.d.result.replace(Some(v)));
            Ok(None)
        }
        // Cancelled from inside its poll: the step completes with nothing more to run.
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    st.discarded.set(false);
    st.drop_future();
    if let Some((_, awaitable)) = request {
        iter::close_unstarted(&awaitable);
    }
    st.unregister();
    done
}

/// core's `start` of a wait entry: park, then look at `woken` (a wake that came before the
/// park could reach us means "poll again", not "wait").
pub(crate) fn arm(st: &FutureState, parker: &mut Option<Obj>) -> Result<Started, Exc> {
    attached(|py| {
        let hub = st.hub().map_err(|e| Exc::from_pyerr(py, e))?;
        loop {
            let mut ctx = st.ctx.get();
            let parked = park::park(py, hub, &st.parked, &mut ctx);
            st.ctx.set(ctx);
            let parked = match parked {
                Ok(p) => p,
                Err(e) => {
                    st.unpark();
                    return Err(Exc::from_pyerr(py, e));
                }
            };
            let woken_in_poll = st.wake.woken_in_poll.swap(false, SeqCst);
            if woken_in_poll | st.wake.shared().woken.swap(false, SeqCst) {
                st.unpark();
                return Ok(Started::Skipped);
            }
            match parked {
                // The hook was pointed at this context just now: park again (no retarget now).
                Parked::Recheck => continue,
                Parked::Yield(p) => {
                    *parker = Some(Obj::from_py(p));
                    return Ok(Started::Awaiting);
                }
            }
        }
    })
}

/// core's `send` into a wait entry: the first yields the parker; the next (the wake came, or
/// a spurious resume) ends the wait, and the future is polled again. Under trio the value
/// sent is the wait's `outcome`: a cancel raises out of the wait, like a `throw`.
pub(crate) fn wait_send(
    obj: &ContObject,
    parker: &mut Option<Obj>,
    value: &Obj,
) -> Inner<Obj, Exc> {
    if let Some(p) = parker.take() {
        return Inner::Yielded(p);
    }
    let sent = match &obj.d.kind {
        Kind::Future(st) => attached(|py| {
            park::outcome(py, st.ctx.get(), Some(&value.bind(py)))
                .map_err(|e| Exc::from_pyerr(py, e))
        }),
        _ => Ok(()),
    };
    unpark(obj);
    match sent {
        Ok(()) => Inner::Returned(Obj::none()),
        Err(e) => Inner::Raised(e),
    }
}

/// Ends a wait (throw, close, cancel).
pub(crate) fn unpark(obj: &ContObject) {
    if let Kind::Future(st) = &obj.d.kind {
        st.unpark();
    }
}

/// An await entry of the future finished: its outcome waits for the `py_await` with `id`.
pub(crate) fn reply(obj: &ContObject, id: u64, outcome: Result<Obj, Exc>) {
    if let Kind::Future(st) = &obj.d.kind {
        let old = st.slots.borrow_mut().reply.replace((id, outcome));
        drop(old);
    }
}

/// core's `discard_pending`: drop the future (its drop code runs now).
pub(crate) fn discard(st: &FutureState) {
    st.drop_future();
    let slots = std::mem::take(&mut *st.slots.borrow_mut());
    st.unregister();
    drop(slots);
}
