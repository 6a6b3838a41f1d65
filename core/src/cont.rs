//! Native continuations: an awaitable that awaits other awaitables one after another and hands
//! each outcome to native code (a callback, or a Rust future's poll), which may queue more awaits
//! and finally sets a result. The sequencing is decided here once; each binding implements
//! [`Host`] over its object model (PyO3 objects, `mp_obj_t`) and translates [`ContStep`]s, as it
//! does for [`Step`](crate::Step).
//!
//! While an *inner* awaitable runs, the continuation is a transparent `yield from`: what the
//! inner yields goes up to the driver unchanged, and the driver's `send`/`throw` go down to it
//! unchanged. Between inners nothing is yielded: result, error callback, next start run in one
//! loop (no recursion: 100 000 chained awaits use the stack of one).
//!
//! | phase     | `Send(v)`                                            | `Throw(e)`              | `Close`                                  |
//! |-----------|------------------------------------------------------|-------------------------|------------------------------------------|
//! | Fresh     | `v` not None: `Refused(NonNoneStart)`, stays Fresh; else **run** | discard, `Raise(e)` | discard, `Closed`                        |
//! | Awaiting  | `send(cur, v)` → **step**                             | `throw(cur, e)` → **step** | `close_inner(cur)`, discard: `Closed`, or `Raise` its error |
//! | Cancelled | **run** (`v` is dropped)                             | discard, `Raise(e)`     | discard, `Closed`                        |
//! | Running   | `Refused(Running)`                                   | `Refused(Running)`      | `Refused(Running)`                       |
//! | Finished  | `Refused(Exhausted)`                                 | `Raise(e)`              | `Closed`                                 |
//!
//! - **step** (what the inner did): `Yielded(v)` → `Yield(v)`, phase Awaiting. `Returned(v)` →
//!   [`on_result`](Host::on_result): `Ok` → **run**, `Err(e)` → discard, `Raise(e)`.
//!   `Raised(e)` → [`on_error`](Host::on_error): `Ok` (handled) → **run**, `Err(e2)` → discard,
//!   `Raise(e2)`.
//! - **run**: [`next_entry`](Host::next_entry): none left → `Return(take_result())`; `Err(e)` →
//!   discard, `Raise(e)`; an entry → [`start`](Host::start) it: `Awaiting` → `send(entry, None)`
//!   → **step**; `Skipped` → **run**; `Err(e)` → as if the inner raised `e` (its error callback
//!   gets a chance).
//! - *discard* = [`discard_pending`](Host::discard_pending). `Return`, `Raise` and `Closed` all
//!   leave the phase Finished; `Refused` changes nothing.
//! - [`cancel`](Continuation::cancel), native code giving up: Fresh/Cancelled → discard;
//!   Awaiting → `close_inner(cur)`, discard, phase Cancelled (the next `send` returns the
//!   result); Running (a callback or the inner cancels its own continuation) → discard, and the
//!   step in progress completes normally; Finished → nothing.
//!
//! # Decisions
//!
//! - The first `send` must be `None`, as for a coroutine (`TypeError`): an awaitable is always
//!   started by `send(None)`, and an inner started later also gets `None`.
//! - A throw with no inner to forward to (Fresh, Cancelled) is raised as is and no callback runs:
//!   like throwing into a just-created coroutine, whose body never started.
//! - An error raised *by a result callback* does not go to that entry's error callback, as in
//!   `try: v = await x / except: on_error / else: on_result(v)`. A failing `start` (not
//!   awaitable, `__await__` raised, a deferred decision failed) does.
//! - `Close` means "being discarded": the inner's `finally` runs, no callback does, queued awaits
//!   are dropped. Cancellation that callbacks must see is a `Throw` (a task cancel, a timeout).
//! - Re-entry (a callback or the inner resuming its own continuation) is refused, as a running
//!   generator refuses (`ValueError`). A panic in a host method leaves the phase Finished.
//! - Awaits added at run time run *next*, before those queued earlier, in the order added
//!   ([`AddCursor`]): a callback's awaits are the rest of its code, as after an `await`.
//!
//! # `async with` and deferred awaits, on top of this machine
//!
//! A deferred await is an entry whose `start` runs the deciding callback: it adds awaits (they
//! run next, by the [`AddCursor`] rule) and returns `Skipped`. `async with cm` needs no machine
//! feature: it is one entry whose awaitable is a *nested* continuation `S` (any continuation is an
//! awaitable), so the body's failures are caught at one boundary, as a `try` block does. Its
//! callbacks feed an [`AsyncWith`], which decides (`__aexit__`'s arguments, suppression):
//!
//! 1. `S` awaits `__aenter__(cm)`. Its result callback: `Entered` → `RunBody`: run
//!    `body(B, value)` on a second nested continuation `B` (the body's awaits go into `B`), then
//!    add `await B` to `S`. Its error callback: `EnterRaised`.
//! 2. `B`'s result / error callbacks in `S`: `BodyReturned` / `BodyRaised(e)` (also when `body`
//!    itself failed: then `B` is not awaited) → `AwaitExit`: add `await __aexit__(..)` to `S`.
//! 3. `__aexit__`'s callbacks: `Exited { truthy }` / `ExitRaised` → `Finish` (return `Ok`) or
//!    `Raise` (return `Err`, with its context attached).
//! 4. The outer continuation awaits `S` with the user's error callback, which thus sees
//!    `__aenter__`'s errors and the body's unsuppressed ones.
//!
//! # A Rust future as the host
//!
//! There is no queue: [`next_entry`](Host::next_entry) polls the future. `Ready(Ok(v))` → store
//! `v` as the result, `Ok(None)`; `Ready(Err(e))` or a caught panic → `Err(e)`; `Pending` after
//! the future asked to await a Python awaitable (it put the object in a request slot the host
//! shares with the awaiting sub-future) → that entry; `Pending` otherwise → a *wait* entry whose
//! inner is the binding's parking awaitable, completed by the future's `Waker` through the wake
//! hook ([`WakeHook`](crate::WakeHook), callable from any thread without the GIL). `on_result`
//! / `on_error` put the outcome in the reply slot the sub-future returns on the next poll (the
//! error callback "handles" it: the future decides); `on_error` of a wait entry returns `Err`.
//! `discard_pending` drops the future: a `close`, a cancel or an unhandled throw runs its drop.
//! No lost wake-up: the `Waker` sets a `woken` flag before calling the hook; the host clears it
//! before each poll, and a wait entry's `start` arms the parker *then* returns `Skipped` (poll
//! again) if the flag is set.

