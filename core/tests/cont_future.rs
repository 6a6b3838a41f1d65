//! The frame documented in `cont` for a Rust `async fn` exposed as an awaitable, with no
//! executor: the host's `next_entry` polls the future; a sub-future awaiting a (scripted)
//! Python awaitable puts it in a request slot and gets its outcome from a reply slot; a future
//! pending on anything else parks on a *wait* entry that its `Waker` completes through a
//! [`WakeHook`]. Cancellation reaches the future as an error or as its drop.

mod cont_host;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use awaitq_core::{ContInput, ContStep, Continuation, Host, Inner, Started, WakeHook};
use cont_host::{ent, exc, Act, Ent, Exc, V};
use ContInput::{Close, Send, Throw};

/// Wake-ups that reached the hook, per test (`ctx` is the index).
static WAKES: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

extern "C" fn count_wake(ctx: usize) {
    WAKES[ctx].fetch_add(1, SeqCst);
}

/// The future's `Waker`: sets `woken` (so a wake during the poll is not lost) and calls the
/// hook, the path a producer thread uses; no GIL, no Python.
struct HookWaker {
    hook: WakeHook,
    woken: Arc<AtomicBool>,
}

impl Wake for HookWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.hook.call();
    }
}

/// What the sub-future and the host share.
#[derive(Default)]
struct Slots {
    request: Option<Ent>,
    reply: Option<Result<V, Exc>>,
}

/// `py_await(obj).await` inside the future.
struct PyAwait {
    slots: Rc<RefCell<Slots>>,
    obj: Option<Ent>,
}

impl Future for PyAwait {
    type Output = Result<V, Exc>;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slots = self.slots.borrow_mut();
        if let Some(reply) = slots.reply.take() {
            return Poll::Ready(reply);
        }
        drop(slots);
        if let Some(obj) = self.obj.take() {
            self.slots.borrow_mut().request = Some(obj);
        }
        Poll::Pending
    }
}

/// A oneshot a Rust producer (another thread) completes.
#[derive(Clone, Default)]
struct Signal(Arc<Mutex<(bool, Option<Waker>)>>);

