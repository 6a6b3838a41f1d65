//! `async with cm: body` for the C API, as the recipe in core's `cont` docs builds it: one
//! entry of the outer awaitable awaits a *statement* awaitable `S`, whose queue holds the
//! stages (`__aenter__`, the body's nested awaitable, the *block* `B`, `__aexit__`). Every
//! decision (what follows an outcome, `__aexit__`'s arguments, suppression) is core's
//! [`AsyncWith`]; this file calls MicroPython and queues what it says.
//!
//! As MicroPython's own `async with`: the methods are looked up as `cm.__aenter__` /
//! `cm.__aexit__`, and `__aexit__` gets `(type(e), e, None)` (no traceback objects). There is
//! no `__context__`: an exception `__aexit__` raises replaces the block's.

use core::cell::Cell;
use core::mem::size_of;

use awaitq_core::{AsyncWith, ContError, WithAction, WithEvent};

use super::entry::{Body, CResultCb, OnDefer, OnError, OnResult, WithStage};
use super::iter::{self, required};
use super::obj::{call, cont_error, memory_error, Call, Obj};
use super::object::{self, Cont, Kind};
use crate::ffi;

/// The state of one statement (a GC block `S` points to).
pub(crate) struct WithState {
    /// `__aenter__` and `__aexit__` as mp_load_method pairs (NULL once used).
    aenter: Cell<[Obj; 2]>,
    aexit: Cell<[Obj; 2]>,
    body: Cell<Option<CResultCb>>,
    /// The awaitable whose values and result the block uses.
    owner: Cell<Obj>,
    rules: Cell<AsyncWith<Obj>>,
}

/// `awaitq_aw_async_with`: checks `cm` now (as the statement does before entering) and
/// queues the statement. Everything is allocated before anything is queued.
pub(crate) fn begin(
    outer: Cont<'_>,
    cm: Obj,
    body: CResultCb,
    on_error: OnError,
) -> Result<(), Obj> {
    outer.check_add()?;
    let mut m = [Obj::NULL; 4];
    // SAFETY: `cm` is live; `m` has room for the two method pairs; never raises.
    let found =
        call(|out| unsafe { ffi::awaitq_mp_call_cm_methods(cm.raw(), m.as_mut_ptr().cast(), out) });
    found.value(|| cont_error(ContError::NotAsyncContextManager))?;
    let s = object::alloc(Kind::With, Obj::NULL, false)?;
    // SAFETY: never raises; NULL when out of memory.
    let block = unsafe { ffi::awaitq_mp_sys_alloc(size_of::<WithState>()) }.cast::<WithState>();
    if block.is_null() {
        return Err(memory_error());
    }
    // SAFETY: a fresh block of the right size (GC blocks are aligned enough for pointers).
    unsafe {
        block.write(WithState {
            aenter: Cell::new([m[0], m[1]]),
            aexit: Cell::new([m[2], m[3]]),
            body: Cell::new(Some(body)),
            owner: Cell::new(outer.target().obj),
            rules: Cell::new(AsyncWith::new()),
        })
    };
    // SAFETY: made just now by `alloc`, kept alive by `s` (a local).
    let sc = unsafe { Cont::from_raw(s.to_ptr()) };
    sc.st.ext.set(block.cast());
    let enter = sc.entry(Body::Defer {
        decide: Cell::new(Some(OnDefer::WithEnter)),
        on_error: OnError::With(WithStage::Enter),
    })?;
    let stmt = outer.await_entry(s, OnResult::Ignore, on_error)?;
    sc.add(enter)?;
    outer.add(stmt)
}

fn state<'a>(s: Cont<'a>) -> &'a WithState {
    debug_assert_eq!(s.st.kind, Kind::With);
    // SAFETY: a statement's `ext` is its WithState block (written by `begin` before any entry
    // was queued), kept alive by the statement object.
    unsafe { &*s.st.ext.get().cast::<WithState>() }
}

/// The deferred first stage: call `__aenter__()` and await what it returns.
pub(crate) fn enter(s: Cont<'_>) -> Result<(), Obj> {
    let st = state(s);
    let mut m = st.aenter.replace([Obj::NULL; 2]);
    if m[0].is_null() {
        return Err(cont_error(ContError::Exhausted));
    }
    // SAFETY: a loaded method pair; never raises.
    let value = call(|out| unsafe { ffi::awaitq_mp_call_method(m.as_mut_ptr().cast(), out) })
        .value(memory_error)?;
    s.add(s.await_entry(
        value,
        OnResult::With(WithStage::Enter),
        OnError::With(WithStage::Enter),
    )?)
}