use core::cell::Cell;
use core::fmt;

use crate::message::{Message, Piece};

mod with;
pub use with::{AsyncWith, WithAction, WithEvent};

/// One step of the inner awaitable: what its `send`/`throw` (or `__next__`) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner<V, E> {
    /// It yielded `V` (suspended): pass it up to the driver.
    Yielded(V),
    /// It returned `V` (`StopIteration(V)`): hand it to the result callback.
    Returned(V),
    /// It raised `E` (not `StopIteration`): hand it to the error callback.
    Raised(E),
}

/// What [`Host::start`] did with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    /// The entry's inner iterator is ready: the machine sends `None` into it.
    Awaiting,
    /// Nothing to await (a deferred decision that added its awaits, a wake that already came):
    /// the machine drops the entry and takes the next.
    Skipped,
}

/// How the driver resumes the continuation: [`Resume`](crate::Resume)'s three verbs, with the
/// values they carry here (a continuation passes them on instead of ignoring them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContInput<V, E> {
    /// `send(v)` / `__next__()` (then `v` is `None`).
    Send(V),
    /// `throw(e)`.
    Throw(E),
    /// `close()`.
    Close,
}

/// What the binding must do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContStep<V, E> {
    /// Suspend: yield `V` to the driver (it came from the inner, unchanged).
    Yield(V),
    /// Complete with `V` (return it / raise `StopIteration(V)`).
    Return(V),
    /// Complete by raising `E` (also a thrown-in exception coming back out).
    Raise(E),
    /// `close()` done: return `None`.
    Closed,
    /// The call was refused and nothing changed: raise [`ContError`]'s exception.
    Refused(ContError),
}

