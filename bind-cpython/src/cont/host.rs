//! core's [`Host`] over a native awaitable: what each machine step means in Python. No
//! sequencing here: which step follows which is `Continuation::resume`'s decision.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use awaitq_core::{ContError, Host, Inner, Started};
use pyo3::prelude::*;

use super::api::NativeAwaitable;
use super::entry::{Entry, OnDefer, OnError, OnResult};
use super::obj::{attached, Exc, Obj};
use super::object::{ContObject, Kind};
use super::{future, iter, with};

/// The machine's view of one object, for one `resume` or `cancel`.
pub(crate) struct PyHost<'a> {
    pub(crate) obj: &'a ContObject,
}

impl<'a> PyHost<'a> {
    pub(crate) fn new(obj: &'a ContObject) -> Self {
        Self { obj }
    }
}

/// The outcome of a C callback that returned `r`: `Ok` for `r >= 0` with nothing raised; the
/// raised exception otherwise, or `None` for -1 with nothing raised (the caller decides what
/// that means).
pub(crate) fn c_outcome(r: c_int) -> Result<(), Option<Exc>> {
    match Exc::take() {
        Some(e) => Err(Some(e)),
        None if r < 0 => Err(None),
        None => Ok(()),
    }
}

/// Runs a Rust callback of the Rust API with `aw` as its handle, counted as attached (it is
/// PyO3 code); a panic becomes `PanicException` (so the machine discards cleanly).
pub(crate) fn run_rust<R>(
    obj: &ContObject,
    f: impl for<'py> FnOnce(Python<'py>, &NativeAwaitable<'py>) -> PyResult<R>,
) -> Result<R, Exc> {
    attached(|py| {
        let h = NativeAwaitable::from_bound_unchecked(obj.to_obj().into_py(py).into_bound(py));
        match catch_unwind(AssertUnwindSafe(|| f(py, &h))) {
            Ok(r) => r.map_err(|e| Exc::from_pyerr(py, e)),
            Err(p) => Err(Exc::panic(p)),
        }
    })
}

impl Host for PyHost<'_> {
    type Value = Obj;
    type Error = Exc;
    type Entry = Entry;

    fn next_entry(&mut self) -> Result<Option<Entry>, Exc> {
        match &self.obj.d.kind {
            Kind::Future(st) => future::poll(self.obj, st),
            Kind::Queue | Kind::With(_) => Ok(self.obj.pop()),
        }
    }

    fn start(&mut self, entry: &mut Entry) -> Result<Started, Exc> {
        match entry {
            Entry::Await {
                awaitable, iter, ..
            } => {
                *iter = Some(iter::await_iter(awaitable)?);
                Ok(Started::Awaiting)
            }
            Entry::Defer { decide, .. } => {
                match decide.take() {
                    Some(OnDefer::C(cb)) => {
                        // SAFETY: attached; the C contract: `aw` is borrowed for the call.
                        let r = unsafe { cb(self.obj.as_ptr()) };
                        c_outcome(r)
                            .map_err(|e| e.unwrap_or_else(|| Exc::cont(ContError::NoException)))?;
                    }
                    Some(OnDefer::Rust(f)) => {
                        let f = f.into_inner();
                        run_rust(self.obj, move |_, h| f(h))?;
                    }
                    Some(OnDefer::WithEnter) => with::enter(self.obj)?,
                    None => {}
                }
                Ok(Started::Skipped)
            }
            Entry::Wait { parker } => match &self.obj.d.kind {
                Kind::Future(st) => future::arm(st, parker),
                _ => Ok(Started::Skipped),
            },
        }
    }

    fn send(&mut self, entry: &mut Entry, value: Obj) -> Inner<Obj, Exc> {
        match entry {
            Entry::Await { iter: Some(it), .. } => iter::send(it, &value),
            Entry::Wait { parker } => future::wait_send(self.obj, parker, &value),
            // Never started (core starts before sending): nothing to resume.
            _ => Inner::Returned(value),
        }
    }

    fn throw(&mut self, entry: &mut Entry, error: Exc) -> Inner<Obj, Exc> {
        match entry {
            Entry::Await { iter: Some(it), .. } => iter::throw(it, error),
            Entry::Wait { .. } => {
                future::unpark(self.obj);
                Inner::Raised(error)
            }
            _ => Inner::Raised(error),
        }
    }

    fn close_inner(&mut self, entry: Entry) -> Result<(), Exc> {
        match entry {
            Entry::Await { iter: Some(it), .. } => iter::close(&it),
            Entry::Wait { .. } => {
                future::unpark(self.obj);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_result(&mut self, entry: Entry, value: Obj) -> Result<(), Exc> {
        let Entry::Await { on_result, .. } = entry else {
            return Ok(()); // a wait entry: its end means "poll again"
        };
        match on_result {
            OnResult::Ignore => Ok(()),
            OnResult::C(cb) => {
                // SAFETY: attached; `aw` and `result` are borrowed for the call.
                let r = unsafe { cb(self.obj.as_ptr(), value.as_ptr()) };
                drop(value);
                c_outcome(r).map_err(|e| e.unwrap_or_else(|| Exc::cont(ContError::NoException)))
            }
            OnResult::Rust(f) => {
                let f = f.into_inner();
                run_rust(self.obj, move |py, h| {
                    f(h, value.into_py(py).into_bound(py))
                })
            }
            OnResult::Reply(id) => {
                future::reply(self.obj, id, Ok(value));
                Ok(())
            }
            OnResult::With(stage) => with::on_result(self.obj, stage, value),
        }
    }

    fn on_error(&mut self, entry: Entry, error: Exc) -> Result<(), Exc> {
        let on_error = match entry {
            Entry::Await { on_error, .. } | Entry::Defer { on_error, .. } => on_error,
            // Thrown in while the future waited on Rust: nothing in it can catch that.
            Entry::Wait { .. } => OnError::Raise,
        };
        match on_error {
            OnError::Raise => Err(error),
            OnError::C(cb) => {
                // SAFETY: attached; `aw` and `exc` are borrowed for the call.
                let r = unsafe { cb(self.obj.as_ptr(), error.as_ptr()) };
                match c_outcome(r) {
                    Ok(()) => Ok(()),
                    // -1 with nothing set: not handled, the original goes on.
                    Err(None) => Err(error),
                    Err(Some(new)) => Err(new.raised_while(error)),
                }
            }
            OnError::Rust(f) => {
                let f = f.into_inner();
                let original = Exc::clone_of(&error);
                run_rust(self.obj, move |py, h| f(h, error.into_pyerr(py)))
                    .map_err(|new| new.raised_while(original))
            }
            OnError::Reply(id) => {
                future::reply(self.obj, id, Err(error));
                Ok(())
            }
            OnError::With(stage) => with::on_error(self.obj, stage, error),
        }
    }

    fn discard_pending(&mut self) {
        if let Kind::Future(st) = &self.obj.d.kind {
            future::discard(st);
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
                iter::close_unstarted(awaitable);
            }
        }
    }

    fn take_result(&mut self) -> Obj {
        self.obj.d.result.take().unwrap_or_else(Obj::none)
    }

    fn none(&self) -> Obj {
        Obj::none()
    }

    fn is_none(&self, value: &Obj) -> bool {
        value.is_none()
    }
}
