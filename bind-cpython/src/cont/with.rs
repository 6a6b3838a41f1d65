//! `async with cm: body` for the C and Rust APIs, as the recipe in core's `cont` docs builds
//! it: one entry of the outer awaitable awaits a *statement* awaitable `S`, whose queue holds
//! the stages (`__aenter__`, the body's own nested awaitable `B`, `__aexit__`). Every decision
//! (what follows an outcome, `__aexit__`'s arguments, suppression, chaining) is core's
//! [`AsyncWith`]; this file calls Python and queues what it says.

use std::cell::{Cell, RefCell};

use awaitq_core::{AsyncWith, ContError, WithAction, WithEvent};
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{ffi, intern, Py};

use super::api::NativeAwaitable;
use super::entry::{CResultCb, Entry, OnDefer, OnError, OnResult, ResultFn, WithStage};
use super::errors::{c_outcome, cont_err, panic_err, raised_while};
use super::object::{self, ContObject, Kind};

/// The body callback: C or Rust, called with `B` and `__aenter__`'s value.
pub(crate) enum Body {
    C(CResultCb),
    Rust(ResultFn),
}

/// The state of one statement, inside its awaitable `S`.
pub(crate) struct WithState {
    aenter: Cell<Option<Py<PyAny>>>,
    aexit: Cell<Option<Py<PyAny>>>,
    body: Cell<Option<Body>>,
    /// The awaitable whose values and result the body's `B` uses.
    owner: Cell<Option<Py<PyAny>>>,
    rules: RefCell<AsyncWith<PyErr>>,
}

impl WithState {
    /// The Python objects it holds (for `tp_traverse`).
    pub(crate) fn visit(&self, add: &mut dyn FnMut(*mut ffi::PyObject)) {
        for cell in [&self.aenter, &self.aexit, &self.owner] {
            let v = cell.take();
            add(v.as_ref().map_or(std::ptr::null_mut(), |o| o.as_ptr()));
            cell.set(v);
        }
    }

    /// Drops every reference (`tp_clear`).
    pub(crate) fn clear(&self) {
        let taken = (
            self.aenter.take(),
            self.aexit.take(),
            self.body.take(),
            self.owner.take(),
            std::mem::take(&mut *self.rules.borrow_mut()),
        );
        drop(taken);
    }
}

/// `type(cm).name` bound to `cm`, as `async with` looks special methods up.
fn lookup_special<'py>(
    cm: &Bound<'py, PyAny>,
    name: &Bound<'py, pyo3::types::PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = cm.py();
    let tp: Bound<'py, PyType> = cm.get_type();
    let Some(attr) = tp.getattr_opt(name)? else {
        return Ok(None);
    };
    match attr.get_type().getattr_opt(intern!(py, "__get__"))? {
        Some(get) => Ok(Some(get.call1((&attr, cm, &tp))?)),
        None => Ok(Some(attr)),
    }
}

/// `awaitq_aw_async_with` / `NativeAwaitable::async_with`: checks `cm` now (as the statement
/// does before entering) and queues the statement.
pub(crate) fn begin(
    py: Python<'_>,
    outer: &ContObject,
    cm: &Bound<'_, PyAny>,
    body: Body,
    on_error: OnError,
) -> PyResult<()> {
    outer.d.cont.check_open().map_err(cont_err)?;
    let aenter = lookup_special(cm, intern!(py, "__aenter__"))?;
    let aexit = lookup_special(cm, intern!(py, "__aexit__"))?;
    let (Some(aenter), Some(aexit)) = (aenter, aexit) else {
        return Err(cont_err(ContError::NotAsyncContextManager));
    };
    let state = WithState {
        aenter: Cell::new(Some(aenter.unbind())),
        aexit: Cell::new(Some(aexit.unbind())),
        body: Cell::new(Some(body)),
        owner: Cell::new(Some(outer.target().to_bound(py).unbind())),
        rules: RefCell::new(AsyncWith::new()),
    };
    let s = object::alloc(py, Kind::With(state), None)?;
    // SAFETY: `s` was just made as a ContObject and is alive.
    let s_obj = unsafe { &*s.as_ptr().cast::<ContObject>() };
    s_obj.add(Entry::Defer {
        decide: Some(OnDefer::WithEnter),
        on_error: OnError::With(WithStage::Enter),
    })?;
    outer.add(Entry::await_(s.unbind(), OnResult::Ignore, on_error))
}

fn state(s: &ContObject) -> &WithState {
    match &s.d.kind {
        Kind::With(st) => st,
        _ => unreachable!("with entries are only queued in statement awaitables"),
    }
}

/// The deferred first stage: call `__aenter__()` and await what it returns.
pub(crate) fn enter(py: Python<'_>, s: &ContObject) -> PyResult<()> {
    let aenter = state(s)
        .aenter
        .take()
        .ok_or_else(|| cont_err(ContError::Exhausted))?;
    let value = aenter.bind(py).call0()?;
    s.add(Entry::await_(
        value.unbind(),
        OnResult::With(WithStage::Enter),
        OnError::With(WithStage::Enter),
    ))
}