/// Where a continuation is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContPhase {
    /// Created, never resumed; awaits may be queued.
    #[default]
    Fresh,
    /// Suspended inside an inner awaitable: the driver's next `send`/`throw` goes to it.
    Awaiting,
    /// Native code cancelled the inner it was suspended in: the next `send` carries on with the
    /// queue (normally empty, so it returns the result).
    Cancelled,
    /// Inside a `resume` or `cancel` (host code is running): re-entry is refused.
    Running,
    /// Returned, raised or closed: nothing more will happen.
    Finished,
}

/// A misuse the machine refuses, or the C API reports; the text is shared by both bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContError {
    /// The first `send` of a fresh continuation was not `None`.
    NonNoneStart,
    /// Resumed while already running (from its own callback or inner).
    Running,
    /// Resumed with `send` after it finished.
    Exhausted,
    /// An await added, deferred, or a result set after it finished ([`Continuation::check_open`]).
    Finished,
    /// The object given to await has neither `__await__` nor the iterator protocol.
    NotAwaitable,
    /// `async with` on an object without `__aenter__`/`__aexit__`.
    NotAsyncContextManager,
    /// A C callback returned -1 without raising anything.
    NoException,
    /// The C API asked to unpack more saved values than were saved.
    TooFewValues {
        /// Values saved.
        saved: usize,
        /// Values asked for.
        wanted: usize,
    },
    /// A C API function got a NULL object or array where one is required.
    NullArgument,
    /// A C API function got an object that is not one of the binding's native awaitables.
    NotNativeAwaitable,
    /// A Rust future asked to await a second Python awaitable while one is requested (e.g.
    /// `join!` of two awaits): its host runs one inner at a time.
    OneAwaitAtATime,
    /// A Rust future's await of a Python awaitable was polled by something other than the
    /// binding's future host (another executor), which cannot run Python awaitables.
    NotInFuture,
}

/// The Python exception type a [`ContError`] is raised as, on both targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExcType {
    /// `TypeError`
    TypeError,
    /// `ValueError`
    ValueError,
    /// `RuntimeError`
    RuntimeError,
    /// `SystemError`: a C extension broke the API's contract.
    SystemError,
}

impl ContError {
    /// The exception type to raise.
    pub const fn exc_type(&self) -> ExcType {
        match self {
            Self::NonNoneStart | Self::NotAwaitable | Self::NotAsyncContextManager => {
                ExcType::TypeError
            }
            Self::NotNativeAwaitable => ExcType::TypeError,
            Self::Running => ExcType::ValueError,
            Self::Exhausted | Self::Finished | Self::OneAwaitAtATime | Self::NotInFuture => {
                ExcType::RuntimeError
            }
            Self::NoException | Self::TooFewValues { .. } | Self::NullArgument => {
                ExcType::SystemError
            }
        }
    }
}

impl Message for ContError {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        let text = match *self {
            Self::NonNoneStart => "can't send non-None value to a just-started awaitable",
            Self::Running => "awaitable already executing",
            Self::Exhausted => "cannot reuse already awaited awaitable",
            Self::Finished => "awaitable has finished: nothing more can be added",
            Self::NotAwaitable => "object can't be used in 'await' expression",
            Self::NotAsyncContextManager => {
                "object does not support the asynchronous context manager protocol"
            }
            Self::NoException => "callback returned -1 without raising an exception",
            Self::TooFewValues { saved, wanted } => {
                out(Piece::Text("cannot unpack "));
                out(Piece::Num(wanted));
                out(Piece::Text(" values: only "));
                out(Piece::Num(saved));
                out(Piece::Text(" saved"));
                return;
            }
            Self::NullArgument => "NULL argument to an awaitq C API function",
            Self::NotNativeAwaitable => "expected an awaitq native awaitable",
            Self::OneAwaitAtATime => "a Rust future can await one Python awaitable at a time",
            Self::NotInFuture => {
                "a Python awaitable can only be awaited inside a Rust future that awaitq runs"
            }
        };
        out(Piece::Text(text));
    }
}

