//! The `Waker` of Rust futures: a fixed static table of wake slots, no allocation, no heap.
//!
//! A future's awaitable takes a slot when it is made and gives it back when the future is
//! dropped (or, if it was abandoned unfinished, when the collector finalises it). The waker's
//! data word is the slot's index and the slot's generation at that time (`gen << 8 | index`);
//! every take and give-back bumps the generation. So a `Waker` that outlives its future (a
//! pthread or an ISR still holding a clone) is harmless: its generation no longer matches and
//! its wake does nothing. Cloning copies the word, dropping does nothing.
//!
//! A wake, from any thread or ISR (no lock, no allocation, no MicroPython): if the generation
//! matches, set the slot's `woken` flag, then take the channel's wake path
//! (`awaitq_mp_sys_wake_slot`: write the slot's eventfd on unix, then the port's
//! `awaitq_port_wake(NULL)` hook). A wake racing with a give-back may set `woken` on the
//! slot's next owner or write its fd: a spurious wake-up, which it re-checks and ignores.
//!
//! No lost wake-up (the host's side, `future.rs`): `woken` is cleared before each poll; a
//! waiting future drains the fd, registers with asyncio, *then* re-checks `woken` (a wake
//! before the drain shows in the flag, one after it in the fd).
//!
//! Taking and giving back run in the critical section (VM threads only); wakes only load the
//! generation and store the flag, so they need no compare-and-swap (thumbv6m has none).

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, Ordering};
use core::task::{RawWaker, RawWakerVTable, Waker};

use super::future::FutureHeader;
use crate::ffi;

include!(concat!(env!("OUT_DIR"), "/wake_slots.rs"));

const GEN_MASK: u32 = 0x00FF_FFFF;

struct Slot {
    /// Odd while taken. Compared on its low 24 bits (what fits next to the index).
    gen: AtomicU32,
    woken: AtomicBool,
    /// The slot's wake fd plus one (unix: an eventfd, rfd == wfd; a pipe off Linux), made on
    /// its first wait and kept for the life of the process (slots are reused, fds with them);
    /// 0 before / without fds (all-zero: the table is .bss, no flash). `wfd` is stored before
    /// `rfd`, so a waker that sees `rfd` sees it.
    rfd: AtomicI32,
    wfd: AtomicI32,
    /// The future being polled (only during a poll, by the VM thread polling it): how
    /// `py_await` finds its host. Not a GC root and need not be: the awaitable being polled
    /// is reachable from its driver.
    current: AtomicPtr<FutureHeader>,
}

