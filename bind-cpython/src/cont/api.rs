//! The Rust API: [`NativeAwaitable`], a handle to a native awaitable that Rust code fills
//! with awaits and callbacks, as C code does through `ports/include/awaitq_aw.h`.

use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::Py;

use super::entry::{Attached, DeferFn, Entry, ErrorFn, OnDefer, OnError, OnResult, ResultFn};
use super::obj::{Exc, Obj};
use super::object::{self, ContObject, Kind};
use super::slots;
use super::with;

/// A native awaitable: awaits Python awaitables one after another and hands each outcome to
/// a Rust callback, which may queue more awaits, keep values, set the result or cancel.
///
/// While an awaited object runs, the awaitable is a transparent `yield from`: what it yields
/// goes to the event loop (or any `send()`-driven scheduler) unchanged, and `send`/`throw`
/// come back down to it, so `task.cancel()` runs the awaited coroutine's `except`/`finally`
/// before the error callback sees `CancelledError`.
///
/// ```ignore
/// #[pyfunction]
/// fn fetch_twice<'py>(a: Bound<'py, PyAny>, b: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
///     let aw = NativeAwaitable::new(a.py())?;
///     aw.save(&b)?;                                   // kept for the callback (GC-visible)
///     aw.then(&a, |aw, first| {
///         aw.save(&first)?;
///         aw.then(&aw.value(0)?, |aw, second| {
///             let first = aw.value(1)?;
///             aw.set_result(&first.add(second)?)
///         })
///     })?;
///     Ok(aw.into_any())
/// }
/// ```
///
/// Python objects captured by a closure are invisible to the garbage collector (a cycle
/// through one is never collected); keep them with [`save`](Self::save) instead, as above.
#[derive(Clone, Debug)]
pub struct NativeAwaitable<'py>(Bound<'py, PyAny>);

