//! A Rust future as a native awaitable, with no executor: it is polled from `send()` /
//! `iternext` (core's `next_entry`), on the VM thread that awaits it. The frame is core's
//! (`cont` docs, "A Rust future as the host"):
//!
//! - `Ready(Ok(v))` → the result; `Ready(Err(e))` → raised.
//! - `Pending` after [`py_await`](super::pyawait::py_await) asked for a MicroPython awaitable →
//!   an await entry whose outcome goes to the reply slot the sub-future returns on the next
//!   poll.
//! - `Pending` otherwise → a wait entry: the awaitable registers with asyncio's I/O queue (as
//!   a channel receive does) and yields; its `Waker` (`waker.rs`) makes it readable: on unix
//!   through the slot's eventfd (the loop sleeps in `poll()`), elsewhere through
//!   `ioctl(MP_STREAM_POLL)` and the port's wake hook.
//!
//! Memory: the future lives in one GC block (a [`FutureHeader`], then the future), allocated
//! with MicroPython's non-raising allocator and referenced from the awaitable, so the
//! collector keeps it and scans it: `Obj`s inside the future stay alive. It is never moved
//! (pinned in place) and is dropped in place when it finishes, is closed, cancelled or thrown
//! into. A panic aborts (the staticlib is `panic = "abort"`: nothing may unwind into C).

use core::cell::Cell;
use core::future::Future;
use core::mem::{align_of, size_of};
use core::pin::Pin;
use core::ptr;
use core::task::{Context, Poll};

use awaitq_core::{ContError, Inner, Started};

use super::entry::{Body, Entry, OnError, OnResult};
use super::iter;
use super::obj::{call, cont_error, memory_error, new_exc, Obj};
use super::object::{self, Cont, Kind};
use super::waker;
use crate::error;
use crate::ffi;

/// What a Rust future on MicroPython returns: a value, or an exception instance to raise.
pub type MpResult = Result<Obj, Obj>;