impl Slot {
    const fn new() -> Self {
        Self {
            gen: AtomicU32::new(0),
            woken: AtomicBool::new(false),
            rfd: AtomicI32::new(0),
            wfd: AtomicI32::new(0),
            current: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

const _: () = assert!(WAKE_SLOTS > 0 && WAKE_SLOTS < 256);

static SLOTS: [Slot; WAKE_SLOTS] = [const { Slot::new() }; WAKE_SLOTS];

/// A taken slot: `gen << 8 | index` (never 0: the generation of a taken slot is odd).
pub(crate) type Handle = u32;

/// The slot of a handle whose generation is current (a taken slot's, odd: so 0, "no slot",
/// and a handle of a slot given back never match).
fn split(h: Handle) -> Option<&'static Slot> {
    let slot = SLOTS.get((h & 0xFF) as usize)?;
    let gen = h >> 8;
    (gen & 1 == 1 && slot.gen.load(Ordering::Acquire) & GEN_MASK == gen).then_some(slot)
}

fn take_free() -> Option<Handle> {
    critical_section::with(|_| {
        SLOTS.iter().enumerate().find_map(|(i, s)| {
            let g = s.gen.load(Ordering::Relaxed);
            if g & 1 != 0 {
                return None;
            }
            let g = g.wrapping_add(1);
            s.woken.store(false, Ordering::Relaxed);
            s.gen.store(g, Ordering::Release);
            Some(((g & GEN_MASK) << 8) | i as u32)
        })
    })
}

/// Takes a free slot; when all are taken, collects once (abandoned futures give theirs back
/// in their finaliser) and tries again. `None`: every slot is in use.
pub(crate) fn acquire() -> Option<Handle> {
    take_free().or_else(|| {
        // SAFETY: a full collection from the VM thread; no Rust state is borrowed (the caller
        // holds only locals, which the collector scans on the stack).
        unsafe { ffi::awaitq_mp_sys_gc_collect() };
        take_free()
    })
}

/// Gives a slot back: its wakers go stale.
pub(crate) fn release(h: Handle) {
    critical_section::with(|_| {
        if let Some(s) = split(h) {
            s.current.store(ptr::null_mut(), Ordering::Relaxed);
            s.gen.store(
                s.gen.load(Ordering::Relaxed).wrapping_add(1),
                Ordering::Release,
            );
        }
    });
}

/// Clears `woken` (before a poll).
pub(crate) fn clear(h: Handle) {
    if let Some(s) = split(h) {
        s.woken.store(false, Ordering::SeqCst);
    }
}

/// Whether a wake came since the last [`clear`].
pub(crate) fn woken(h: Handle) -> bool {
    split(h).is_some_and(|s| s.woken.load(Ordering::SeqCst))
}

/// Makes the slot's fd if it has none (VM thread), then consumes its wake-ups (before
/// re-checking `woken`).
pub(crate) fn drain(h: Handle) {
    let Some(s) = split(h) else { return };
    let mut rfd = s.rfd.load(Ordering::Acquire) - 1;
    if rfd < 0 {
        let mut wfd = -1;
        // SAFETY: `wfd` is writable; returns -1 when the port has no fds (or none is left).
        rfd = unsafe { ffi::awaitq_mp_sys_wake_fd_new(&mut wfd) };
        s.wfd.store(wfd + 1, Ordering::Release);
        s.rfd.store(rfd + 1, Ordering::Release);
    }
    if rfd >= 0 {
        // SAFETY: the slot's fds, made by awaitq_mp_sys_wake_fd_new and never closed.
        unsafe { ffi::awaitq_mp_sys_wake_fd_drain(rfd, s.wfd.load(Ordering::Acquire) - 1) };
    }
}

/// The slot's fd (what asyncio's poller sleeps on) if it has one, else -1.
pub(crate) fn fd(h: Handle) -> i32 {
    split(h).map_or(-1, |s| s.rfd.load(Ordering::Acquire) - 1)
}

/// Marks `hdr` as the future being polled in slot `h` (null: the poll ended).
pub(crate) fn set_current(h: Handle, hdr: *mut FutureHeader) {
    if let Some(s) = split(h) {
        s.current.store(hdr, Ordering::Relaxed);
    }
}

/// The future being polled with `waker`, if `waker` is one of ours and a poll is under way.
/// Futures pass the `Context` they are polled with down to what they await (combinators such
/// as `join` and `select` do), so `py_await` finds its host without any global state.
pub(crate) fn current(waker: &Waker) -> Option<*mut FutureHeader> {
    SLOTS.iter().enumerate().find_map(|(i, s)| {
        let hdr = s.current.load(Ordering::Relaxed);
        if hdr.is_null() {
            return None;
        }
        let h = ((s.gen.load(Ordering::Acquire) & GEN_MASK) << 8) | i as u32;
        waker.will_wake(&make(h)).then_some(hdr)
    })
}

/// The `Waker` of slot `h`.
pub(crate) fn make(h: Handle) -> Waker {
    // SAFETY: the vtable's functions uphold RawWaker's contract: the data word is a plain
    // integer (no ownership), so clone copies it, drop does nothing, and wake is callable
    // from any thread (it only touches atomics and the wake path).
    unsafe { Waker::from_raw(RawWaker::new(h as usize as *const (), &VTABLE)) }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, forget);

fn clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

fn wake(data: *const ()) {
    let Some(s) = split(data as usize as u32) else {
        return; // stale: its future is gone
    };
    s.woken.store(true, Ordering::SeqCst);
    let rfd = s.rfd.load(Ordering::Acquire) - 1;
    let wfd = s.wfd.load(Ordering::Acquire) - 1;
    // SAFETY: callable from any thread or ISR: writes the fd (if any) and calls the port's
    // wake hook, neither of which allocates, blocks or touches MicroPython.
    unsafe { ffi::awaitq_mp_sys_wake_slot(rfd, wfd) };
}

fn forget(_: *const ()) {}