crate::message::display_via_pieces!(ContError);

impl core::error::Error for ContError {}

/// The order of queued awaits, for hosts with a queue: an await added goes after those added
/// since the last entry was taken and before everything queued earlier. So awaits added while
/// an entry runs (its callbacks, a deferred decision) run right after it, in the order added,
/// and awaits added before the first resume run in the order added.
///
/// ```
/// use awaitq_core::AddCursor;
/// use std::collections::VecDeque;
/// let (mut q, mut at) = (VecDeque::new(), AddCursor::new());
/// for x in ["a", "b"] { let i = at.insert_index(q.len()); q.insert(i, x); }
/// at.reset(); assert_eq!(q.pop_front(), Some("a"));      // next_entry takes "a"
/// for x in ["c", "d"] { let i = at.insert_index(q.len()); q.insert(i, x); } // a's callback
/// assert_eq!(q, ["c", "d", "b"]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddCursor {
    added: usize,
}

impl AddCursor {
    /// A cursor for an empty queue.
    pub const fn new() -> Self {
        Self { added: 0 }
    }

    /// Where (in a queue of `len` entries) to insert the await being added now.
    pub fn insert_index(&mut self, len: usize) -> usize {
        let at = self.added.min(len);
        self.added = at + 1;
        at
    }

    /// Call when an entry is taken from the front, and when the queue is emptied.
    pub fn reset(&mut self) {
        self.added = 0;
    }
}

/// A binding's object model, as the machine drives it. Implement it on a short-lived handle
/// (the awaitable object, borrowed for one call): a callback may add awaits, set the result or
/// cancel the same continuation while a method runs, so keep the state in cells and never hold
/// a borrow of it across a call into Python or into a callback.
pub trait Host {
    /// A value: a Python object, `None` included.
    type Value;
    /// An exception object. When native code raises a new exception while handling one, the
    /// host attaches the one being handled (`__context__`), so the cause comes out with it.
    type Error;
    /// One queued await: the awaitable (then its iterator) and what to do with its outcome.
    type Entry;

    /// Takes the next entry (see [`AddCursor`]), or `None` when nothing is left; a Rust future
    /// host polls the future here. `Err` finishes the continuation with that error.
    fn next_entry(&mut self) -> Result<Option<Self::Entry>, Self::Error>;
    /// Prepares an entry: get its iterator (`__await__()`, or the object itself if it is an
    /// iterator, else [`ContError::NotAwaitable`]), or run its deferred decision.
    fn start(&mut self, entry: &mut Self::Entry) -> Result<Started, Self::Error>;
    /// Sends `value` into the entry's inner (`am_send`, `send`, or `__next__` for `None`).
    fn send(
        &mut self,
        entry: &mut Self::Entry,
        value: Self::Value,
    ) -> Inner<Self::Value, Self::Error>;
    /// Throws `error` into the entry's inner. An inner without `throw` gets nothing:
    /// return `Raised(error)` (it surfaces at the `await`, as in `yield from`).
    fn throw(
        &mut self,
        entry: &mut Self::Entry,
        error: Self::Error,
    ) -> Inner<Self::Value, Self::Error>;
    /// Closes the entry's inner (`close()`, so its `finally` runs; nothing if it has none).
    fn close_inner(&mut self, entry: Self::Entry) -> Result<(), Self::Error>;
    /// The inner returned `value`: run the entry's result callback (if any). `Err` finishes the
    /// continuation with that error.
    fn on_result(&mut self, entry: Self::Entry, value: Self::Value) -> Result<(), Self::Error>;
    /// The inner (or `start`) raised `error`: run the entry's error callback. `Ok` = handled,
    /// carry on; `Err` = raise (`error` itself when there is no callback).
    fn on_error(&mut self, entry: Self::Entry, error: Self::Error) -> Result<(), Self::Error>;
    /// Drops every queued, unstarted entry (closing un-started coroutines, so Python does not
    /// warn that they were never awaited) and resets the [`AddCursor`]; a Rust future host
    /// drops the future. Must tolerate being re-entered and being called on an empty queue.
    fn discard_pending(&mut self);
    /// The result set by native code, or `None`.
    fn take_result(&mut self) -> Self::Value;
    /// `None`, sent into each freshly started inner.
    fn none(&self) -> Self::Value;
    /// Whether `value` is `None`.
    fn is_none(&self, value: &Self::Value) -> bool;
}

