//! The critical section behind every core channel in the wheel (feature `spin-section`): a
//! process-wide spin-then-yield lock.
//!
//! The core guards each channel with `critical_section`, whose implementation the final binary
//! picks. The `critical-section/std` one is a `std::sync::Mutex`; when a native producer and
//! the consumer hammer one channel, its contended path sleeps in the kernel (futex) for every
//! hand-off, which dominated streaming profiles. Each section here copies at most one frame,
//! so waiting by spinning (then yielding the CPU, in case the holder was preempted) is cheaper,
//! and it never sleeps in the kernel. Re-entry on the same thread (allowed by the
//! critical-section contract) is detected by the owner's thread id.
//!
//! The lock is deliberately unfair. A ticket lock and a "defer to a waiting thread" variant
//! were both measured slower (3-5x on the streaming benchmark): with strict alternation every
//! push and pop moves the lock's and the channel's cache lines between cores, while an unfair
//! lock lets a producer fill in a warm burst and the consumer drain in one. A ticket lock also
//! stalls everyone behind a preempted waiter.
//!
//! Without the feature (plain `cargo build`/`test`, and workspace builds where the core's
//! tests enable `critical-section/std`) the std implementation is used.

#[cfg(all(feature = "spin-section", feature = "std-section"))]
compile_error!("features `spin-section` and `std-section` are exclusive");

use std::sync::atomic::{AtomicUsize, Ordering};

/// About 10-20 us of `spin_loop` hints on current x86.
const SPINS_BEFORE_YIELD: u32 = 4096;

/// A lock owned by a thread id (0 = free), re-entrant for its owner.
pub(crate) struct SpinLock {
    owner: AtomicUsize,
}

impl SpinLock {
    pub(crate) const fn new() -> Self {
        Self {
            owner: AtomicUsize::new(0),
        }
    }

    /// Takes the lock for thread `me` (non-zero). Returns `true` if `me` already held it.
    pub(crate) fn acquire(&self, me: usize) -> bool {
        if self.owner.load(Ordering::Relaxed) == me {
            return true;
        }
        // Sections are short (a frame, or a recv_many batch of a few KiB: about a
        // microsecond), so spin well past that before giving the CPU away; yielding early
        // costs a scheduler round trip (or a whole time slice on a busy machine).
        let mut spins = 0u32;
        loop {
            if self
                .owner
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return false;
            }
            while self.owner.load(Ordering::Relaxed) != 0 {
                spins += 1;
                if spins < SPINS_BEFORE_YIELD {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Releases the lock unless this was a nested acquire.
    pub(crate) fn release(&self, nested: bool) {
        if !nested {
            self.owner.store(0, Ordering::Release);
        }
    }
}

#[cfg(feature = "spin-section")]
mod imp {
    use super::SpinLock;

    static LOCK: SpinLock = SpinLock::new();

    struct SpinSection;
    critical_section::set_impl!(SpinSection);

    #[cfg(unix)]
    fn me() -> usize {
        // SAFETY: pthread_self has no preconditions; on the supported platforms it is the
        // thread's control block address, unique among live threads and never 0.
        unsafe { libc::pthread_self() as usize }
    }

    /// Elsewhere (Windows): the address of a thread-local, unique among live threads and
    /// never 0.
    #[cfg(not(unix))]
    fn me() -> usize {
        std::thread_local!(static ME: u8 = const { 0 });
        ME.with(|m| m as *const u8 as usize)
    }

    // SAFETY: acquire/release implement a mutual-exclusion lock (Acquire on taking, Release
    // on freeing) that is re-entrant for its owner, as the critical-section contract requires.
    unsafe impl critical_section::Impl for SpinSection {
        unsafe fn acquire() -> bool {
            LOCK.acquire(me())
        }

        unsafe fn release(nested: bool) {
            LOCK.release(nested);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_exclusive() {
        static L: SpinLock = SpinLock::new();
        static mut COUNTER: u64 = 0;
        assert!(!L.acquire(1));
        assert!(L.acquire(1), "re-entry by the owner is nested");
        L.release(true);
        L.release(false);
        std::thread::scope(|s| {
            for t in 1..=4usize {
                s.spawn(move || {
                    for _ in 0..100_000 {
                        let nested = L.acquire(t);
                        // SAFETY: the lock serialises every access to COUNTER.
                        unsafe { COUNTER += 1 };
                        L.release(nested);
                    }
                });
            }
        });
        // SAFETY: all threads joined.
        assert_eq!(unsafe { COUNTER }, 400_000);
    }
}
