//! The type object of native awaitables and its C slots. Each slot is a thin shell: catch
//! panics, run the machine, translate its `ContStep` to the slot's calling convention (the
//! table in notes/cont-design.md):
//!
//! | step | `am_send` / `__next__` / `send` | `throw` | `close` |
//! |---|---|---|---|
//! | `Yield(v)` | `PYGEN_NEXT` / return `v` | return `v` | - |
//! | `Return(v)` | `PYGEN_RETURN` / `StopIteration(v)` | same | - |
//! | `Raise(e)` | raise `e` | raise `e` | raise `e` |
//! | `Closed` | - | - | return `None` |
//! | `Refused(err)` | raise core's exception for `err` | same | same |

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use awaitq_core::{ContError, ContInput, ContPhase, ContStep};
use pyo3::exceptions::PyTypeError;
use pyo3::ffi::{self, PySendResult};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTraceback, PyTuple, PyType};
use pyo3::Py;

use super::entry::Entry;
use super::obj::{attached, Exc, Obj};
use super::object::{ContObject, Kind};
use super::{freelist, iter};

static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
/// The type and its allocator, for the allocation path (no lookup per object).
static TYPE_PTR: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());
static TP_ALLOC: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// `awaitq.NativeAwaitable`, created on first use.
pub(crate) fn type_object(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    TYPE.get_or_try_init(py, || {
        let tp = create(py)?;
        let p = tp.as_ptr().cast::<ffi::PyTypeObject>();
        // SAFETY: a live type; its tp_alloc slot is always set (PyType_GenericAlloc).
        TP_ALLOC.store(
            unsafe { ffi::PyType_GetSlot(p, ffi::Py_tp_alloc) },
            Ordering::Relaxed,
        );
        TYPE_PTR.store(p, Ordering::Release);
        Ok(tp)
    })
    .map(|t| t.bind(py))
}

/// The type as a C pointer (the identity the C API checks against).
pub(crate) fn type_ptr() -> Result<*mut ffi::PyTypeObject, Exc> {
    let p = TYPE_PTR.load(Ordering::Acquire);
    if !p.is_null() {
        return Ok(p);
    }
    attached(|py| match type_object(py) {
        Ok(t) => Ok(t.as_ptr().cast()),
        Err(e) => Err(Exc::from_pyerr(py, e)),
    })
}

/// The type's `tp_alloc` (valid once [`type_ptr`] returned the type).
pub(crate) fn tp_alloc() -> ffi::allocfunc {
    // SAFETY: stored from the type's tp_alloc slot before the type pointer was published.
    unsafe { std::mem::transmute::<*mut c_void, ffi::allocfunc>(TP_ALLOC.load(Ordering::Relaxed)) }
}

fn create(py: Python<'_>) -> PyResult<Py<PyType>> {
    fn method(
        name: &'static std::ffi::CStr,
        meth: ffi::PyCFunction,
        flags: c_int,
        doc: &'static std::ffi::CStr,
    ) -> ffi::PyMethodDef {
        ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: meth },
            ml_flags: flags,
            ml_doc: doc.as_ptr(),
        }
    }
    // The type keeps a pointer to its method table: it must live as long as the process.
    let methods: &'static mut [ffi::PyMethodDef; 4] = Box::leak(Box::new([
        method(c"send", meth_send, ffi::METH_O, c"send($self, value, /)\n--\n\nResume; the value goes to the awaitable being awaited inside."),
        method(c"throw", meth_throw, ffi::METH_VARARGS, c"throw($self, typ, val=None, tb=None, /)\n--\n\nRaise the exception inside the awaitable being awaited (its except/finally run), then in native code."),
        method(c"close", meth_close, ffi::METH_NOARGS, c"close($self, /)\n--\n\nClose the awaitable being awaited and drop what is queued; no callback runs."),
        ffi::PyMethodDef::zeroed(),
    ]));
    let slot = |slot: c_int, pfunc: *mut c_void| ffi::PyType_Slot { slot, pfunc };
    let mut slots = [
        slot(ffi::Py_am_await, am_await as *mut c_void),
        slot(ffi::Py_am_send, am_send as *mut c_void),
        slot(ffi::Py_tp_iter, am_await as *mut c_void),
        slot(ffi::Py_tp_iternext, iternext as *mut c_void),
        slot(ffi::Py_tp_methods, methods.as_mut_ptr().cast()),
        slot(ffi::Py_tp_dealloc, dealloc as *mut c_void),
        slot(ffi::Py_tp_traverse, traverse as *mut c_void),
        slot(ffi::Py_tp_clear, clear as *mut c_void),
        slot(ffi::Py_tp_finalize, finalize as *mut c_void),
        slot(
            ffi::Py_tp_doc,
            c"An awaitable that native code (C through awaitq._C_API, or Rust) fills with awaits and callbacks, or a Rust future.".as_ptr().cast_mut().cast(),
        ),
        ffi::PyType_Slot::default(),
    ];
    let mut spec = ffi::PyType_Spec {
        // Before 3.12 a heap type keeps pointing at this name: a static string.
        name: c"awaitq.NativeAwaitable".as_ptr(),
        basicsize: c_int::try_from(std::mem::size_of::<ContObject>()).expect("small struct"),
        itemsize: 0,
        flags: (ffi::Py_TPFLAGS_DEFAULT
            | ffi::Py_TPFLAGS_HAVE_GC
            | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION) as std::ffi::c_uint,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: a valid spec whose slot functions match their slots' signatures; the method
    // table is 'static; attached to Python.
    let tp = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyType_FromSpec(&mut spec)) }?;
    Ok(tp.cast_into::<PyType>()?.unbind())
}