/// A stage's awaitable returned `value`.
pub(crate) fn on_result(s: Cont<'_>, stage: WithStage, value: Obj) -> Result<(), Obj> {
    let event = match stage {
        WithStage::Enter => WithEvent::Entered,
        WithStage::Body => WithEvent::BodyReturned,
        WithStage::Exit => {
            let mut truthy = false;
            // SAFETY: a live object; `truthy` is writable; never raises.
            match call(|out| unsafe { ffi::awaitq_mp_call_truth(value.raw(), &mut truthy, out) }) {
                Call::Ok(_) => WithEvent::Exited { truthy },
                Call::Raised(e) => WithEvent::ExitRaised(e),
                Call::Yielded(_) | Call::Nothing => WithEvent::ExitRaised(memory_error()),
            }
        }
    };
    act(s, event, value)
}

/// A stage (or the call that made its awaitable) raised `error`.
pub(crate) fn on_error(s: Cont<'_>, stage: WithStage, error: Obj) -> Result<(), Obj> {
    let event = match stage {
        WithStage::Enter => WithEvent::EnterRaised(error),
        WithStage::Body => WithEvent::BodyRaised(error),
        WithStage::Exit => WithEvent::ExitRaised(error),
    };
    act(s, event, Obj::none())
}

/// Feeds core's rules and does what they say, until they wait for an await.
fn act(s: Cont<'_>, event: WithEvent<Obj>, value: Obj) -> Result<(), Obj> {
    let st = state(s);
    let mut event = Some(event);
    while let Some(ev) = event.take() {
        let mut rules = st.rules.get();
        let action = rules.on_event(ev);
        st.rules.set(rules);
        match action {
            WithAction::RunBody => {
                if let Err(e) = run_body(s, st, value) {
                    event = Some(WithEvent::BodyRaised(e));
                }
            }
            WithAction::AwaitExit => {
                if let Err(e) = await_exit(s, st) {
                    event = Some(WithEvent::ExitRaised(e));
                }
            }
            WithAction::Finish => return Ok(()),
            // No __context__ on MicroPython: `context` (the block's exception) is dropped.
            WithAction::Raise { error, .. } => return Err(error),
        }
    }
    Ok(())
}

/// Runs the body callback on a fresh nested awaitable `B` (the block), then awaits `B`.
fn run_body(s: Cont<'_>, st: &WithState, value: Obj) -> Result<(), Obj> {
    let b = object::alloc(Kind::Queue, st.owner.get(), false)?;
    // Allocated before the body runs: queueing `B` cannot fail for lack of memory after it.
    let await_b = s.await_entry(
        b,
        OnResult::With(WithStage::Body),
        OnError::With(WithStage::Body),
    )?;
    let ran = match st.body.take() {
        Some(cb) => required(iter::result_cb(cb, b, value)),
        None => Err(cont_error(ContError::Exhausted)),
    };
    if let Err(e) = ran {
        // The body failed before its block was awaited: what it queued never runs.
        // SAFETY: made just now, kept alive by `b` (a local).
        let block = unsafe { Cont::from_raw(b.to_ptr()) };
        let _ = block.cancel(); // a fresh block: nothing started, closing cannot fail
        return Err(e);
    }
    s.add(await_b)
}

/// Calls `__aexit__` with the block's exception (core keeps it) and awaits what it returns.
fn await_exit(s: Cont<'_>, st: &WithState) -> Result<(), Obj> {
    let mut m = st.aexit.replace([Obj::NULL; 2]);
    if m[0].is_null() {
        return Err(cont_error(ContError::Exhausted));
    }
    let exc = st.rules.get().pending().copied().unwrap_or(Obj::NULL);
    // SAFETY: a loaded method pair and a live exception (or NULL); never raises.
    let value =
        call(|out| unsafe { ffi::awaitq_mp_call_aexit(m.as_mut_ptr().cast(), exc.raw(), out) })
            .value(memory_error)?;
    s.add(s.await_entry(
        value,
        OnResult::With(WithStage::Exit),
        OnError::With(WithStage::Exit),
    )?)
}
