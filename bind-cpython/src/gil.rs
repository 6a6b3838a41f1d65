//! [`GilCell`]: Rust state owned by a Python object and touched only while attached.

use std::cell::UnsafeCell;

use pyo3::Python;

/// A value that only threads attached to Python touch. The module declares `gil_used`, so the
/// GIL serialises them; `with` takes a `Python` token as the proof of being attached.
#[derive(Default)]
pub(crate) struct GilCell<T>(UnsafeCell<T>);

// SAFETY: every access goes through `with`, which requires being attached; attached threads
// are serialised by the GIL (the module declares `gil_used`), and `with`'s closure cannot
// re-enter (see `with`).
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// Runs `f` on the value. `f` must not run Python code (it may allocate a Python object
    /// that has no finalizer, like `bytes`), so nothing can re-enter while it holds `&mut T`.
    pub(crate) fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: exclusive per the Sync impl and `f`'s contract.
        f(unsafe { &mut *self.0.get() })
    }
}