/// Runs a slot body, turning errors and panics into a raised exception. No `Python::attach`:
/// the machine holds [`Obj`]/[`Exc`], and Rust code that is not ours runs counted inside.
fn trampoline<R>(on_error: R, body: impl FnOnce() -> Result<R, Exc>) -> R {
    let err = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(r)) => return r,
        Ok(Err(e)) => e,
        Err(payload) => Exc::panic(payload),
    };
    err.restore();
    on_error
}

/// # Safety
/// `obj` is a live instance of our type.
unsafe fn this<'a>(obj: *mut ffi::PyObject) -> &'a ContObject {
    // SAFETY: per the contract, `obj` points to a ContObject.
    unsafe { &*obj.cast::<ContObject>() }
}

unsafe extern "C" fn am_await(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: `obj` is live (the caller holds it); returning a new reference to it.
    unsafe { ffi::Py_IncRef(obj) };
    obj
}

/// A step that did not complete by returning or yielding: the exception it raises.
fn failed(step: ContStep<Obj, Exc>) -> Exc {
    match step {
        ContStep::Raise(e) => e,
        ContStep::Refused(err) => Exc::cont(err),
        // `Yield`/`Return` are handled by the callers; `Closed` only answers `Close`.
        _ => Exc::cont(ContError::Running),
    }
}

unsafe extern "C" fn am_send(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> PySendResult {
    // SAFETY: called by CPython, attached, with a live instance, a value (borrowed, never
    // NULL in practice) and an out-pointer.
    unsafe {
        *result = ptr::null_mut();
        trampoline(PySendResult::PYGEN_ERROR, || {
            let v = if value.is_null() {
                Obj::none()
            } else {
                Obj::from_borrowed(value)
            };
            match this(obj).resume(ContInput::Send(v)) {
                ContStep::Yield(v) => {
                    *result = v.into_ptr();
                    Ok(PySendResult::PYGEN_NEXT)
                }
                ContStep::Return(v) => {
                    *result = v.into_ptr();
                    Ok(PySendResult::PYGEN_RETURN)
                }
                step => Err(failed(step)),
            }
        })
    }
}

/// A step of `__next__`, `send` or `throw`: a yield returns the value, a return becomes
/// `StopIteration(value)`.
fn step_out(step: ContStep<Obj, Exc>) -> Result<*mut ffi::PyObject, Exc> {
    match step {
        ContStep::Yield(v) => Ok(v.into_ptr()),
        ContStep::Return(v) => Err(stop_iteration(v)),
        step => Err(failed(step)),
    }
}

/// `StopIteration(v)`, built so that a tuple `v` is not unpacked into its args.
fn stop_iteration(v: Obj) -> Exc {
    // SAFETY: attached; static class; the NULL-terminated argument list of one object.
    unsafe {
        let e = if v.is_none() {
            ffi::PyObject_CallNoArgs(ffi::PyExc_StopIteration)
        } else {
            ffi::PyObject_CallFunctionObjArgs(
                ffi::PyExc_StopIteration,
                v.as_ptr(),
                ptr::null_mut::<ffi::PyObject>(),
            )
        };
        match Obj::from_owned(e) {
            Some(e) => Exc::from_object(e.as_ptr()),
            None => Exc::fetch(),
        }
    }
}

unsafe extern "C" fn iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    trampoline(ptr::null_mut(), || {
        // SAFETY: called by CPython with a live instance.
        step_out(unsafe { this(obj) }.resume(ContInput::Send(Obj::none())))
    })
}