impl Signal {
    fn set(&self) {
        let waker = {
            let mut s = self.0.lock().unwrap();
            s.0 = true;
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut s = self.0.lock().unwrap();
            if s.0 {
                Poll::Ready(())
            } else {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Yields once to the driver-less loop: wakes itself, then is pending once.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Sets a flag when dropped: the future's locals are dropped when the future is.
struct DropFlag(Rc<RefCell<bool>>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

/// The `async fn`'s future, boxed by the binding (not `Send`: it lives in the awaitable).
type RustFuture = Pin<Box<dyn Future<Output = Result<V, Exc>>>>;

enum FEntry {
    /// Awaiting a Python awaitable the future asked for.
    Py(Ent),
    /// Parked until the future's waker fires: the inner is the binding's parking awaitable.
    Wait(Ent),
}

struct FutureHost {
    fut: Option<RustFuture>,
    slots: Rc<RefCell<Slots>>,
    waker: Waker,
    woken: Arc<AtomicBool>,
    result: V,
    log: Vec<String>,
    /// The script of the parking awaitable (entry 99): by default it yields -1 (a future the
    /// event loop waits on) and returns when resumed.
    parker: Vec<Act>,
}

impl FutureHost {
    fn new<F>(ctx: usize, make: impl FnOnce(Rc<RefCell<Slots>>) -> F) -> Self
    where
        F: Future<Output = Result<V, Exc>> + 'static,
    {
        let slots = Rc::new(RefCell::new(Slots::default()));
        let woken = Arc::new(AtomicBool::new(false));
        let waker = Waker::from(Arc::new(HookWaker {
            hook: WakeHook {
                func: count_wake,
                ctx,
            },
            woken: woken.clone(),
        }));
        Self {
            fut: Some(Box::pin(make(slots.clone()))),
            slots,
            waker,
            woken,
            result: None,
            log: Vec::new(),
            parker: vec![Act::Yield(-1), Act::Return(0)],
        }
    }
}

fn py_await(slots: &Rc<RefCell<Slots>>, obj: Ent) -> PyAwait {
    PyAwait {
        slots: slots.clone(),
        obj: Some(obj),
    }
}

impl Host for FutureHost {
    type Value = V;
    type Error = Exc;
    type Entry = FEntry;

    fn next_entry(&mut self) -> Result<Option<FEntry>, Exc> {
        let Some(fut) = self.fut.as_mut() else {
            return Ok(None);
        };
        self.log.push("poll".into());
        // Cleared before the poll: a wake during it shows up in `start`.
        self.woken.store(false, SeqCst);
        let mut cx = Context::from_waker(&self.waker);
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        match polled {
            Ok(Poll::Ready(Ok(v))) => {
                self.fut = None;
                self.result = v;
                Ok(None)
            }
            Ok(Poll::Ready(Err(e))) => {
                self.fut = None;
                Err(e)
            }
            Err(_) => {
                self.fut = None;
                Err(exc("PanicException"))
            }
            Ok(Poll::Pending) => Ok(Some(match self.slots.borrow_mut().request.take() {
                Some(obj) => FEntry::Py(obj),
                None => FEntry::Wait(ent(99).acts(self.parker.clone())),
            })),
        }
    }

    fn start(&mut self, entry: &mut FEntry) -> Result<Started, Exc> {
        match entry {
            FEntry::Wait(_) if self.woken.swap(false, SeqCst) => {
                self.log.push("woken already".into());
                Ok(Started::Skipped)
            }
            _ => Ok(Started::Awaiting),
        }
    }

    fn send(&mut self, entry: &mut FEntry, value: V) -> Inner<V, Exc> {
        match entry {
            FEntry::Py(e) | FEntry::Wait(e) => {
                self.log.push(format!("send {} {value:?}", e.id));
                e.step(value, None)
            }
        }
    }

    fn throw(&mut self, entry: &mut FEntry, error: Exc) -> Inner<V, Exc> {
        match entry {
            FEntry::Py(e) | FEntry::Wait(e) => {
                self.log.push(format!("throw {} {}", e.id, error.msg));
                e.step(None, Some(error))
            }
        }
    }

    fn close_inner(&mut self, entry: FEntry) -> Result<(), Exc> {
        match entry {
            FEntry::Py(e) | FEntry::Wait(e) => self.log.push(format!("close {}", e.id)),
        }
        Ok(())
    }

    fn on_result(&mut self, entry: FEntry, value: V) -> Result<(), Exc> {
        if let FEntry::Py(_) = entry {
            self.slots.borrow_mut().reply = Some(Ok(value));
        }
        Ok(())
    }

    fn on_error(&mut self, entry: FEntry, error: Exc) -> Result<(), Exc> {
        match entry {
            // The future decides what an error of its await means.
            FEntry::Py(_) => {
                self.slots.borrow_mut().reply = Some(Err(error));
                Ok(())
            }
            // Thrown in while parked on a Rust wait: nothing in the future can catch it.
            FEntry::Wait(_) => Err(error),
        }
    }

    fn discard_pending(&mut self) {
        if self.fut.take().is_some() {
            self.log.push("drop future".into());
        }
    }

    fn take_result(&mut self) -> V {
        self.result.take()
    }

    fn none(&self) -> V {
        None
    }

    fn is_none(&self, value: &V) -> bool {
        value.is_none()
    }
}

#[test]
fn awaits_python_awaitables_then_parks_on_its_waker_then_returns() {
    let signal = Signal::default();
    let sig = signal.clone();
    let mut host = FutureHost::new(0, move |slots| async move {
        let a = py_await(&slots, ent(1).acts([Act::Yield(10), Act::ReturnSent])).await?;
        sig.wait().await;
        let b = py_await(&slots, ent(2).acts([Act::Return(2)])).await?;
        Ok(Some(a.unwrap() + b.unwrap()))
    });
    let cont = Continuation::new();
    // The Python awaitable's yield passes up; the driver's value passes down to it.
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Yield(Some(10))
    );
    // Its result reaches the future, which now waits on a Rust signal: the parker's yield.
    assert_eq!(
        cont.resume(&mut host, Send(Some(40))),
        ContStep::Yield(Some(-1))
    );
    assert_eq!(WAKES[0].load(SeqCst), 0);
    // A producer thread completes the signal: the waker calls the hook, once.
    std::thread::spawn(move || signal.set()).join().unwrap();
    assert_eq!(WAKES[0].load(SeqCst), 1);
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Return(Some(42))
    );
    assert_eq!(
        host.log,
        [
            "poll",
            "send 1 None",
            "send 1 Some(40)",
            "poll",
            "send 99 None",
            "send 99 None",
            "poll",
            "send 2 None",
            "poll"
        ]
    );
}

#[test]
fn a_wake_during_the_poll_re_polls_without_yielding() {
    let mut host = FutureHost::new(1, |_| async {
        yield_now().await;
        yield_now().await;
        Ok(Some(7))
    });
    let cont = Continuation::new();
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Return(Some(7))
    );
    assert_eq!(
        host.log,
        ["poll", "woken already", "poll", "woken already", "poll"]
    );
    assert_eq!(WAKES[1].load(SeqCst), 2);
}

#[test]
fn an_awaited_error_reaches_the_future_which_handles_or_propagates_it() {
    let mut host = FutureHost::new(2, |slots| async move {
        match py_await(&slots, ent(1).acts([Act::Raise("ValueError")])).await {
            Err(e) if e.msg == "ValueError" => {}
            other => panic!("unexpected {other:?}"),
        }
        py_await(&slots, ent(2).acts([Act::Raise("KeyError")])).await?;
        Ok(Some(0))
    });
    let cont = Continuation::new();
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Raise(exc("KeyError"))
    );
}

#[test]
fn a_throw_goes_into_the_awaited_coroutine_then_into_the_future() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = DropFlag(dropped.clone());
    let mut host = FutureHost::new(3, move |slots| async move {
        let _flag = flag;
        match py_await(&slots, ent(1).acts([Act::Yield(1), Act::Reraise])).await {
            // The future may handle the cancellation and still finish.
            Err(e) => Ok(Some(if e.msg == "CancelledError" { -1 } else { -2 })),
            Ok(_) => Ok(Some(0)),
        }
    });
    let cont = Continuation::new();
    assert_eq!(cont.resume(&mut host, Send(None)), ContStep::Yield(Some(1)));
    assert_eq!(
        cont.resume(&mut host, Throw(exc("CancelledError"))),
        ContStep::Return(Some(-1))
    );
    assert!(host.log.contains(&"throw 1 CancelledError".to_string()));
    assert!(*dropped.borrow(), "a finished future is dropped");
}