/// The header of a future's block: how to poll and drop the type-erased future after it,
/// and what the future's `py_await`s share with the host.
pub(crate) struct FutureHeader {
    poll: unsafe fn(*mut FutureHeader, &mut Context<'_>) -> Poll<MpResult>,
    drop: unsafe fn(*mut FutureHeader),
    /// The future is there (not yet dropped).
    live: Cell<bool>,
    /// A poll is in progress; a discard meanwhile drops the future after it.
    polling: Cell<bool>,
    discarded: Cell<bool>,
    /// The awaitable asked for in this poll, with its request id (0: none).
    pub(crate) request: Cell<(u32, Obj)>,
    /// The outcome of the awaitable requested with that id (0: none).
    pub(crate) reply: Cell<(u32, MpResult)>,
    pub(crate) next_id: Cell<u32>,
}

#[repr(C)]
struct FutureBlock<F> {
    head: FutureHeader,
    fut: F,
}

/// GC blocks are aligned to 16 bytes at least.
const BLOCK_ALIGN: usize = 16;

unsafe fn poll_impl<F: Future<Output = MpResult>>(
    hdr: *mut FutureHeader,
    cx: &mut Context<'_>,
) -> Poll<MpResult> {
    // SAFETY: `hdr` starts a FutureBlock<F> (repr(C): the header first) whose future is live;
    // the block is never moved, so pinning the future in place is sound.
    unsafe {
        let fut = &mut (*hdr.cast::<FutureBlock<F>>()).fut;
        Pin::new_unchecked(fut).poll(cx)
    }
}

unsafe fn drop_impl<F>(hdr: *mut FutureHeader) {
    // SAFETY: `hdr` starts a FutureBlock<F> whose future is live; dropped once, in place.
    unsafe { ptr::drop_in_place(&mut (*hdr.cast::<FutureBlock<F>>()).fut) }
}

/// A Rust future as a MicroPython awaitable, with no executor: awaiting the returned object
/// polls `fut` from the awaiting task; its `Waker` may be called from any thread or ISR.
/// Inside `fut`, [`py_await`](super::pyawait::py_await) awaits MicroPython awaitables.
///
/// Cancellation (`task.cancel()`, a `wait_for` timeout) reaches `fut` as the
/// `Err(CancelledError)` of the `py_await` in progress (after the awaited coroutine's
/// `except`/`finally` ran), or, while `fut` waits on its `Waker`, as its drop. `close()` drops
/// `fut`. An awaitable abandoned unfinished is freed by the collector without dropping `fut`
/// (MicroPython never finalises an abandoned generator either); its wake slot is reclaimed.
///
/// `Err` (never raised: C raises it): `MemoryError`, or `RuntimeError` when every wake slot
/// is taken by a live future. Call it from the VM thread.
///
/// What `fut` may hold: `Obj`s (its block is scanned), plain data, `Waker`s. Not: Rust heap
/// memory holding `Obj`s (there is no global allocator here, and memory outside the GC heap is
/// not scanned), references into MicroPython objects without their `Obj`.
pub fn future_into_mp<F>(fut: F) -> Result<Obj, Obj>
where
    F: Future<Output = MpResult> + 'static,
{
    const { assert!(align_of::<FutureBlock<F>>() <= BLOCK_ALIGN) };
    let Some(wake) = waker::acquire() else {
        return Err(new_exc(&error::Kind(
            ffi::AWAITQ_MP_EXC_RUNTIME,
            "awaitq: every wake slot is taken by a live Rust future",
        )));
    };
    let made = make(fut, wake);
    if made.is_err() {
        waker::release(wake);
    }
    made
}

fn make<F>(fut: F, wake: waker::Handle) -> Result<Obj, Obj>
where
    F: Future<Output = MpResult> + 'static,
{
    let obj = object::alloc(Kind::Future, Obj::NULL, true)?;
    // `obj` and `fut` are locals while this allocates: on the stack the collector scans.
    // SAFETY: never raises; NULL when out of memory.
    let block = unsafe { ffi::awaitq_mp_sys_alloc(size_of::<FutureBlock<F>>().max(1)) };
    if block.is_null() {
        return Err(memory_error());
    }
    let block = block.cast::<FutureBlock<F>>();
    // SAFETY: a fresh block of the right size and alignment (checked above), ours alone.
    unsafe {
        block.write(FutureBlock {
            head: FutureHeader {
                poll: poll_impl::<F>,
                drop: drop_impl::<F>,
                live: Cell::new(true),
                polling: Cell::new(false),
                discarded: Cell::new(false),
                request: Cell::new((0, Obj::NULL)),
                reply: Cell::new((0, Ok(Obj::NULL))),
                next_id: Cell::new(0),
            },
            fut,
        })
    };
    // SAFETY: made just now by `alloc`, alive (a local).
    let c = unsafe { Cont::from_raw(obj.to_ptr()) };
    c.st.ext.set(block.cast());
    c.st.wake.set(wake);
    Ok(obj)
}

fn header<'a>(c: Cont<'a>) -> Option<&'a FutureHeader> {
    // SAFETY: a future's `ext` is null or its block (a FutureHeader first), kept alive by the
    // object.
    unsafe { c.st.ext.get().cast::<FutureHeader>().as_ref() }
}

/// Drops the future in place (after the poll, if one is in progress) and gives its wake slot
/// back.
fn drop_future(c: Cont<'_>, h: &FutureHeader) {
    if h.polling.get() {
        h.discarded.set(true);
        return;
    }
    if h.live.replace(false) {
        // SAFETY: our block, its future live, no poll in progress.
        unsafe { (h.drop)(ptr::from_ref(h).cast_mut()) };
    }
    let wake = c.st.wake.replace(0);
    if wake != 0 {
        waker::release(wake);
    }
}