fn err(py: Python<'_>) -> impl FnOnce(Exc) -> PyErr + '_ {
    move |e| e.into_pyerr(py)
}

impl<'py> NativeAwaitable<'py> {
    /// A new, empty awaitable (awaiting it returns `None` at once).
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        let o = object::alloc(Kind::Queue, None).map_err(err(py))?;
        Ok(Self(o.into_py(py).into_bound(py)))
    }

    /// `obj` if it is a native awaitable (`TypeError` otherwise).
    pub fn from_object(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        // SAFETY: `obj` is live for 'py; attached.
        unsafe { ContObject::from_ptr(obj.as_ptr()) }.map_err(err(obj.py()))?;
        Ok(Self(obj.clone()))
    }

    pub(crate) fn from_bound_unchecked(obj: Bound<'py, PyAny>) -> Self {
        Self(obj)
    }

    pub(crate) fn obj(&self) -> &ContObject {
        // SAFETY: every constructor checked (or made) a ContObject; `self.0` keeps it alive.
        unsafe { &*self.0.as_ptr().cast::<ContObject>() }
    }

    /// `awaitq.NativeAwaitable`, the type of these objects.
    pub fn type_object(py: Python<'py>) -> PyResult<Bound<'py, PyType>> {
        slots::type_object(py).cloned()
    }

    /// The Python token.
    pub fn py(&self) -> Python<'py> {
        self.0.py()
    }

    /// The object, to return to Python.
    pub fn as_any(&self) -> &Bound<'py, PyAny> {
        &self.0
    }

    /// The object, to return to Python.
    pub fn into_any(self) -> Bound<'py, PyAny> {
        self.0
    }

    /// Queues `await awaitable`. Its value goes to `on_result` (dropped if `None`); its
    /// exception to `on_error` (raised from this awaitable if `None`). Awaits added by a
    /// callback of this awaitable run next, before those queued earlier, in the order added.
    /// `RuntimeError` once the awaitable has finished.
    pub fn add_await(
        &self,
        awaitable: &Bound<'py, PyAny>,
        on_result: Option<ResultFn>,
        on_error: Option<ErrorFn>,
    ) -> PyResult<()> {
        let entry = Entry::await_(
            Obj::from_py(awaitable.clone().unbind()),
            on_result.map_or(OnResult::Ignore, |f| OnResult::Rust(Attached::new(f))),
            on_error.map_or(OnError::Raise, |f| OnError::Rust(Attached::new(f))),
        );
        self.obj().add(entry).map_err(err(self.py()))
    }

    /// `add_await` with a result callback and no error callback.
    pub fn then<F>(&self, awaitable: &Bound<'py, PyAny>, on_result: F) -> PyResult<()>
    where
        F: for<'a> FnOnce(&NativeAwaitable<'a>, Bound<'a, PyAny>) -> PyResult<()> + Send + 'static,
    {
        self.add_await(awaitable, Some(Box::new(on_result)), None)
    }

    /// Queues a decision: `decide` runs when it is reached and may add awaits (they run
    /// next). Its error is raised from this awaitable.
    pub fn defer<F>(&self, decide: F) -> PyResult<()>
    where
        F: for<'a> FnOnce(&NativeAwaitable<'a>) -> PyResult<()> + Send + 'static,
    {
        let decide: DeferFn = Box::new(decide);
        let entry = Entry::Defer {
            decide: Some(OnDefer::Rust(Attached::new(decide))),
            on_error: OnError::Raise,
        };
        self.obj().add(entry).map_err(err(self.py()))
    }

    /// Queues `async with cm: body`: `__aenter__()` is awaited when reached, then `body` runs
    /// with its value and a nested awaitable (the block: its awaits form the with-block; its
    /// values and result are this awaitable's), then `__aexit__(...)` is awaited with the
    /// block's exception, which a true result suppresses. Errors the statement raises go to
    /// `on_error`. `TypeError` now if `cm` is not an async context manager.
    pub fn async_with(
        &self,
        cm: &Bound<'py, PyAny>,
        body: ResultFn,
        on_error: Option<ErrorFn>,
    ) -> PyResult<()> {
        with::begin(
            self.obj(),
            &Obj::from_py(cm.clone().unbind()),
            with::Body::Rust(body),
            on_error.map_or(OnError::Raise, |f| OnError::Rust(Attached::new(f))),
        )
        .map_err(err(self.py()))
    }

    /// Sets the value `await` returns (last one wins; `None` if never set).
    pub fn set_result(&self, value: &Bound<'py, PyAny>) -> PyResult<()> {
        self.obj()
            .set_result(Obj::from_py(value.clone().unbind()))
            .map_err(err(self.py()))
    }

    /// Keeps `value` for later callbacks (visible to the garbage collector); returns its index.
    pub fn save(&self, value: &Bound<'py, PyAny>) -> PyResult<usize> {
        self.obj()
            .save([Obj::from_py(value.clone().unbind())])
            .map_err(err(self.py()))
    }

    /// Saved value `index` (`SystemError` if fewer were saved).
    pub fn value(&self, index: usize) -> PyResult<Bound<'py, PyAny>> {
        let p = self.obj().value_ptr(index).map_err(err(self.py()))?;
        // SAFETY: a live object the awaitable keeps; we take a new reference.
        Ok(unsafe { Bound::from_borrowed_ptr(self.py(), p) })
    }

    /// Replaces saved value `index`.
    pub fn set_value(&self, index: usize, value: &Bound<'py, PyAny>) -> PyResult<()> {
        self.obj()
            .set_value(index, Obj::from_py(value.clone().unbind()))
            .map_err(err(self.py()))
    }

    /// Gives up on the awaits not yet finished: inside one of this awaitable's callbacks, drops
    /// what is queued (the callback's step completes, then the awaitable returns its result);
    /// while suspended, closes the awaited object (its `finally` runs) and the next resume
    /// returns the result. It never wakes the task: to abort a suspended await, cancel the task.
    /// `Err` is what closing the awaited object raised (the cancel happened anyway).
    pub fn cancel(&self) -> PyResult<()> {
        self.obj().cancel().map_err(err(self.py()))
    }
}

impl<'py> From<NativeAwaitable<'py>> for Bound<'py, PyAny> {
    fn from(aw: NativeAwaitable<'py>) -> Self {
        aw.0
    }
}

impl<'py> From<NativeAwaitable<'py>> for Py<PyAny> {
    fn from(aw: NativeAwaitable<'py>) -> Self {
        aw.0.unbind()
    }
}
