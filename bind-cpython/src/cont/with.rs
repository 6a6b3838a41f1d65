//! `async with cm: body` for the C and Rust APIs, as the recipe in core's `cont` docs builds
//! it: one entry of the outer awaitable awaits a *statement* awaitable `S`, whose queue holds
//! the stages (`__aenter__`, the body's own nested awaitable, the *block* `B`, `__aexit__`).
//! Every decision (what follows an outcome, `__aexit__`'s arguments, suppression, chaining)
//! is core's [`AsyncWith`]; this file calls Python and queues what it says.

use std::cell::{Cell, RefCell};
use std::ptr;

use awaitq_core::{AsyncWith, ContError, WithAction, WithEvent};
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::{ffi, intern};

use super::entry::{Attached, CResultCb, Entry, OnDefer, OnError, OnResult, ResultFn, WithStage};
use super::host::{c_outcome, run_rust};
use super::obj::{attached, Exc, Obj};
use super::object::{self, ContObject, Kind};

/// The body callback: C or Rust, called with the block `B` and `__aenter__`'s value.
pub(crate) enum Body {
    C(CResultCb),
    Rust(ResultFn),
}

enum BodyCb {
    C(CResultCb),
    Rust(Attached<ResultFn>),
}

/// The state of one statement, inside its awaitable `S`.
pub(crate) struct WithState {
    aenter: Cell<Option<Obj>>,
    aexit: Cell<Option<Obj>>,
    body: Cell<Option<BodyCb>>,
    /// The awaitable whose values and result the block uses.
    owner: Cell<Option<Obj>>,
    rules: RefCell<AsyncWith<Exc>>,
}

