//! The one lock the core uses, behind a facade so loom can model it.
//!
//! Normally this is a [`critical_section::Mutex`]: interrupts masked on a single-core MCU, the
//! port's atomic section under MicroPython, a process-wide mutex on a hosted OS. Under
//! `cfg(loom)` it becomes a loom mutex, so the wake protocol built on it can be model-checked
//! (critical-section itself has no loom mode).

#[cfg(not(loom))]
mod imp {
    use core::cell::RefCell;

    pub(crate) struct Lock<T>(critical_section::Mutex<RefCell<T>>);

    impl<T> Lock<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(critical_section::Mutex::new(RefCell::new(value)))
        }

        /// Runs `f` inside the critical section. `f` must be short and must not call out:
        /// no wake hooks, no allocation, no Python.
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
            critical_section::with(|cs| f(&mut self.0.borrow_ref_mut(cs)))
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) struct Lock<T>(loom::sync::Mutex<T>);

    impl<T> Lock<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
            f(&mut self.0.lock().unwrap())
        }
    }
}

pub(crate) use imp::Lock;
