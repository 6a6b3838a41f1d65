//! The rules of `async with`, for the callbacks a binding builds it from (the recipe is in the
//! [`cont`](crate::cont) docs): which awaits follow which outcome, when `__aexit__` sees the
//! body's exception, and when that exception is suppressed. The binding keeps one
//! [`AsyncWith`] per statement (in the nested continuation's saved state) and feeds it events.
//!
//! | event                       | action                                        |
//! |-----------------------------|-----------------------------------------------|
//! | `Entered`                   | `RunBody` (with `__aenter__`'s value)          |
//! | `EnterRaised(e)`            | `Raise { e, context: None }`: no `__aexit__`, as in Python |
//! | `BodyReturned`              | `AwaitExit`: `__aexit__(None, None, None)`     |
//! | `BodyRaised(e)`             | keep `e`; `AwaitExit`: `__aexit__(type(e), e, e.__traceback__)` ([`pending`](AsyncWith::pending)) |
//! | `Exited { truthy }`         | kept `e` and not `truthy` → `Raise { e, context: None }`; else `Finish` (`truthy` suppressed it) |
//! | `ExitRaised(e2)`            | `Raise { e2, context: kept e }`               |

/// What happened to the statement, as its callbacks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithEvent<E> {
    /// `__aenter__()` was awaited and returned (its value goes to the body).
    Entered,
    /// Calling or awaiting `__aenter__` raised.
    EnterRaised(E),
    /// The body (its callback, then every await it queued) completed.
    BodyReturned,
    /// The body raised (its callback failed, or an await it queued raised unhandled).
    BodyRaised(E),
    /// `__aexit__(...)` was awaited and returned; `truthy` is `bool()` of its result (only
    /// consulted when the body raised).
    Exited {
        /// Whether the result was true.
        truthy: bool,
    },
    /// Calling or awaiting `__aexit__`, or `bool()` of its result, raised.
    ExitRaised(E),
}

/// What the binding does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithAction<E> {
    /// Run the body callback on a fresh nested continuation, then await that continuation.
    RunBody,
    /// Await `__aexit__` with [`AsyncWith::pending`]'s exception info (or three `None`s).
    AwaitExit,
    /// The statement completed; carry on after it.
    Finish,
    /// The statement raises `error`; `context`, if any, becomes its `__context__` (the body's
    /// exception that `__aexit__` was handling).
    Raise {
        /// The exception to raise.
        error: E,
        /// The exception it was raised while handling.
        context: Option<E>,
    },
}

/// One `async with` statement in progress: the body's exception while `__aexit__` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncWith<E> {
    pending: Option<E>,
}

impl<E> Default for AsyncWith<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> AsyncWith<E> {
    /// A statement about to await `__aenter__`.
    pub const fn new() -> Self {
        Self { pending: None }
    }

    /// The body's exception, which `__aexit__` receives as `(type(e), e, e.__traceback__)`.
    pub fn pending(&self) -> Option<&E> {
        self.pending.as_ref()
    }

    /// Feeds one event; see the module's table.
    pub fn on_event(&mut self, event: WithEvent<E>) -> WithAction<E> {
        match event {
            WithEvent::Entered => WithAction::RunBody,
            WithEvent::EnterRaised(error) => WithAction::Raise {
                error,
                context: None,
            },
            WithEvent::BodyReturned => {
                self.pending = None;
                WithAction::AwaitExit
            }
            WithEvent::BodyRaised(e) => {
                self.pending = Some(e);
                WithAction::AwaitExit
            }
            WithEvent::Exited { truthy } => match self.pending.take() {
                Some(error) if !truthy => WithAction::Raise {
                    error,
                    context: None,
                },
                _ => WithAction::Finish,
            },
            WithEvent::ExitRaised(error) => WithAction::Raise {
                error,
                context: self.pending.take(),
            },
        }
    }
}