/// A stage's awaitable returned `value`.
pub(crate) fn on_result(
    py: Python<'_>,
    s: &ContObject,
    stage: WithStage,
    value: Py<PyAny>,
) -> PyResult<()> {
    let event = match stage {
        WithStage::Enter => WithEvent::Entered,
        WithStage::Body => WithEvent::BodyReturned,
        WithStage::Exit => match value.bind(py).is_truthy() {
            Ok(truthy) => WithEvent::Exited { truthy },
            Err(e) => WithEvent::ExitRaised(e),
        },
    };
    act(py, s, event, Some(value))
}

/// A stage (or the call that made its awaitable) raised `error`.
pub(crate) fn on_error(
    py: Python<'_>,
    s: &ContObject,
    stage: WithStage,
    error: PyErr,
) -> PyResult<()> {
    let event = match stage {
        WithStage::Enter => WithEvent::EnterRaised(error),
        WithStage::Body => WithEvent::BodyRaised(error),
        WithStage::Exit => WithEvent::ExitRaised(error),
    };
    act(py, s, event, None)
}

/// Feeds core's rules and does what they say, until they wait for an await.
fn act(
    py: Python<'_>,
    s: &ContObject,
    event: WithEvent<PyErr>,
    value: Option<Py<PyAny>>,
) -> PyResult<()> {
    let st = state(s);
    let mut event = Some(event);
    while let Some(ev) = event.take() {
        let action = st.rules.borrow_mut().on_event(ev);
        match action {
            WithAction::RunBody => {
                let value = value
                    .as_ref()
                    .map_or_else(|| py.None(), |v| v.clone_ref(py));
                if let Err(e) = run_body(py, s, st, value) {
                    event = Some(WithEvent::BodyRaised(e));
                }
            }
            WithAction::AwaitExit => {
                if let Err(e) = await_exit(py, s, st) {
                    event = Some(WithEvent::ExitRaised(e));
                }
            }
            WithAction::Finish => return Ok(()),
            WithAction::Raise { error, context } => {
                return Err(match context {
                    Some(c) => raised_while(py, error, c),
                    None => error,
                })
            }
        }
    }
    Ok(())
}

/// Runs the body callback on a fresh nested awaitable `B`, then awaits `B`.
fn run_body(py: Python<'_>, s: &ContObject, st: &WithState, value: Py<PyAny>) -> PyResult<()> {
    let owner = st.owner.take();
    let b = object::alloc(py, Kind::Queue, owner.as_ref().map(|o| o.clone_ref(py)));
    st.owner.set(owner);
    let b = b?;
    let ran = match st.body.take() {
        Some(Body::C(cb)) => {
            // SAFETY: attached; `aw` and `result` are borrowed for the call.
            let r = unsafe { cb(b.as_ptr(), value.as_ptr()) };
            c_outcome(py, r).map_err(|e| e.unwrap_or_else(|| cont_err(ContError::NoException)))
        }
        Some(Body::Rust(f)) => {
            let h = NativeAwaitable::from_bound_unchecked(b.clone());
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&h, value.into_bound(py))))
                .unwrap_or_else(|p| Err(panic_err(p)))
        }
        None => Err(cont_err(ContError::Exhausted)),
    };
    if let Err(e) = ran {
        // The body failed before its block was awaited: what it queued never runs.
        // SAFETY: `b` is a ContObject we made.
        let b_obj = unsafe { &*b.as_ptr().cast::<ContObject>() };
        if let Err(close_err) = b_obj.cancel(py) {
            close_err.write_unraisable(py, Some(&b));
        }
        return Err(e);
    }
    s.add(Entry::await_(
        b.unbind(),
        OnResult::With(WithStage::Body),
        OnError::With(WithStage::Body),
    ))
}

/// Calls `__aexit__` with the body's exception (core keeps it) and awaits what it returns.
fn await_exit(py: Python<'_>, s: &ContObject, st: &WithState) -> PyResult<()> {
    let args = {
        let rules = st.rules.borrow();
        match rules.pending() {
            Some(e) => (
                e.get_type(py).into_any().unbind(),
                e.value(py).clone().into_any().unbind(),
                e.traceback(py)
                    .map_or_else(|| py.None(), |t| t.into_any().unbind()),
            ),
            None => (py.None(), py.None(), py.None()),
        }
    };
    let aexit = st
        .aexit
        .take()
        .ok_or_else(|| cont_err(ContError::Exhausted))?;
    let value = aexit.bind(py).call1(args)?;
    s.add(Entry::await_(
        value.unbind(),
        OnResult::With(WithStage::Exit),
        OnError::With(WithStage::Exit),
    ))
}
