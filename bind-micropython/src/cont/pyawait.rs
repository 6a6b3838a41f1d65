//! `py_await(obj).await` inside a Rust future that [`future_into_mp`](super::future_into_mp)
//! runs: the sub-future puts `obj` in the request slot of the future being polled (found
//! through the `Waker` of the poll, `waker::current`), and returns the outcome the host leaves
//! in the reply slot.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use awaitq_core::ContError;

use super::future::{misuse, FutureHeader, MpResult};
use super::obj::Obj;
use super::waker;

/// The future of [`py_await`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct PyAwait {
    /// The awaitable until it is asked for (then `MP_OBJ_NULL`).
    obj: Obj,
    /// The request id once asked (0 before).
    id: u32,
}

/// Awaits a MicroPython awaitable (a coroutine, a generator, an asyncio object, anything
/// with `__await__` or the iterator protocol) from a Rust future run by
/// [`future_into_mp`](super::future_into_mp): what it yields goes to the event loop or
/// scheduler unchanged, its value or exception comes back here (`Err(CancelledError)` when
/// the task is cancelled meanwhile, after the coroutine's `except`/`finally` ran).
///
/// One at a time: a second `py_await` polled while one is asked for (`join` of two) is
/// `Err(RuntimeError)`. Polled with a `Context` that is not awaitq's (another executor):
/// `Err(RuntimeError)`.
pub fn py_await(obj: Obj) -> PyAwait {
    PyAwait { obj, id: 0 }
}

impl Future for PyAwait {
    type Output = MpResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MpResult> {
        let me = self.get_mut();
        let Some(h) = waker::current(cx.waker()) else {
            return Poll::Ready(Err(misuse(ContError::NotInFuture)));
        };
        // SAFETY: `current` returns a header only during its future's poll (this call is
        // inside it), pointing into the future's block, which the awaitable being polled
        // keeps alive; only this VM thread touches it meanwhile.
        let h: &FutureHeader = unsafe { &*h };
        if me.id != 0 {
            let (id, outcome) = h.reply.get();
            if id == me.id {
                h.reply.set((0, Ok(Obj::NULL)));
                me.id = 0;
                return Poll::Ready(outcome);
            }
            return Poll::Pending;
        }
        if h.request.get().0 != 0 {
            return Poll::Ready(Err(misuse(ContError::OneAwaitAtATime)));
        }
        if me.obj.is_null() {
            return Poll::Ready(Err(misuse(ContError::Exhausted)));
        }
        let id = h.next_id.get().wrapping_add(1).max(1);
        h.next_id.set(id);
        h.request.set((id, me.obj));
        me.obj = Obj::NULL;
        me.id = id;
        Poll::Pending
    }
}
