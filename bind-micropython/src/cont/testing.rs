//! Rust futures for `awaitq.testing.cont` (csrc/testing_cont.c, unix test build): each is made
//! with [`future_into_mp`] and counted while alive, so the tests can see drops. Also the
//! `Signal` a native pthread sets. Unused (and dropped by the linker) elsewhere.

use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::pin::pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use critical_section::Mutex;

use super::{call, future_into_mp, py_await, MpResult, Obj};
use crate::ffi::{awaitq_mp_signal_state_t, mp_obj_t};

/// Futures alive (VM thread only: load + store, no read-modify-write needed).
static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Live;

impl Live {
    fn new() -> Self {
        LIVE.store(LIVE.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.store(LIVE.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
    }
}

/// Makes the awaitable; `*out` is it, or the exception C raises (`false`).
fn made(r: Result<Obj, Obj>, out: *mut mp_obj_t) -> bool {
    let (ok, v) = match r {
        Ok(v) => (true, v),
        Err(e) => (false, e),
    };
    // SAFETY: every caller passes C's writable out-parameter.
    unsafe { *out = v.raw() };
    ok
}

fn spawn(fut: impl Future<Output = MpResult> + 'static, out: *mut mp_obj_t) -> bool {
    made(future_into_mp(fut), out)
}

/// Rust futures alive now.
#[no_mangle]
pub extern "C" fn awaitq_mp_testing_live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// `async { value }`.
///
/// # Safety
/// VM thread; `value` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_ready(value: mp_obj_t, out: *mut mp_obj_t) -> bool {
    let value = Obj::from_raw(value);
    spawn(
        async move {
            let _live = Live::new();
            Ok(value)
        },
        out,
    )
}

/// `for a in items: append(await a)`, then `result`. `keep` holds `items` (a tuple).
///
/// # Safety
/// VM thread; `items` points to `n` objects inside `keep`, which is live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_await_each(
    keep: mp_obj_t,
    items: *const mp_obj_t,
    n: usize,
    append: mp_obj_t,
    result: mp_obj_t,
    out: *mut mp_obj_t,
) -> bool {
    let (keep, append, result) = (
        Obj::from_raw(keep),
        Obj::from_raw(append),
        Obj::from_raw(result),
    );
    let items = items.cast::<Obj>();
    spawn(
        async move {
            let _live = Live::new();
            let _keep = keep; // the tuple the items live in: kept in the (scanned) future
            for i in 0..n {
                // SAFETY: `i < n` items of the tuple `keep` holds, immutable.
                let a = unsafe { *items.add(i) };
                let v = py_await(a).await?;
                call(append, &[v])?;
            }
            Ok(result)
        },
        out,
    )
}

/// `await a`, with its exception as the value.
///
/// # Safety
/// VM thread; `a` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_await_catching(a: mp_obj_t, out: *mut mp_obj_t) -> bool {
    let a = Obj::from_raw(a);
    spawn(
        async move {
            let _live = Live::new();
            Ok(py_await(a).await.unwrap_or_else(|e| e))
        },
        out,
    )
}

/// Two `py_await`s polled at once (`join`): the second is refused.
///
/// # Safety
/// VM thread; live objects; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_join_two(
    a: mp_obj_t,
    b: mp_obj_t,
    out: *mut mp_obj_t,
) -> bool {
    let (a, b) = (Obj::from_raw(a), Obj::from_raw(b));
    spawn(
        async move {
            let _live = Live::new();
            let (mut fa, mut fb) = (py_await(a), py_await(b));
            let (mut ra, mut rb) = (None, None);
            poll_fn(|cx| {
                if ra.is_none() {
                    if let Poll::Ready(r) = pin!(&mut fa).poll(cx) {
                        ra = Some(r);
                    }
                }
                if rb.is_none() {
                    if let Poll::Ready(r) = pin!(&mut fb).poll(cx) {
                        rb = Some(r);
                    }
                }
                match (ra, rb) {
                    (Some(Err(e)), _) | (_, Some(Err(e))) => Poll::Ready(Err(e)),
                    (Some(Ok(x)), Some(Ok(_))) => Poll::Ready(Ok(x)),
                    _ => Poll::Pending,
                }
            })
            .await
        },
        out,
    )
}

