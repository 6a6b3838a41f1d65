//! What the core's wake hook does on a producer thread, and what the consumer collects.
//!
//! ```text
//!  producer thread (no GIL)                         consumer (GIL, loop thread)
//!  push -> hook(ctx = &WakeSlot)                    fd readable -> drain fd
//!    lock slot, node = target                       for node in waker.take():
//!    if !node.queued.swap(true):                        node.channel -> wake its waiters
//!      waker.push(node); if stack was empty: signal
//! ```
//!
//! A [`Waker`] is one wake-up signal (a descriptor, or a [`WakerThread`] where the loop cannot
//! watch one) plus a lock-free stack of the [`Node`]s fired since
//! the consumer last looked (a Treiber stack with a take-all pop, so no ABA: nodes are only
//! pushed concurrently, and taken all at once by the single consumer). Only the
//! empty -> non-empty push writes the descriptor, so a burst of wakes costs one syscall.
//!
//! A [`Node`] is a channel's membership in one waker (one per channel and event loop). It
//! sits in a waker's stack at most once (`queued`), holding a strong count while there. A
//! channel's [`WakeSlot`] says which node its hook fires; the consumer retargets it when the
//! channel is awaited from another loop. Nodes point at their waker weakly: a waker whose loop
//! is gone is dropped, and a late hook just finds nothing to upgrade.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::fd::{RawWake, WakeFd};
use crate::shared::Shared;

/// One wake-up signal and the nodes fired since the consumer last looked.
#[derive(Debug)]
pub(crate) struct Waker {
    signal: Signal,
    head: AtomicPtr<Node>,
}

#[derive(Debug)]
enum Signal {
    /// A descriptor the loop (or `select()`) watches.
    Fd(WakeFd),
    /// A thread that schedules the loop's callback (no descriptor).
    Thread(WakerThread),
}

/// The wake path with no descriptor: a native thread that sleeps (`park`) until a producer's
/// empty -> non-empty push unparks it, then runs `on_wake` (which attaches to Python and
/// calls the loop's `call_soon_threadsafe`). A producer only stores a flag and unparks a
/// thread: no GIL, no allocation, no lock. The thread ends when the waker is dropped; it is
/// never joined (after a `fork()` it does not exist in the child).
#[derive(Debug)]
pub(crate) struct WakerThread {
    state: Arc<ThreadState>,
    thread: std::thread::Thread,
}

#[derive(Debug, Default)]
struct ThreadState {
    pending: AtomicBool,
    stop: AtomicBool,
}

impl WakerThread {
    fn spawn(on_wake: Box<dyn Fn() + Send>) -> std::io::Result<Self> {
        let state = Arc::new(ThreadState::default());
        let st = Arc::clone(&state);
        let handle = std::thread::Builder::new()
            .name("awaitq-waker".into())
            .spawn(move || loop {
                // The unpark token makes a signal between these checks and `park` not lost.
                if st.stop.load(Ordering::Acquire) {
                    return;
                }
                if st.pending.swap(false, Ordering::AcqRel) {
                    on_wake();
                } else {
                    std::thread::park();
                }
            })?;
        Ok(Self {
            state,
            thread: handle.thread().clone(),
        })
    }

