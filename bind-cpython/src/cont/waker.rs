//! The `Waker` of a Rust future run by [`future_into_py`](super::future_into_py), in two
//! forms, so that a future that never keeps its waker costs no allocation and no atomic
//! reference count:
//!
//! - the **borrowed** waker handed to each poll points at the future's own state inside the
//!   awaitable object. It cannot outlive the poll (a `Context` lends it), so it needs no
//!   count; `wake_by_ref` on it sets a flag the poll's caller reads.
//! - cloning it makes an **owned** waker: an `Arc<FutureWake>`, made on the first clone and
//!   shared by every later one. It may live on any thread and outlive the awaitable: it keeps
//!   only the wake flag and the private channel its wake goes through, never the future.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::shared::Shared;

/// What an owned waker reaches: `woken` first (a wake during a poll or a park is never
/// lost), then the private channel's hook, if the future has parked once.
#[derive(Default)]
pub(crate) struct FutureWake {
    pub(crate) woken: AtomicBool,
    pub(crate) hub: OnceLock<Arc<Shared>>,
}

impl FutureWake {
    fn fire(&self) {
        self.woken.store(true, SeqCst);
        if let Some(hub) = self.hub.get() {
            hub.wake.fire();
        }
    }
}

/// The part of a future's state its borrowed waker reaches; `Sync` parts only (a poll may
/// hand the waker to a scoped thread).
#[derive(Default)]
pub(crate) struct WakeState {
    /// `wake_by_ref` on the borrowed waker during the poll.
    pub(crate) woken_in_poll: AtomicBool,
    /// The owned wakers' state, made on the first clone (or the first park).
    pub(crate) shared: OnceLock<Arc<FutureWake>>,
}

impl WakeState {
    pub(crate) fn shared(&self) -> &Arc<FutureWake> {
        self.shared.get_or_init(Arc::default)
    }

    /// The waker for one poll.
    ///
    /// # Safety
    /// The returned waker (and anything borrowed from it) is used only while `self` is alive
    /// and does not move: for the length of one poll.
    pub(crate) unsafe fn borrowed(&self) -> Waker {
        let data = (self as *const Self).cast::<()>();
        // SAFETY: BORROWED's functions treat `data` as a `&WakeState`, valid per the contract;
        // they are thread-safe (atomics and a OnceLock).
        unsafe { Waker::from_raw(RawWaker::new(data, &BORROWED)) }
    }
}

static BORROWED: RawWakerVTable =
    RawWakerVTable::new(borrowed_clone, borrowed_wake, borrowed_wake, borrowed_drop);
static OWNED: RawWakerVTable =
    RawWakerVTable::new(owned_clone, owned_wake, owned_wake_by_ref, owned_drop);

unsafe fn borrowed_clone(data: *const ()) -> RawWaker {
    // SAFETY: a borrowed waker's data is a live `WakeState` (`WakeState::borrowed`).
    let st = unsafe { &*data.cast::<WakeState>() };
    let owned = Arc::into_raw(Arc::clone(st.shared()));
    RawWaker::new(owned.cast(), &OWNED)
}

/// `wake` and `wake_by_ref`: a borrowed waker is never owned, so `wake` (which consumes an
/// owned waker) only gets here through `Waker::wake_by_ref`-like use; neither releases.
unsafe fn borrowed_wake(data: *const ()) {
    // SAFETY: as in borrowed_clone.
    let st = unsafe { &*data.cast::<WakeState>() };
    st.woken_in_poll.store(true, SeqCst);
}

unsafe fn borrowed_drop(_: *const ()) {}

unsafe fn owned_clone(data: *const ()) -> RawWaker {
    // SAFETY: an owned waker's data came from `Arc::into_raw` of an `Arc<FutureWake>` whose
    // count includes this waker.
    unsafe { Arc::increment_strong_count(data.cast::<FutureWake>()) };
    RawWaker::new(data, &OWNED)
}

unsafe fn owned_wake(data: *const ()) {
    // SAFETY: as in owned_clone; `wake` consumes this waker's count.
    let w = unsafe { Arc::from_raw(data.cast::<FutureWake>()) };
    w.fire();
}

unsafe fn owned_wake_by_ref(data: *const ()) {
    // SAFETY: as in owned_clone; the count is not consumed.
    unsafe { &*data.cast::<FutureWake>() }.fire();
}

unsafe fn owned_drop(data: *const ()) {
    // SAFETY: as in owned_clone; dropping releases this waker's count.
    drop(unsafe { Arc::from_raw(data.cast::<FutureWake>()) });
}
