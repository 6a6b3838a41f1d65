//! The critical section in the wheel (feature `spin-section`): a process-wide spin-then-yield
//! lock, made fork-safe.
//!
//! The core's channels no longer use a lock on a frame's path (a lock-free ring); the only
//! thing behind `critical_section` now is each channel's wake hook (a function pointer and its
//! context), read when a parked receiver or sender is woken and written when a channel is
//! created. A process-wide std `Mutex` would do, but a fork() taken while a producer thread
//! held it (mid-wake) would leave the child blocked on a mutex whose owner does not exist
//! there. This lock is one word: a `pthread_atfork` child handler
//! ([`install_fork_handler`], called at module import) frees it in the child. That is sound
//! because every section is a copy of that two-word value (so no protected state is left
//! half-updated by a reader), and the only writer, channel creation, runs on a thread holding
//! the GIL, which is the thread that forks. Re-entry on the same thread (allowed by the
//! critical-section contract) is detected by the owner's thread id.
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

    /// Frees the lock whoever holds it: only for a fork child, where the holder does not exist.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn reset(&self) {
        self.owner.store(0, Ordering::Relaxed);
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

    #[cfg(unix)]
    extern "C" fn reset_in_child() {
        LOCK.reset();
    }

    /// Windows has no fork: nothing to register.
    #[cfg(not(unix))]
    pub(crate) fn install_fork_handler() {}

    /// Registers the fork handler that frees the lock in a child (once per process).
    #[cfg(unix)]
    pub(crate) fn install_fork_handler() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: registers a plain function with no preconditions; it only stores to an
            // atomic, which is async-signal-safe as a fork child handler must be.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(reset_in_child)) };
            debug_assert_eq!(rc, 0);
        });
    }

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

#[cfg(feature = "spin-section")]
pub(crate) use imp::install_fork_handler;

/// Without `spin-section` the section is critical-section's std mutex: nothing to install.
#[cfg(not(feature = "spin-section"))]
pub(crate) fn install_fork_handler() {}

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
        assert!(!L.acquire(2));
        L.reset();
        assert!(!L.acquire(3), "a reset lock is free (a fork child)");
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