impl WithState {
    /// The Python objects it holds (for `tp_traverse`).
    pub(crate) fn visit(&self, add: &mut dyn FnMut(*mut ffi::PyObject)) {
        for cell in [&self.aenter, &self.aexit, &self.owner] {
            let v = cell.take();
            add(v.as_ref().map_or(ptr::null_mut(), Obj::as_ptr));
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
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = cm.py();
    let tp = cm.get_type();
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
    outer: &ContObject,
    cm: &Obj,
    body: Body,
    on_error: OnError,
) -> Result<(), Exc> {
    outer.d.cont.check_open().map_err(Exc::cont)?;
    let methods = attached(|py| {
        let cm = cm.bind(py);
        let found = lookup_special(&cm, intern!(py, "__aenter__"))
            .and_then(|e| Ok((e, lookup_special(&cm, intern!(py, "__aexit__"))?)));
        match found {
            Ok((Some(e), Some(x))) => Ok((Obj::from_py(e.unbind()), Obj::from_py(x.unbind()))),
            Ok(_) => Err(Exc::cont(ContError::NotAsyncContextManager)),
            Err(e) => Err(Exc::from_pyerr(py, e)),
        }
    });
    let (aenter, aexit) = match methods {
        Ok(m) => m,
        Err(e) => {
            drop(body_cb(body));
            return Err(e);
        }
    };
    let state = WithState {
        aenter: Cell::new(Some(aenter)),
        aexit: Cell::new(Some(aexit)),
        body: Cell::new(Some(body_cb(body))),
        owner: Cell::new(Some(outer.target().to_obj())),
        rules: RefCell::new(AsyncWith::new()),
    };
    let s = object::alloc(Kind::With(Box::new(state)), None)?;
    statement(&s).add(Entry::Defer {
        decide: Some(OnDefer::WithEnter),
        on_error: OnError::With(WithStage::Enter),
    })?;
    outer.add(Entry::await_(s, OnResult::Ignore, on_error))
}

fn body_cb(body: Body) -> BodyCb {
    match body {
        Body::C(cb) => BodyCb::C(cb),
        Body::Rust(f) => BodyCb::Rust(Attached::new(f)),
    }
}

fn statement(s: &Obj) -> &ContObject {
    // SAFETY: made by `begin` as a ContObject, kept alive by `s`.
    unsafe { &*s.as_ptr().cast::<ContObject>() }
}

fn state(s: &ContObject) -> &WithState {
    match &s.d.kind {
        Kind::With(st) => st,
        _ => unreachable!("with entries are only queued in statement awaitables"),
    }
}

/// A call's result: `Ok` of the new reference, or the raised exception.
fn called(r: *mut ffi::PyObject) -> Result<Obj, Exc> {
    // SAFETY: `r` is a call's result: a new reference or NULL with an exception set.
    unsafe { Obj::from_owned(r) }.ok_or_else(Exc::fetch)
}

/// The deferred first stage: call `__aenter__()` and await what it returns.
pub(crate) fn enter(s: &ContObject) -> Result<(), Exc> {
    let aenter = state(s)
        .aenter
        .take()
        .ok_or_else(|| Exc::cont(ContError::Exhausted))?;
    // SAFETY: attached; `aenter` is live.
    let value = called(unsafe { ffi::PyObject_CallNoArgs(aenter.as_ptr()) })?;
    s.add(Entry::await_(
        value,
        OnResult::With(WithStage::Enter),
        OnError::With(WithStage::Enter),
    ))
}

/// A stage's awaitable returned `value`.
pub(crate) fn on_result(s: &ContObject, stage: WithStage, value: Obj) -> Result<(), Exc> {
    let event = match stage {
        WithStage::Enter => WithEvent::Entered,
        WithStage::Body => WithEvent::BodyReturned,
        // SAFETY: attached; `value` is live.
        WithStage::Exit => match unsafe { ffi::PyObject_IsTrue(value.as_ptr()) } {
            r if r < 0 => WithEvent::ExitRaised(Exc::fetch()),
            r => WithEvent::Exited { truthy: r > 0 },
        },
    };
    act(s, event, Some(value))
}

/// A stage (or the call that made its awaitable) raised `error`.
pub(crate) fn on_error(s: &ContObject, stage: WithStage, error: Exc) -> Result<(), Exc> {
    let event = match stage {
        WithStage::Enter => WithEvent::EnterRaised(error),
        WithStage::Body => WithEvent::BodyRaised(error),
        WithStage::Exit => WithEvent::ExitRaised(error),
    };
    act(s, event, None)
}

/// Feeds core's rules and does what they say, until they wait for an await.
fn act(s: &ContObject, event: WithEvent<Exc>, value: Option<Obj>) -> Result<(), Exc> {
    let st = state(s);
    let mut event = Some(event);
    let mut value = value;
    while let Some(ev) = event.take() {
        let action = st.rules.borrow_mut().on_event(ev);
        match action {
            WithAction::RunBody => {
                if let Err(e) = run_body(s, st, value.take().unwrap_or_else(Obj::none)) {
                    event = Some(WithEvent::BodyRaised(e));
                }
            }
            WithAction::AwaitExit => {
                if let Err(e) = await_exit(s, st) {
                    event = Some(WithEvent::ExitRaised(e));
                }
            }
            WithAction::Finish => return Ok(()),
            WithAction::Raise { error, context } => {
                return Err(match context {
                    Some(c) => error.raised_while(c),
                    None => error,
                })
            }
        }
    }
    Ok(())
}

/// Runs the body callback on a fresh nested awaitable `B` (the block), then awaits `B`.
fn run_body(s: &ContObject, st: &WithState, value: Obj) -> Result<(), Exc> {
    let owner = st.owner.take();
    let b = object::alloc(Kind::Queue, owner.as_ref().map(Obj::clone_ref));
    st.owner.set(owner);
    let b = b?;
    let block = statement(&b);
    let ran = match st.body.take() {
        Some(BodyCb::C(cb)) => {
            // SAFETY: attached; `aw` and `result` are borrowed for the call.
            let r = unsafe { cb(b.as_ptr(), value.as_ptr()) };
            c_outcome(r).map_err(|e| e.unwrap_or_else(|| Exc::cont(ContError::NoException)))
        }
        Some(BodyCb::Rust(f)) => {
            let f = f.into_inner();
            run_rust(block, move |py, h| f(h, value.into_py(py).into_bound(py)))
        }
        None => Err(Exc::cont(ContError::Exhausted)),
    };
    if let Err(e) = ran {
        // The body failed before its block was awaited: what it queued never runs.
        if let Err(close_err) = block.cancel() {
            super::iter::unraisable(close_err, b.as_ptr());
        }
        return Err(e);
    }
    s.add(Entry::await_(
        b,
        OnResult::With(WithStage::Body),
        OnError::With(WithStage::Body),
    ))
}

/// Calls `__aexit__` with the block's exception (core keeps it) and awaits what it returns.
fn await_exit(s: &ContObject, st: &WithState) -> Result<(), Exc> {
    let aexit = st
        .aexit
        .take()
        .ok_or_else(|| Exc::cont(ContError::Exhausted))?;
    let args: [Obj; 3] = {
        let rules = st.rules.borrow();
        match rules.pending() {
            // SAFETY: attached; the exception is live; GetTraceback returns a new reference
            // or NULL.
            Some(e) => unsafe {
                [
                    Obj::from_borrowed(ffi::Py_TYPE(e.as_ptr()).cast()),
                    Obj::from_borrowed(e.as_ptr()),
                    Obj::from_owned(ffi::PyException_GetTraceback(e.as_ptr()))
                        .unwrap_or_else(Obj::none),
                ]
            },
            None => [Obj::none(), Obj::none(), Obj::none()],
        }
    };
    // SAFETY: attached; live objects; a NULL-terminated argument list.
    let value = called(unsafe {
        ffi::PyObject_CallFunctionObjArgs(
            aexit.as_ptr(),
            args[0].as_ptr(),
            args[1].as_ptr(),
            args[2].as_ptr(),
            ptr::null_mut::<ffi::PyObject>(),
        )
    })?;
    s.add(Entry::await_(
        value,
        OnResult::With(WithStage::Exit),
        OnError::With(WithStage::Exit),
    ))
}
