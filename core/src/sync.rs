//! The atomics the ring is built from, behind a facade so loom can model them and so a target
//! without compare-and-swap runs the same algorithm.
//!
//! - Normally: `core::sync::atomic`, read-modify-writes done by the hardware.
//! - Targets without CAS (`thumbv6m`: `cfg(not(target_has_atomic = "ptr"))`), or a port that
//!   enables the `emulate-cas` feature: loads and stores are still plain atomic accesses, and
//!   every read-modify-write (and every store to a word that is ever read-modified-written)
//!   runs inside a [`critical_section`]. Single-core MCUs mask interrupts; a dual-core M0+
//!   (RP2040) takes the port's hardware spinlock. The algorithm is unchanged: it never holds
//!   the section across more than one word.
//! - `cfg(loom)`: loom's atomics and fences, so the ring's orderings are model-checked.
//!
//! [`Lock`] is kept for the one piece of state that is not a word: the wake hook (a function
//! pointer and its context), read only on a parked -> ready transition, never per frame.

pub(crate) use core::sync::atomic::Ordering;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicU32};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32};

#[cfg(all(not(loom), target_has_atomic = "64"))]
pub(crate) use core::sync::atomic::AtomicU64 as AtomicCounter;
/// A 64-bit counter where the target has 64-bit atomics, else 32 bits (wrapping).
#[cfg(all(loom, target_has_atomic = "64"))]
pub(crate) use loom::sync::atomic::AtomicU64 as AtomicCounter;
#[cfg(not(target_has_atomic = "64"))]
pub(crate) use AtomicU32 as AtomicCounter;
#[cfg(target_has_atomic = "64")]
pub(crate) type CounterValue = u64;
#[cfg(not(target_has_atomic = "64"))]
pub(crate) type CounterValue = u32;

/// One word of channel storage: an atomic 32-bit word. Slots are copied in and out with
/// `Relaxed` loads and stores, ordered by the slot's sequence word (see [`crate::ring`]).
pub type Word = AtomicU32;

#[cfg(not(any(loom, feature = "emulate-cas", not(target_has_atomic = "ptr"))))]
mod rmw {
    use super::{AtomicBool, AtomicCounter, AtomicU32, CounterValue, Ordering};

    #[inline]
    pub(crate) fn cas(a: &AtomicU32, current: u32, new: u32) -> Result<u32, u32> {
        a.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }
    #[inline]
    pub(crate) fn or(a: &AtomicU32, bits: u32) -> u32 {
        a.fetch_or(bits, Ordering::AcqRel)
    }
    /// A swap rather than a store: the flags are only written off the frame path (parking,
    /// unparking), and loom 0.7 lets a later swap of the same thread miss a relaxed store.
    #[inline]
    pub(crate) fn set_flag(a: &AtomicBool, value: bool) {
        a.swap(value, Ordering::AcqRel);
    }
    #[inline]
    pub(crate) fn take_flag(a: &AtomicBool) -> bool {
        a.swap(false, Ordering::AcqRel)
    }
    #[inline]
    pub(crate) fn add(c: &AtomicCounter, n: CounterValue) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    #[inline]
    pub(crate) fn max(c: &AtomicCounter, n: CounterValue) {
        c.fetch_max(n, Ordering::Relaxed);
    }
}

#[cfg(loom)]
mod rmw {
    use super::{AtomicBool, AtomicCounter, AtomicU32, CounterValue, Ordering};

    pub(crate) fn cas(a: &AtomicU32, current: u32, new: u32) -> Result<u32, u32> {
        a.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }
    pub(crate) fn or(a: &AtomicU32, bits: u32) -> u32 {
        a.fetch_or(bits, Ordering::AcqRel)
    }
    pub(crate) fn set_flag(a: &AtomicBool, value: bool) {
        a.swap(value, Ordering::AcqRel);
    }
    pub(crate) fn take_flag(a: &AtomicBool) -> bool {
        a.swap(false, Ordering::AcqRel)
    }
    pub(crate) fn add(c: &AtomicCounter, n: CounterValue) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn max(c: &AtomicCounter, n: CounterValue) {
        // loom's AtomicU64 has no fetch_max.
        let mut cur = c.load(Ordering::Relaxed);
        while cur < n {
            match c.compare_exchange(cur, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
    }
}

/// The same operations, each one short critical section around a load and a store.
#[cfg(all(
    not(loom),
    any(feature = "emulate-cas", not(target_has_atomic = "ptr"))
))]
mod rmw {
    use super::{fence, AtomicBool, AtomicCounter, AtomicU32, CounterValue, Ordering};

    #[inline]
    fn section<R>(f: impl FnOnce() -> R) -> R {
        // The section orders like a lock; the fences make each operation AcqRel on its own.
        critical_section::with(|_| {
            fence(Ordering::SeqCst);
            let r = f();
            fence(Ordering::SeqCst);
            r
        })
    }

    pub(crate) fn cas(a: &AtomicU32, current: u32, new: u32) -> Result<u32, u32> {
        section(|| {
            let v = a.load(Ordering::Relaxed);
            if v == current {
                a.store(new, Ordering::Relaxed);
                Ok(v)
            } else {
                Err(v)
            }
        })
    }
    pub(crate) fn or(a: &AtomicU32, bits: u32) -> u32 {
        section(|| {
            let v = a.load(Ordering::Relaxed);
            a.store(v | bits, Ordering::Relaxed);
            v
        })
    }
    pub(crate) fn set_flag(a: &AtomicBool, value: bool) {
        section(|| a.store(value, Ordering::Relaxed))
    }
    pub(crate) fn take_flag(a: &AtomicBool) -> bool {
        section(|| {
            let v = a.load(Ordering::Relaxed);
            a.store(false, Ordering::Relaxed);
            v
        })
    }
    pub(crate) fn add(c: &AtomicCounter, n: CounterValue) {
        section(|| c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed))
    }
    pub(crate) fn max(c: &AtomicCounter, n: CounterValue) {
        section(|| {
            if c.load(Ordering::Relaxed) < n {
                c.store(n, Ordering::Relaxed)
            }
        })
    }
}

pub(crate) use rmw::{add, cas, max, or, set_flag, take_flag};

#[cfg(not(loom))]
mod imp {
    use core::cell::Cell;

    /// A value behind the critical section. Only `Copy` values, read and written whole.
    pub(crate) struct Lock<T>(critical_section::Mutex<Cell<T>>);

    impl<T: Copy> Lock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(critical_section::Mutex::new(Cell::new(value)))
        }
        pub(crate) fn get(&self) -> T {
            critical_section::with(|cs| self.0.borrow(cs).get())
        }
        pub(crate) fn set(&self, value: T) {
            critical_section::with(|cs| self.0.borrow(cs).set(value))
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) struct Lock<T>(loom::sync::Mutex<T>);

    impl<T: Copy> Lock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }
        pub(crate) fn get(&self) -> T {
            *self.0.lock().unwrap()
        }
        pub(crate) fn set(&self, value: T) {
            *self.0.lock().unwrap() = value;
        }
    }
}

pub(crate) use imp::Lock;
