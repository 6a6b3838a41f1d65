//! core's [`Host`] over a native awaitable: what each machine step means in MicroPython. No
//! sequencing here: which step follows which is `Continuation::resume`'s decision.

use awaitq_core::{Host, Inner, Started};

use super::entry::{Body, Entry, OnDefer, OnError, OnResult};
use super::iter::{self, required};
use super::obj::Obj;
use super::object::{Cont, Kind};
use super::{future, with};

/// The machine's view of one object, for one `resume` or `cancel`.
pub(crate) struct MpHost<'a> {
    c: Cont<'a>,
}

impl<'a> MpHost<'a> {
    pub(crate) fn new(c: Cont<'a>) -> Self {
        Self { c }
    }

    /// Keeps `entry`'s node reachable from the object while MicroPython runs for it.
    fn anchor(&self, entry: &Entry) {
        self.c.st.anchor.set(entry.as_ptr());
    }
}

impl Host for MpHost<'_> {
    type Value = Obj;
    type Error = Obj;
    type Entry = Entry;

    fn next_entry(&mut self) -> Result<Option<Entry>, Obj> {
        match self.c.st.kind {
            Kind::Future => future::poll(self.c),
            Kind::Queue | Kind::With => Ok(self.c.st.queue.pop()),
        }
    }

    fn start(&mut self, entry: &mut Entry) -> Result<Started, Obj> {
        self.anchor(entry);
        match entry.body() {
            Body::Await {
                awaitable, iter, ..
            } => {
                iter.set(iter::await_iter(*awaitable)?);
                Ok(Started::Awaiting)
            }
            Body::Defer { decide, .. } => {
                match decide.take() {
                    Some(OnDefer::C(cb)) => required(iter::defer_cb(cb, self.c.obj))?,
                    Some(OnDefer::WithEnter) => with::enter(self.c)?,
                    None => {}
                }
                Ok(Started::Skipped)
            }
            Body::Wait { .. } => future::arm(self.c),
        }
    }

    fn send(&mut self, entry: &mut Entry, value: Obj) -> Inner<Obj, Obj> {
        self.anchor(entry);
        match entry.body() {
            Body::Await { iter, .. } if !iter.get().is_null() => iter::send(iter.get(), value),
            Body::Wait { yielded } => future::wait_send(self.c, yielded),
            // Never started (core starts before sending): nothing to resume.
            _ => Inner::Returned(value),
        }
    }

    fn throw(&mut self, entry: &mut Entry, error: Obj) -> Inner<Obj, Obj> {
        self.anchor(entry);
        match entry.body() {
            Body::Await { iter, .. } if !iter.get().is_null() => iter::throw(iter.get(), error),
            Body::Wait { .. } => {
                future::unpark(self.c);
                Inner::Raised(error)
            }
            _ => Inner::Raised(error),
        }
    }

    fn close_inner(&mut self, entry: Entry) -> Result<(), Obj> {
        let (iter, wait) = match entry.body() {
            Body::Await { iter, .. } => (iter.get(), false),
            Body::Wait { .. } => (Obj::NULL, true),
            Body::Defer { .. } => (Obj::NULL, false),
        };
        self.c.recycle(entry);
        if wait {
            future::unpark(self.c);
        }
        if iter.is_null() {
            Ok(())
        } else {
            iter::close(iter) // a local: on the stack the collector scans
        }
    }

    fn on_result(&mut self, entry: Entry, value: Obj) -> Result<(), Obj> {
        let on_result = match entry.body() {
            Body::Await { on_result, .. } => Some(*on_result),
            _ => None, // a wait entry: its end means "poll again"
        };
        // Done: its node is the spare the callback's next await reuses.
        self.c.recycle(entry);
        let Some(on_result) = on_result else {
            return Ok(());
        };
        match on_result {
            OnResult::Ignore => Ok(()),
            OnResult::C(cb) => required(iter::result_cb(cb, self.c.obj, value)),
            OnResult::Reply(id) => {
                future::reply(self.c, id, Ok(value));
                Ok(())
            }
            OnResult::With(stage) => with::on_result(self.c, stage, value),
        }
    }

    fn on_error(&mut self, entry: Entry, error: Obj) -> Result<(), Obj> {
        let on_error = match entry.body() {
            Body::Await { on_error, .. } | Body::Defer { on_error, .. } => *on_error,
            // Thrown in while the future waited on Rust: nothing in it can catch that.
            Body::Wait { .. } => OnError::Raise,
        };
        self.c.recycle(entry);
        match on_error {
            OnError::Raise => Err(error),
            OnError::C(cb) => match iter::error_cb(cb, self.c.obj, error) {
                Ok(()) => Ok(()),
                // -1 with nothing recorded: not handled, the original goes on. A new one
                // replaces it (MicroPython has no __context__ to chain them).
                Err(new) => Err(new.unwrap_or(error)),
            },
            OnError::Reply(id) => {
                future::reply(self.c, id, Err(error));
                Ok(())
            }
            OnError::With(stage) => with::on_error(self.c, stage, error),
        }
    }

    fn discard_pending(&mut self) {
        if self.c.st.kind == Kind::Future {
            future::discard(self.c);
        }
        // Taken out first: closing runs MicroPython, which may add or cancel.
        for entry in self.c.st.queue.take_all() {
            if let Body::Await {
                awaitable, iter, ..
            } = entry.body()
            {
                if iter.get().is_null() {
                    iter::close_unstarted(*awaitable);
                }
            }
        }
    }

    fn take_result(&mut self) -> Obj {
        let r = self.c.st.result.replace(Obj::NULL);
        if r.is_null() {
            Obj::none()
        } else {
            r
        }
    }

    fn none(&self) -> Obj {
        Obj::none()
    }

    fn is_none(&self, value: &Obj) -> bool {
        value.is_none()
    }
}