#[test]
fn a_throw_while_parked_on_the_waker_drops_the_future() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = DropFlag(dropped.clone());
    let signal = Signal::default();
    let mut host = FutureHost::new(4, move |_| async move {
        let _flag = flag;
        signal.wait().await;
        Ok(None)
    });
    // A parker that does not catch what is thrown into it (as an asyncio future re-raises).
    host.parker = vec![Act::Yield(-1), Act::Reraise];
    let cont = Continuation::new();
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Yield(Some(-1))
    );
    host.log.clear();
    assert_eq!(
        cont.resume(&mut host, Throw(exc("CancelledError"))),
        ContStep::Raise(exc("CancelledError"))
    );
    assert!(*dropped.borrow(), "cancellation runs the future's drop");
    assert_eq!(host.log, ["throw 99 CancelledError", "drop future"]);
}

#[test]
fn close_closes_the_awaited_coroutine_and_drops_the_future() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = DropFlag(dropped.clone());
    let mut host = FutureHost::new(5, move |slots| async move {
        let _flag = flag;
        py_await(&slots, ent(1).acts([Act::Yield(1)])).await?;
        Ok(None)
    });
    let cont = Continuation::new();
    assert_eq!(cont.resume(&mut host, Send(None)), ContStep::Yield(Some(1)));
    assert_eq!(cont.resume(&mut host, Close), ContStep::Closed);
    assert_eq!(host.log, ["poll", "send 1 None", "close 1", "drop future"]);
    assert!(*dropped.borrow());
}

#[test]
fn a_panic_in_the_future_comes_out_as_an_exception() {
    let mut host = FutureHost::new(6, |slots| async move {
        py_await(&slots, ent(1).acts([Act::Return(1)])).await?;
        panic!("bug in native code");
    });
    let cont = Continuation::new();
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Raise(exc("PanicException"))
    );
    assert!(host.fut.is_none());
    assert_eq!(
        cont.resume(&mut host, Send(None)),
        ContStep::Refused(awaitq_core::ContError::Exhausted)
    );
}
