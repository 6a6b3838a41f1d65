//! core's [`Host`] over a native awaitable: what each machine step means in Python. No
//! sequencing here: which step follows which is `Continuation::resume`'s decision.

use std::panic::{catch_unwind, AssertUnwindSafe};

use awaitq_core::{ContError, Host, Inner, Started};
use pyo3::prelude::*;
use pyo3::Py;

use super::api::NativeAwaitable;
use super::entry::{Entry, OnDefer, OnError, OnResult};
use super::errors::{c_outcome, caught, cont_err, panic_err, raised_while};
use super::object::{ContObject, Kind};
use super::{future, iter, with};

/// The machine's view of one object, for one `resume` or `cancel`.
pub(crate) struct PyHost<'a, 'py> {
    pub(crate) py: Python<'py>,
    pub(crate) obj: &'a ContObject,
}

impl<'a, 'py> PyHost<'a, 'py> {
    pub(crate) fn new(py: Python<'py>, obj: &'a ContObject) -> Self {
        Self { py, obj }
    }

    /// The object as the Rust API's handle (for Rust callbacks).
    fn handle(&self) -> NativeAwaitable<'py> {
        NativeAwaitable::from_bound_unchecked(self.obj.to_bound(self.py))
    }
}

/// Runs a Rust callback; a panic becomes `PanicException` (so the machine discards cleanly).
fn guarded<R>(f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_err(p)))
}

impl Host for PyHost<'_, '_> {
    type Value = Py<PyAny>;
    type Error = PyErr;
    type Entry = Entry;

    fn next_entry(&mut self) -> PyResult<Option<Entry>> {
        match &self.obj.d.kind {
            Kind::Future(st) => future::poll(self.py, self.obj, st),
            Kind::Queue | Kind::With(_) => Ok(self.obj.pop()),
        }
    }

    fn start(&mut self, entry: &mut Entry) -> PyResult<Started> {
        match entry {
            Entry::Await {
                awaitable, iter, ..
            } => {
                *iter = Some(iter::await_iter(self.py, awaitable)?);
                Ok(Started::Awaiting)
            }
            Entry::Defer { decide, .. } => {
                match decide.take() {
                    Some(OnDefer::C(cb)) => {
                        // SAFETY: attached; the C contract: `aw` is borrowed for the call.
                        let r = unsafe { cb(self.obj.as_ptr()) };
                        c_outcome(self.py, r)
                            .map_err(|e| e.unwrap_or_else(|| cont_err(ContError::NoException)))?;
                    }
                    Some(OnDefer::Rust(f)) => {
                        let h = self.handle();
                        guarded(|| f(&h))?;
                    }
                    Some(OnDefer::WithEnter) => with::enter(self.py, self.obj)?,
                    None => {}
                }
                Ok(Started::Skipped)
            }
            Entry::Wait { parker } => match &self.obj.d.kind {
                Kind::Future(st) => future::arm(self.py, st, parker),
                _ => Ok(Started::Skipped),
            },
        }
    }

    fn send(&mut self, entry: &mut Entry, value: Py<PyAny>) -> Inner<Py<PyAny>, PyErr> {
        match entry {
            Entry::Await { iter: Some(it), .. } => iter::send(self.py, it, &value),
            Entry::Wait { parker } => future::wait_send(self.py, self.obj, parker),
            // Never started (core starts before sending): nothing to resume.
            _ => Inner::Returned(value),
        }
    }

    fn throw(&mut self, entry: &mut Entry, error: PyErr) -> Inner<Py<PyAny>, PyErr> {
        match entry {
            Entry::Await { iter: Some(it), .. } => iter::throw(self.py, it, error),
            Entry::Wait { .. } => {
                future::unpark(self.py, self.obj);
                Inner::Raised(error)
            }
            _ => Inner::Raised(error),
        }
    }

    fn close_inner(&mut self, entry: Entry) -> PyResult<()> {
        match entry {
            Entry::Await { iter: Some(it), .. } => iter::close(self.py, &it),
            Entry::Wait { .. } => {
                future::unpark(self.py, self.obj);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_result(&mut self, entry: Entry, value: Py<PyAny>) -> PyResult<()> {
        let Entry::Await { on_result, .. } = entry else {
            return Ok(()); // a wait entry: its end means "poll again"
        };
        match on_result {
            OnResult::Ignore => Ok(()),
            OnResult::C(cb) => {
                // SAFETY: attached; `aw` and `result` are borrowed for the call.
                let r = unsafe { cb(self.obj.as_ptr(), value.as_ptr()) };
                drop(value);
                c_outcome(self.py, r)
                    .map_err(|e| e.unwrap_or_else(|| cont_err(ContError::NoException)))
            }
            OnResult::Rust(f) => {
                let h = self.handle();
                guarded(|| f(&h, value.into_bound(self.py)))
            }
            OnResult::Reply(id) => {
                future::reply(self.obj, id, Ok(value));
                Ok(())
            }
            OnResult::With(stage) => with::on_result(self.py, self.obj, stage, value),
        }
    }

    fn on_error(&mut self, entry: Entry, error: PyErr) -> PyResult<()> {
        let on_error = match entry {
            Entry::Await { on_error, .. } | Entry::Defer { on_error, .. } => on_error,
            // Thrown in while the future waited on Rust: nothing in it can catch that.
            Entry::Wait { .. } => OnError::Raise,
        };
        let py = self.py;
        if !matches!(on_error, OnError::Raise) {
            caught(py, &error);
        }
        match on_error {
            OnError::Raise => Err(error),
            OnError::C(cb) => {
                // SAFETY: attached; `aw` and `exc` are borrowed for the call.
                let r = unsafe { cb(self.obj.as_ptr(), error.value(py).as_ptr()) };
                match c_outcome(py, r) {
                    Ok(()) => Ok(()),
                    // -1 with nothing set: not handled, the original goes on.
                    Err(None) => Err(error),
                    Err(Some(new)) => Err(raised_while(py, new, error)),
                }
            }
            OnError::Rust(f) => {
                let h = self.handle();
                let original = error.clone_ref(py);
                guarded(|| f(&h, error)).map_err(|new| raised_while(py, new, original))
            }
            OnError::Reply(id) => {
                future::reply(self.obj, id, Err(error));
                Ok(())
            }
            OnError::With(stage) => with::on_error(py, self.obj, stage, error),
        }
    }

    fn discard_pending(&mut self) {
        let py = self.py;
        if let Kind::Future(st) = &self.obj.d.kind {
            future::discard(py, st);
        }
        let queue = std::mem::take(&mut *self.obj.d.queue.borrow_mut());
        self.obj.d.cursor.set(Default::default());
        // Now that nothing borrows the queue: closing runs Python, which may add or cancel.
        for entry in queue {
            if let Entry::Await {
                awaitable,
                iter: None,
                ..
            } = &entry
            {
                iter::close_unstarted(py, awaitable);
            }
        }
    }

    fn take_result(&mut self) -> Py<PyAny> {
        self.obj.d.result.take().unwrap_or_else(|| self.py.None())
    }

    fn none(&self) -> Py<PyAny> {
        self.py.None()
    }

    fn is_none(&self, value: &Py<PyAny>) -> bool {
        value.is_none(self.py)
    }
}