unsafe extern "C" fn meth_send(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance and one borrowed argument.
    trampoline(ptr::null_mut(), || unsafe {
        step_out(this(obj).resume(ContInput::Send(Obj::from_borrowed(value))))
    })
}

unsafe extern "C" fn meth_throw(
    obj: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance and an argument tuple.
    trampoline(ptr::null_mut(), || {
        // Normalising the arguments is PyO3 code, counted as attached (a slow path). Bad
        // arguments raise here and change nothing.
        let thrown = attached(|py| {
            // SAFETY: `args` is the live argument tuple.
            let args = unsafe { Bound::from_borrowed_ptr(py, args) };
            let r = args
                .cast_into::<PyTuple>()
                .map_err(PyErr::from)
                .and_then(|a| thrown(&a));
            r.map(|e| Exc::from_pyerr(py, e))
                .map_err(|e| Exc::from_pyerr(py, e))
        })?;
        // SAFETY: a live instance.
        step_out(unsafe { this(obj) }.resume(ContInput::Throw(thrown)))
    })
}

/// The exception `throw(type[, value[, traceback]])` or `throw(exc)` asks to raise, checked
/// like a generator's `throw` (bad arguments raise `TypeError` and change nothing). The same
/// rules as the channel awaitable's `throw` (awaitable/slots.rs).
fn thrown(args: &Bound<'_, PyTuple>) -> PyResult<PyErr> {
    if args.is_empty() || args.len() > 3 {
        return Err(PyTypeError::new_err("throw expected 1 to 3 arguments"));
    }
    let typ = args.get_item(0)?;
    let val = args.get_item(1).ok().filter(|v| !v.is_none());
    let tb = args.get_item(2).ok().filter(|v| !v.is_none());
    let err = if typ.is_instance_of::<pyo3::exceptions::PyBaseException>() {
        if val.is_some() {
            return Err(PyTypeError::new_err(
                "instance exception may not have a separate value",
            ));
        }
        PyErr::from_value(typ)
    } else if let Some(cls) = typ.cast::<PyType>().ok().filter(|t| {
        t.is_subclass_of::<pyo3::exceptions::PyBaseException>()
            .unwrap_or(false)
    }) {
        match val {
            Some(v) if v.is_instance(cls)? => PyErr::from_value(v),
            Some(v) => PyErr::from_type(cls.clone(), (v.unbind(),)),
            None => PyErr::from_type(cls.clone(), ()),
        }
    } else {
        return Err(PyTypeError::new_err(
            "exceptions must be classes or instances deriving from BaseException",
        ));
    };
    if let Some(tb) = tb {
        let tb = tb.cast_into::<PyTraceback>().map_err(|_| {
            PyTypeError::new_err("throw() third argument must be a traceback object")
        })?;
        err.set_traceback(args.py(), Some(tb));
    }
    Ok(err)
}

unsafe extern "C" fn meth_close(
    obj: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    trampoline(ptr::null_mut(), || {
        // SAFETY: called by CPython with a live instance.
        match unsafe { this(obj) }.resume(ContInput::Close) {
            ContStep::Closed => Ok(Obj::none().into_ptr()),
            step => Err(failed(step)),
        }
    })
}

/// Whether finalising must run the machine's `Close`: something is in flight or queued.
fn needs_close(aw: &ContObject) -> bool {
    match aw.d.cont.phase() {
        ContPhase::Finished | ContPhase::Running => false,
        ContPhase::Fresh => match &aw.d.kind {
            Kind::Future(st) => st.has_future(),
            _ => aw.d.queue.try_borrow().is_ok_and(|q| !q.is_empty()),
        },
        ContPhase::Awaiting | ContPhase::Cancelled => true,
    }
}

/// The exception being raised, kept as is (not normalised) while a finaliser runs.
struct SavedErr([*mut ffi::PyObject; 3]);

// PyErr_Fetch/Restore: deprecated since 3.12, see `Exc::take`.
#[allow(deprecated)]
impl SavedErr {
    fn take() -> Self {
        let mut e = [ptr::null_mut(); 3];
        // SAFETY: attached; Fetch hands over owned references (or NULLs).
        unsafe { ffi::PyErr_Fetch(&mut e[0], &mut e[1], &mut e[2]) };
        Self(e)
    }