/// The state of one native continuation. Shared-reference methods over cells, so a binding can
/// keep it in its object and a re-entrant call is refused here rather than in each binding.
pub struct Continuation<En> {
    phase: Cell<ContPhase>,
    /// The entry being awaited: `Some` only while Awaiting (taken out while Running).
    current: Cell<Option<En>>,
}

impl<En> Default for Continuation<En> {
    fn default() -> Self {
        Self::new()
    }
}

impl<En> fmt::Debug for Continuation<En> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Continuation")
            .field("phase", &self.phase.get())
            .finish_non_exhaustive()
    }
}

type Outcome<H> = (ContPhase, ContStep<<H as Host>::Value, <H as Host>::Error>);

/// An entry whose inner just moved, and how.
type Moved<H> = Option<(
    <H as Host>::Entry,
    Inner<<H as Host>::Value, <H as Host>::Error>,
)>;

impl<En> Continuation<En> {
    /// A fresh continuation.
    pub const fn new() -> Self {
        Self {
            phase: Cell::new(ContPhase::Fresh),
            current: Cell::new(None),
        }
    }

    /// Where the continuation is.
    pub fn phase(&self) -> ContPhase {
        self.phase.get()
    }

    /// Whether native code may still add awaits or set the result: `Err(Finished)` once
    /// finished (they would never run or be seen).
    pub fn check_open(&self) -> Result<(), ContError> {
        match self.phase.get() {
            ContPhase::Finished => Err(ContError::Finished),
            _ => Ok(()),
        }
    }

    /// Advances the continuation; see the module's table.
    pub fn resume<H: Host<Entry = En>>(
        &self,
        host: &mut H,
        input: ContInput<H::Value, H::Error>,
    ) -> ContStep<H::Value, H::Error> {
        let input = match (self.phase.get(), input) {
            (ContPhase::Running, _) => return ContStep::Refused(ContError::Running),
            (ContPhase::Finished, ContInput::Send(_)) => {
                return ContStep::Refused(ContError::Exhausted)
            }
            (ContPhase::Finished, ContInput::Throw(e)) => return ContStep::Raise(e),
            (ContPhase::Finished, ContInput::Close) => return ContStep::Closed,
            (ContPhase::Fresh, ContInput::Send(v)) if !host.is_none(&v) => {
                return ContStep::Refused(ContError::NonNoneStart)
            }
            (_, input) => input,
        };
        let guard = RunGuard::enter(&self.phase);
        // `Some` exactly when the phase was Awaiting.
        let current = self.current.take();
        let (phase, step) = match (input, current) {
            (ContInput::Send(v), Some(mut entry)) => {
                let inner = host.send(&mut entry, v);
                self.drive(host, Some((entry, inner)))
            }
            // Fresh (v is None) or Cancelled (v answered a yield of the cancelled inner).
            (ContInput::Send(_), None) => self.drive(host, None),
            (ContInput::Throw(e), Some(mut entry)) => {
                let inner = host.throw(&mut entry, e);
                self.drive(host, Some((entry, inner)))
            }
            (ContInput::Throw(e), None) => fail::<H>(host, e),
            (ContInput::Close, current) => {
                let closed = current.map_or(Ok(()), |entry| host.close_inner(entry));
                host.discard_pending();
                let step = closed.map_or_else(ContStep::Raise, |()| ContStep::Closed);
                (ContPhase::Finished, step)
            }
        };
        guard.leave(phase);
        step
    }