    fn signal(&self) {
        self.state.pending.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

impl Drop for WakerThread {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// A channel's membership in one [`Waker`].
#[derive(Debug)]
pub(crate) struct Node {
    waker: Weak<Waker>,
    channel: Weak<Shared>,
    queued: AtomicBool,
    next: AtomicPtr<Node>,
}

impl Waker {
    /// A waker with a descriptor.
    pub(crate) fn new() -> std::io::Result<Arc<Self>> {
        Ok(Self::with(Signal::Fd(WakeFd::new()?)))
    }

    /// A waker whose signal runs `on_wake` on a [`WakerThread`].
    pub(crate) fn threaded(on_wake: Box<dyn Fn() + Send>) -> std::io::Result<Arc<Self>> {
        Ok(Self::with(Signal::Thread(WakerThread::spawn(on_wake)?)))
    }

    fn with(signal: Signal) -> Arc<Self> {
        Arc::new(Self {
            signal,
            head: AtomicPtr::new(ptr::null_mut()),
        })
    }

    /// The descriptor an event loop or `select()` watches (`None` for a threaded waker).
    pub(crate) fn fileno(&self) -> Option<RawWake> {
        match &self.signal {
            Signal::Fd(fd) => Some(fd.fileno()),
            Signal::Thread(_) => None,
        }
    }

    /// Producer side: queue `node` and signal on the empty -> non-empty edge.
    fn push(&self, node: Arc<Node>) {
        let raw = Arc::into_raw(node).cast_mut();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: `raw` came from `Arc::into_raw` just above and is not yet shared.
            unsafe { (*raw).next.store(head, Ordering::Relaxed) };
            match self
                .head
                .compare_exchange_weak(head, raw, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        if head.is_null() {
            match &self.signal {
                Signal::Fd(fd) => fd.signal(),
                Signal::Thread(t) => t.signal(),
            }
        }
    }

    /// Consumer side: clears the descriptor, then takes every queued node. In that order, a
    /// push racing with us either lands before the take (and is taken) or signals again.
    pub(crate) fn take(&self) -> Vec<Arc<Node>> {
        if let Signal::Fd(fd) = &self.signal {
            fd.drain();
        }
        let mut out = Vec::new();
        // Acquire pairs with every pusher's Release CAS (all updates of `head` are RMWs, so
        // they form one release sequence): each node's `next` is visible.
        let mut p = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        while !p.is_null() {
            // SAFETY: every pointer in the stack came from `Arc::into_raw` in `push` and is
            // owned by the stack until now; we are its only consumer.
            let node = unsafe { Arc::from_raw(p) };
            p = node.next.load(Ordering::Relaxed);
            // After reading `next`: from here a hook may push the node again.
            node.queued.store(false, Ordering::Release);
            out.push(node);
        }
        out
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // Release the strong counts of nodes still queued (their loop never looked again).
        drop(self.take());
    }
}

impl Node {
    pub(crate) fn new(waker: &Arc<Waker>, channel: Weak<Shared>) -> Arc<Self> {
        Arc::new(Self {
            waker: Arc::downgrade(waker),
            channel,
            queued: AtomicBool::new(false),
            next: AtomicPtr::new(ptr::null_mut()),
        })
    }

    /// The channel this node wakes, if it still exists.
    pub(crate) fn channel(&self) -> Option<Arc<Shared>> {
        self.channel.upgrade()
    }

    /// The hook's work: queue this node on its waker unless it is queued already.
    fn fire(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return; // the consumer has not looked since the last fire: it will see this too
        }
        match self.waker.upgrade() {
            Some(waker) => waker.push(Arc::clone(self)),
            None => self.queued.store(false, Ordering::Release),
        }
    }
}

/// Where a channel's wake hook points: the node of the context its waiters parked from.
#[derive(Debug, Default)]
pub(crate) struct WakeSlot {
    target: Mutex<Option<Arc<Node>>>,
}

impl WakeSlot {
    /// Called by the core hook, on any thread. Short: a lock held for one push or no-op.
    pub(crate) fn fire(&self) {
        let target = self.target.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(node) = target.as_ref() {
            node.fire();
        }
    }

    /// Points the hook at `node`. Returns `true` if the target changed (a wake may then have
    /// gone to the old target, so the caller re-checks the channel).
    pub(crate) fn retarget(&self, node: &Arc<Node>) -> bool {
        let mut target = self.target.lock().unwrap_or_else(PoisonError::into_inner);
        if target.as_ref().is_some_and(|t| Arc::ptr_eq(t, node)) {
            return false;
        }
        *target = Some(Arc::clone(node));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_until_taken_and_signals_on_first_only() {
        let waker = Waker::new().unwrap();
        let a = Node::new(&waker, Weak::new());
        let b = Node::new(&waker, Weak::new());
        a.fire();
        a.fire();
        b.fire();
        let got = waker.take();
        assert_eq!(got.len(), 2);
        assert!(got.iter().any(|n| Arc::ptr_eq(n, &a)));
        drop(got);
        assert_eq!(Arc::strong_count(&a), 1, "the stack released its counts");
        a.fire();
        assert_eq!(waker.take().len(), 1, "re-queued after take");
    }

    #[test]
    fn dead_waker_is_ignored_and_queued_nodes_are_released() {
        let waker = Waker::new().unwrap();
        let a = Node::new(&waker, Weak::new());
        a.fire();
        assert_eq!(Arc::strong_count(&a), 2);
        drop(waker);
        assert_eq!(Arc::strong_count(&a), 1);
        a.fire(); // no waker: nothing happens
        assert!(!a.queued.load(Ordering::Relaxed));
    }

    #[test]
    fn thread_signals_once_per_empty_to_nonempty_edge() {
        use std::sync::mpsc;
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let waker = Waker::threaded(Box::new(move || {
            let _ = tx.lock().unwrap().send(());
        }))
        .unwrap();
        assert_eq!(waker.fileno(), None);
        let a = Node::new(&waker, Weak::new());
        let b = Node::new(&waker, Weak::new());
        a.fire();
        b.fire();
        let wait = std::time::Duration::from_secs(5);
        rx.recv_timeout(wait).expect("the thread ran on_wake");
        assert_eq!(waker.take().len(), 2);
        a.fire();
        rx.recv_timeout(wait).expect("a second edge, a second wake");
        assert_eq!(waker.take().len(), 1);
        assert!(rx.try_recv().is_err(), "no wake without an edge");
    }

    #[test]
    fn concurrent_fires_are_all_taken() {
        let waker = Waker::new().unwrap();
        let nodes: Vec<_> = (0..64).map(|_| Node::new(&waker, Weak::new())).collect();
        std::thread::scope(|s| {
            for chunk in nodes.chunks(16) {
                s.spawn(move || {
                    for _ in 0..1000 {
                        for n in chunk {
                            n.fire();
                        }
                    }
                });
            }
        });
        // Each node is queued exactly once, however often it fired.
        let mut seen: Vec<usize> = waker
            .take()
            .iter()
            .map(|n| Arc::as_ptr(n) as usize)
            .collect();
        assert_eq!(seen.len(), 64);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 64);
    }
}