/// Polls `py_await(a)` with a `Context` that is not awaitq's: returns its error.
///
/// # Safety
/// VM thread; `a` live.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_poll_outside(a: mp_obj_t) -> mp_obj_t {
    // SAFETY: the vtable's functions do nothing with the (null) data word.
    let waker = unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &NOOP)) };
    let mut cx = Context::from_waker(&waker);
    match pin!(py_await(Obj::from_raw(a))).poll(&mut cx) {
        Poll::Ready(Err(e)) => e.raw(),
        _ => Obj::none().raw(),
    }
}

/// Another executor's waker (what `py_await` must refuse).
static NOOP: RawWakerVTable =
    RawWakerVTable::new(|p| RawWaker::new(p, &NOOP), |_| {}, |_| {}, |_| {});

/// Wakes itself `n` times (each poll: wake, then Pending), then returns `value`: the host
/// polls again at once, never yielding to the driver.
///
/// # Safety
/// VM thread; `value` live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_yield_now(
    n: usize,
    value: mp_obj_t,
    out: *mut mp_obj_t,
) -> bool {
    let value = Obj::from_raw(value);
    spawn(
        async move {
            let _live = Live::new();
            let mut left = n;
            poll_fn(|cx| {
                if left == 0 {
                    return Poll::Ready(Ok(value));
                }
                left -= 1;
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await
        },
        out,
    )
}

/// A signal a native thread sets: its count of sets, and the waker of the future waiting.
pub struct SignalState {
    inner: Mutex<RefCell<(u32, Option<Waker>)>>,
}

/// Bytes C allocates for a signal's state.
#[no_mangle]
pub extern "C" fn awaitq_mp_testing_signal_size() -> usize {
    core::mem::size_of::<SignalState>()
}

/// Writes a fresh state at `p`.
///
/// # Safety
/// `p` is writable for `awaitq_mp_testing_signal_size()` bytes, 8-aligned.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_signal_init(p: *mut awaitq_mp_signal_state_t) {
    // SAFETY: per the contract.
    unsafe {
        p.cast::<SignalState>().write(SignalState {
            inner: Mutex::new(RefCell::new((0, None))),
        })
    };
}

/// One set, from any thread: counts it and wakes the waiting future (outside the lock).
///
/// # Safety
/// `p` is an initialised state whose object is kept alive meanwhile.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_signal_set(p: *const awaitq_mp_signal_state_t) {
    // SAFETY: per the contract.
    let st = unsafe { &*p.cast::<SignalState>() };
    let waker = critical_section::with(|cs| {
        let mut s = st.inner.borrow_ref_mut(cs);
        s.0 += 1;
        s.1.take()
    });
    if let Some(w) = waker {
        w.wake();
    }
}

/// Waits for `times` sets of the signal `sig` (state `p`), then returns `value`.
///
/// # Safety
/// VM thread; `p` is the state of the live signal object `sig`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_testing_wait_signal(
    sig: mp_obj_t,
    p: *const awaitq_mp_signal_state_t,
    value: mp_obj_t,
    times: u32,
    out: *mut mp_obj_t,
) -> bool {
    let p = p.cast::<SignalState>();
    let (sig, value) = (Obj::from_raw(sig), Obj::from_raw(value));
    spawn(
        async move {
            let _live = Live::new();
            let _sig = sig; // keeps the signal (and its state) alive: the future is scanned
            for _ in 0..times {
                poll_fn(|cx| {
                    // SAFETY: the state of `sig`, which the future keeps alive.
                    let st = unsafe { &*p };
                    critical_section::with(|cs| {
                        let mut s = st.inner.borrow_ref_mut(cs);
                        if s.0 > 0 {
                            s.0 -= 1;
                            Poll::Ready(())
                        } else {
                            s.1 = Some(cx.waker().clone());
                            Poll::Pending
                        }
                    })
                })
                .await;
            }
            Ok(value)
        },
        out,
    )
}
