//! After construction, nothing on the data path allocates: push, every receive, the awaitable
//! operations, close, the wake hook call. Checked with a counting global allocator, which is
//! itself checked to count (a test that could not fail would prove nothing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use awaitq_core::{
    Channel, Config, Overflow, PushError, RecvError, RecvOp, Resume, SendOp, Step, WakeHook, Word,
};

thread_local! {
    // Per thread, so the test harness's own threads (and other tests) do not disturb a count.
    // A `const` Cell without Drop: reading it never allocates or registers a destructor.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; counting touches only a Cell.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations it made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

static WAKES: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_wake(_ctx: usize) {
    WAKES.fetch_add(1, SeqCst);
}

#[test]
fn the_counter_counts() {
    let (boxed, n) = allocations(|| black_box(Box::new(black_box(7u64))));
    assert_eq!(*boxed, 7);
    assert!(
        n >= 1,
        "a Box allocation went uncounted: the other test proves nothing"
    );
    let (v, n) = allocations(|| {
        let mut v = black_box(Vec::<u8>::with_capacity(1));
        v.extend_from_slice(black_box(&[1, 2, 3]));
        v
    });
    assert_eq!(v, [1, 2, 3]);
    assert!(n >= 2, "alloc + realloc: counted {n}");
}

/// Every data-path operation on `ch` (capacity 2, max_frame 8), including the error paths.
fn exercise<S: AsRef<[Word]>>(ch: &Channel<S>) {
    let mut buf = [0u8; 8];
    // Plain push / pop, Empty, BufferTooSmall, Full, Oversize.
    ch.push(1, b"abc").unwrap();
    assert_eq!(ch.try_recv_into(&mut buf).unwrap().len, 3);
    assert_eq!(ch.try_recv_into(&mut buf), Err(RecvError::Empty));
    ch.push(2, b"abcdefgh").unwrap();
    assert!(matches!(
        ch.try_recv_into(&mut buf[..2]),
        Err(RecvError::BufferTooSmall { .. })
    ));
    ch.push(3, b"x").unwrap();
    if ch.config().overflow == Overflow::Reject {
        assert_eq!(ch.push(4, b"y"), Err(PushError::Full));
    } else {
        ch.push(4, b"y").unwrap();
    }
    assert!(matches!(
        ch.push(5, &[0; 9]),
        Err(PushError::Oversize { .. })
    ));
    while ch.try_recv_into(&mut buf).is_ok() {}

    // The awaitable receive: park, wake (the hook runs), deliver; cancel; Busy; Exhausted.
    let mut op = RecvOp::new();
    assert_eq!(op.resume(ch, Resume::Send, &mut buf), Step::Pending);
    assert_eq!(
        RecvOp::new().resume(ch, Resume::Send, &mut buf),
        Step::Failed(RecvError::Busy)
    );
    ch.push(6, b"wake").unwrap();
    assert!(matches!(
        op.resume(ch, Resume::Send, &mut buf),
        Step::Ready(_)
    ));
    assert_eq!(op.resume(ch, Resume::Send, &mut buf), Step::Exhausted);
    let mut op = RecvOp::new();
    assert_eq!(op.resume(ch, Resume::Send, &mut buf), Step::Pending);
    assert_eq!(op.resume(ch, Resume::Throw, &mut buf), Step::Rethrow);
    let mut op = RecvOp::new();
    assert_eq!(op.resume(ch, Resume::Send, &mut buf), Step::Pending);
    assert_eq!(op.resume(ch, Resume::Close, &mut buf), Step::Returned);

    // The waiting send, parked on a full channel when the policy rejects.
    ch.push(7, b"a").unwrap();
    ch.push(8, b"b").unwrap();
    let mut send = SendOp::new();
    let first = send.resume(ch, Resume::Send, 9, b"c");
    if ch.config().overflow == Overflow::Reject {
        assert_eq!(first, Step::Pending);
        ch.try_recv_into(&mut buf).unwrap();
        assert_eq!(send.resume(ch, Resume::Send, 9, b"c"), Step::Ready(()));
    } else {
        assert_eq!(first, Step::Ready(()));
    }
    while ch.try_recv_into(&mut buf).is_ok() {}

    // Close with a parked receiver (the hook runs), then the closed paths.
    let mut op = RecvOp::new();
    assert_eq!(op.resume(ch, Resume::Send, &mut buf), Step::Pending);
    ch.close();
    assert_eq!(
        op.resume(ch, Resume::Send, &mut buf),
        Step::Failed(RecvError::Closed)
    );
    assert_eq!(ch.push(10, b"z"), Err(PushError::Closed));
    assert_eq!(ch.try_recv_into(&mut buf), Err(RecvError::Closed));
    black_box((
        ch.len(),
        ch.is_empty(),
        ch.is_closed(),
        ch.stats(),
        ch.config(),
    ));
}

fn hook() -> WakeHook {
    WakeHook {
        func: count_wake,
        ctx: 0,
    }
}

#[test]
fn the_data_path_allocates_nothing() {
    for overflow in [Overflow::Reject, Overflow::DropOldest] {
        let cfg = Config::new(2, 8, overflow);
        // Construction may allocate (the storage is a Vec here); nothing after it may.
        let ch = Channel::new(
            (0..cfg.storage_words())
                .map(|_| Word::new(0))
                .collect::<Vec<Word>>(),
            cfg,
        )
        .unwrap();
        ch.set_wake_hook(Some(hook()));
        let wakes = WAKES.load(SeqCst);
        let ((), n) = allocations(|| exercise(&ch));
        assert_eq!(n, 0, "{overflow:?}: {n} allocations on the data path");
        assert!(
            WAKES.load(SeqCst) > wakes,
            "the hook ran inside the measured region"
        );
    }
}

static STATIC_CH: Channel<[Word; Config::new(2, 8, Overflow::Reject).storage_words()]> =
    Channel::new_static(Config::new(2, 8, Overflow::Reject));

#[test]
fn a_static_channel_allocates_nothing_at_all() {
    let ((), n) = allocations(|| {
        STATIC_CH.set_wake_hook(Some(hook()));
        exercise(&STATIC_CH);
    });
    assert_eq!(n, 0, "{n} allocations");
}
