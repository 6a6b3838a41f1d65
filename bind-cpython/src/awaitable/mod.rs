//! `awaitq.Awaitable`: the object `recv()`, `recv_tagged()`, `recv_into()`, `recv_many()`,
//! `send()` and `__anext__()` return, one native type parameterised by a [`Kind`].
//!
//! It speaks the whole coroutine protocol: `am_await` (returns itself), `am_send` (a ready
//! frame is returned as `PYGEN_RETURN`, with no `StopIteration` created), `tp_iternext`, and
//! `send` / `throw` / `close` methods, so it works when CPython's `SEND` falls back to
//! `__next__`/`send()` (under a tracer, and always on 3.12+) and under hand-written drivers.
//!
//! Why not a `#[pyclass]`: PyO3's macros cannot declare `am_send`, and under the limited API
//! a type object is opaque, so a slot cannot be patched into a pyclass afterwards. The type is
//! built from `PyType_Spec` slots instead (`Py_am_send` is in the limited API since 3.10, so
//! the abi3 wheel keeps it). The layout is a `#[repr(C)]` struct after `PyObject_HEAD`.
//!
//! A channel keeps one awaitable and hands it out again once nobody else holds it
//! ([`cache`]): the ready path of `await ch.recv()` allocates only the payload `bytes`.

pub(crate) mod cache;
mod slots;

pub(crate) use slots::{trampoline, type_object};
mod state;

use std::cell::UnsafeCell;

use pyo3::ffi;
use pyo3::prelude::*;

pub(crate) use state::{new_bytes, Kind};
use state::{Inner, Out};

use crate::errors::Failure;
use crate::gil::{ObjSlot, RunFlag};
use crate::wake::park::FutSlot;

/// The object layout. Only `fut` and `arg` hold Python references the garbage collector must
/// see; `inner` is Rust state, touched only inside a step (guarded by `running`) or when the
/// object is provably unshared (refcount 1, or being deallocated).
///
/// Threads (with or without the GIL): one step at a time. A step entered while another runs
/// — re-entrantly from the same thread, or from a second thread (free-threaded CPython, or a
/// step that released the GIL) — is refused with `RuntimeError` and changes nothing; `fut` is
/// also taken by the reader callback of the loop the awaitable parked in, which is safe
/// against a concurrent step ([`FutSlot`]).
#[repr(C)]
pub(crate) struct AwaitObject {
    ob_base: ffi::PyObject,
    /// The future yielded while parked in an event loop.
    fut: FutSlot,
    /// `recv_into`'s buffer (touched inside a step, or by the collector).
    arg: ObjSlot,
    /// Set during a step: a re-entrant or concurrent resume is refused instead of aliasing
    /// `inner`.
    running: RunFlag,
    inner: UnsafeCell<Inner>,
}

/// Exclusive access to `inner` for the length of a step.
struct Running<'a> {
    aw: &'a AwaitObject,
}

impl<'a> Running<'a> {
    fn enter(aw: &'a AwaitObject) -> Result<Self, Failure> {
        if !aw.running.enter() {
            return Err(Failure::Reentered);
        }
        Ok(Self { aw })
    }

    fn inner(&mut self) -> &mut Inner {
        // SAFETY: `running` was false and is now ours: no other step, and no reuse (the
        // caller holds a reference, so the refcount is above 1), touches `inner` until drop.
        unsafe { &mut *self.aw.inner.get() }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.aw.running.leave();
    }
}

impl AwaitObject {
    /// `send(value)` and friends (`value` is `None` for `__next__`).
    fn step_send(&self, py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Out> {
        let mut run = Running::enter(self)?;
        run.inner().send(py, self, value)
    }

    /// `throw(exc)`: cancels the wait and returns the error to raise.
    fn step_throw(&self, py: Python<'_>, err: PyErr) -> PyErr {
        match Running::enter(self) {
            Ok(mut run) => {
                run.inner().throw(py, self);
                err
            }
            Err(f) => f.into(),
        }
    }

    /// `close()`.
    fn step_close(&self, py: Python<'_>) -> PyResult<()> {
        let mut run = Running::enter(self)?;
        run.inner().close(py, self);
        Ok(())
    }
}