    fn restore(self) {
        let [t, v, tb] = self.0;
        // SAFETY: attached; Restore steals what Fetch gave.
        unsafe { ffi::PyErr_Restore(t, v, tb) };
    }
}

/// PEP 442 finaliser: a dropped, unfinished awaitable is closed as a generator is (the inner's
/// `finally` runs, queued coroutines are closed, a Rust future is dropped).
unsafe extern "C" fn finalize(obj: *mut ffi::PyObject) {
    // SAFETY: called by CPython (or `dealloc`) with a live instance, attached.
    let aw = unsafe { this(obj) };
    if !needs_close(aw) {
        return;
    }
    // A finaliser must leave the current exception as it found it.
    let saved = SavedErr::take();
    match catch_unwind(AssertUnwindSafe(|| aw.resume(ContInput::Close))) {
        Ok(ContStep::Raise(e)) => iter::unraisable(e, obj),
        Ok(_) => {}
        Err(p) => iter::unraisable(Exc::panic(p), obj),
    }
    saved.restore();
}

unsafe extern "C" fn traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: called by the GC with a live instance; only reads pointers, runs no Python.
    unsafe {
        let aw = this(obj);
        let mut ptrs: Vec<*mut ffi::PyObject> = Vec::new();
        let mut add = |p: *mut ffi::PyObject| {
            if !p.is_null() {
                ptrs.push(p);
            }
        };
        for cell in [&aw.d.result, &aw.d.owner] {
            let v = cell.take();
            add(v.as_ref().map_or(ptr::null_mut(), Obj::as_ptr));
            cell.set(v);
        }
        if let Ok(values) = aw.d.values.try_borrow() {
            values.iter().for_each(|v| add(v.as_ptr()));
        }
        if let Ok(queue) = aw.d.queue.try_borrow() {
            queue.iter().flat_map(Entry::objects).for_each(&mut add);
        }
        aw.d.cont
            .with_current(|e| e.into_iter().flat_map(Entry::objects).for_each(&mut add));
        match &aw.d.kind {
            Kind::Future(st) => st.visit(&mut add),
            Kind::With(st) => st.visit(&mut add),
            Kind::Queue => {}
        }
        for p in ptrs {
            let r = visit(p, arg);
            if r != 0 {
                return r;
            }
        }
        0
    }
}

/// Drops every reference (the GC breaking a cycle). Everything is taken out first, so a
/// finaliser that a drop triggers sees a finished, empty awaitable.
unsafe extern "C" fn clear(obj: *mut ffi::PyObject) -> c_int {
    // SAFETY: called by the GC with a live instance, attached.
    let aw = unsafe { this(obj) };
    let current = aw.d.cont.clear();
    let queue = std::mem::take(&mut *aw.d.queue.borrow_mut());
    let result = aw.d.result.take();
    let values = std::mem::take(&mut *aw.d.values.borrow_mut());
    let owner = aw.d.owner.take();
    match &aw.d.kind {
        Kind::Future(st) => st.clear(),
        Kind::With(st) => st.clear(),
        Kind::Queue => {}
    }
    drop((current, queue, result, values, owner));
    0
}

unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython deallocates a live instance of our heap type, attached, exactly once
    // per time its count reaches zero.
    unsafe {
        let aw = this(obj);
        if needs_close(aw) {
            // What PyObject_CallFinalizerFromDealloc does (not in the 3.10 limited API):
            // resurrect, finalise, let go. The finaliser finishes the machine, so when the
            // count drops to zero again this dealloc runs once more and frees; if the
            // finaliser resurrected the object, it lives on, finished.
            ffi::Py_IncRef(obj);
            finalize(obj);
            ffi::Py_DecRef(obj);
            return;
        }
        ffi::PyObject_GC_UnTrack(obj.cast());
        if let Kind::Future(st) = &aw.d.kind {
            // The channel of its wake path must not point at freed memory.
            st.unregister();
        }
        let d = ptr::addr_of_mut!((*obj.cast::<ContObject>()).d);
        trampoline((), || {
            (*d).recycle();
            Ok(())
        });
        let tp = ffi::Py_TYPE(obj);
        if !freelist::keep(obj) {
            // Not kept: what `recycle` left (empty containers' memory) goes too.
            ptr::drop_in_place(d);
            let free: ffi::freefunc = std::mem::transmute(ffi::PyType_GetSlot(tp, ffi::Py_tp_free));
            free(obj.cast());
        }
        ffi::Py_DecRef(tp.cast());
    }
}