/// core's `next_entry` for a future: one poll.
pub(crate) fn poll(c: Cont<'_>) -> Result<Option<Entry>, Obj> {
    let Some(h) = header(c) else { return Ok(None) };
    if !h.live.get() {
        return Ok(None);
    }
    let wake = c.st.wake.get();
    // Cleared before the poll: a wake during it shows in `arm`.
    waker::clear(wake);
    h.polling.set(true);
    h.discarded.set(false);
    let hp = ptr::from_ref(h).cast_mut();
    waker::set_current(wake, hp);
    let w = waker::make(wake);
    let mut cx = Context::from_waker(&w);
    // SAFETY: our block, its future live; `polling` refuses re-entry (core refuses resuming a
    // running awaitable, so the future is never polled from inside its own poll).
    let polled = unsafe { (h.poll)(hp, &mut cx) };
    waker::set_current(wake, ptr::null_mut());
    h.polling.set(false);
    let (id, request) = h.request.replace((0, Obj::NULL));
    let _stale = h.reply.replace((0, Ok(Obj::NULL))); // its py_await was dropped unread
    let done = match polled {
        Poll::Pending if !h.discarded.get() => {
            let entry = if id != 0 {
                c.await_entry(request, OnResult::Reply(id), OnError::Reply(id))
            } else {
                c.entry(Body::Wait {
                    yielded: Cell::new(false),
                })
            };
            match entry {
                Ok(e) => return Ok(Some(e)),
                Err(e) => Err(e),
            }
        }
        // Cancelled from inside its own poll: the step completes with nothing more to run.
        Poll::Pending => Ok(None),
        Poll::Ready(Ok(v)) => {
            c.st.result.set(v);
            Ok(None)
        }
        Poll::Ready(Err(e)) => Err(e),
    };
    h.discarded.set(false);
    drop_future(c, h);
    if id != 0 {
        iter::close_unstarted(request);
    }
    done
}

/// core's `start` of a wait entry: unless already woken, drain the slot's fd, register with
/// asyncio, then look at `woken` again (a wake that came before the registration means "poll
/// again", not "wait").
pub(crate) fn arm(c: Cont<'_>) -> Result<Started, Obj> {
    let wake = c.st.wake.get();
    if waker::woken(wake) {
        return Ok(Started::Skipped); // woken during the poll (by itself, or already)
    }
    waker::drain(wake);
    // SAFETY: a live awaitable; never raises.
    call(|out| unsafe { ffi::awaitq_mp_call_park(c.raw(), out) }).value(Obj::none)?;
    if waker::woken(wake) {
        unpark(c);
        return Ok(Started::Skipped);
    }
    Ok(Started::Awaiting)
}

/// core's `send` into a wait entry: the first yields (after `arm` registered); the next (the
/// wake came, or a spurious resume) ends the wait, and the future is polled again.
pub(crate) fn wait_send(c: Cont<'_>, yielded: &Cell<bool>) -> Inner<Obj, Obj> {
    if !yielded.replace(true) {
        return Inner::Yielded(Obj::none());
    }
    unpark(c);
    Inner::Returned(Obj::none())
}

/// Ends a wait (resumed, thrown into, closed, cancelled): leaves asyncio's I/O queue.
pub(crate) fn unpark(c: Cont<'_>) {
    // SAFETY: a live awaitable; never raises.
    unsafe { ffi::awaitq_mp_call_unpark(c.raw()) };
}

/// An await entry of the future finished: its outcome waits for the `py_await` with `id`.
pub(crate) fn reply(c: Cont<'_>, id: u32, outcome: MpResult) {
    if let Some(h) = header(c) {
        h.reply.set((id, outcome));
    }
}

/// core's `discard_pending`: drop the future (its drop code runs now).
pub(crate) fn discard(c: Cont<'_>) {
    unpark(c);
    if let Some(h) = header(c) {
        let (id, request) = h.request.replace((0, Obj::NULL));
        h.reply.set((0, Ok(Obj::NULL)));
        drop_future(c, h);
        if id != 0 {
            iter::close_unstarted(request);
        }
    }
}

/// `ioctl(MP_STREAM_POLL)`: readable once a waiting future's `Waker` fired.
pub(crate) fn woken(c: Cont<'_>) -> bool {
    c.st.kind == Kind::Future && waker::woken(c.st.wake.get())
}

/// `MP_STREAM_GET_FILENO`: the wake slot's fd.
pub(crate) fn wake_fd(c: Cont<'_>) -> i32 {
    if c.st.kind == Kind::Future {
        waker::fd(c.st.wake.get())
    } else {
        -1
    }
}

/// The awaitable was collected: give its wake slot back (the future itself is not dropped:
/// what it references may already be gone in the same collection).
pub(crate) fn finalise(c: Cont<'_>) {
    let wake = c.st.wake.replace(0);
    if wake != 0 {
        waker::release(wake);
    }
}

/// The error a `py_await` reports for a misuse.
pub(crate) fn misuse(e: ContError) -> Obj {
    cont_error(e)
}