    /// Native code gives up on the awaits not yet finished (the C API's cancel); see the
    /// module's table. `Err` is what closing the inner raised; the cancel happened anyway.
    pub fn cancel<H: Host<Entry = En>>(&self, host: &mut H) -> Result<(), H::Error> {
        let from = self.phase.get();
        match from {
            ContPhase::Finished => Ok(()),
            ContPhase::Running => {
                host.discard_pending();
                Ok(())
            }
            ContPhase::Fresh | ContPhase::Cancelled | ContPhase::Awaiting => {
                let guard = RunGuard::enter(&self.phase);
                let closed = self
                    .current
                    .take()
                    .map_or(Ok(()), |entry| host.close_inner(entry));
                host.discard_pending();
                guard.leave(if from == ContPhase::Fresh {
                    ContPhase::Fresh
                } else {
                    ContPhase::Cancelled
                });
                closed
            }
        }
    }

    /// Lets the binding look at the entry being awaited (CPython's `tp_traverse`). `f` must not
    /// resume the continuation. `None` unless Awaiting.
    pub fn with_current<R>(&self, f: impl FnOnce(Option<&En>) -> R) -> R {
        let entry = self.current.take();
        let r = f(entry.as_ref());
        self.current.set(entry);
        r
    }

    /// Finishes without calling the host and hands back the entry being awaited, for a
    /// binding that must drop references without running Python (`tp_clear`). Does nothing
    /// while Running.
    pub fn clear(&self) -> Option<En> {
        if self.phase.get() == ContPhase::Running {
            return None;
        }
        self.phase.set(ContPhase::Finished);
        self.current.take()
    }

    /// **step** then **run**, as one loop: `pending` is the entry whose inner just moved.
    fn drive<H: Host<Entry = En>>(&self, host: &mut H, mut pending: Moved<H>) -> Outcome<H> {
        loop {
            if let Some((entry, inner)) = pending.take() {
                let handled = match inner {
                    Inner::Yielded(v) => {
                        self.current.set(Some(entry));
                        return (ContPhase::Awaiting, ContStep::Yield(v));
                    }
                    Inner::Returned(v) => host.on_result(entry, v),
                    Inner::Raised(e) => host.on_error(entry, e),
                };
                if let Err(e) = handled {
                    return fail::<H>(host, e);
                }
            }
            pending = match host.next_entry() {
                Err(e) => return fail::<H>(host, e),
                Ok(None) => return (ContPhase::Finished, ContStep::Return(host.take_result())),
                Ok(Some(mut entry)) => match host.start(&mut entry) {
                    Ok(Started::Skipped) => None,
                    Ok(Started::Awaiting) => {
                        let none = host.none();
                        let inner = host.send(&mut entry, none);
                        Some((entry, inner))
                    }
                    Err(e) => Some((entry, Inner::Raised(e))),
                },
            };
        }
    }
}

/// Finishing with an error: the queued awaits will never run.
fn fail<H: Host>(host: &mut H, e: H::Error) -> Outcome<H> {
    host.discard_pending();
    (ContPhase::Finished, ContStep::Raise(e))
}

/// Holds the phase at Running while host code runs; if that code panics, the phase becomes
/// Finished instead of staying Running for ever.
struct RunGuard<'a> {
    phase: &'a Cell<ContPhase>,
}

impl<'a> RunGuard<'a> {
    fn enter(phase: &'a Cell<ContPhase>) -> Self {
        phase.set(ContPhase::Running);
        Self { phase }
    }

    fn leave(self, to: ContPhase) {
        self.phase.set(to);
        core::mem::forget(self);
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.phase.set(ContPhase::Finished);
    }
}
