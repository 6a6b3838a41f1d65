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

use awaitq_core::{ContInput, ContPhase, ContStep};
use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::ffi::{self, PySendResult};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTraceback, PyTuple, PyType};
use pyo3::Py;

use super::entry::Entry;
use super::errors::{cont_err, panic_err};
use super::object::{ContObject, Kind};

static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `awaitq.NativeAwaitable`, created on first use.
pub(crate) fn type_object(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    TYPE.get_or_try_init(py, || create(py)).map(|t| t.bind(py))
}

/// The type as a C pointer (the identity the C API checks against).
pub(crate) fn type_ptr(py: Python<'_>) -> PyResult<*mut ffi::PyTypeObject> {
    if let Some(t) = TYPE.get(py) {
        return Ok(t.as_ptr().cast());
    }
    Ok(type_object(py)?.as_ptr().cast())
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

/// Runs a slot body attached to Python, turning errors and panics into a raised exception.
///
/// # Safety
/// The caller is a CPython slot, so the thread is attached.
unsafe fn trampoline<R>(on_error: R, body: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    // `attach`, not `assume_attached`: PyO3 must count this thread as attached, or every
    // `Py` dropped inside waits in its deferred pool until some PyO3 function runs (objects
    // would outlive their awaitable, finalisers would run late).
    Python::attach(|py| {
        let err = match catch_unwind(AssertUnwindSafe(|| body(py))) {
            Ok(Ok(r)) => return r,
            Ok(Err(e)) => e,
            Err(payload) => panic_err(payload),
        };
        err.restore(py);
        on_error
    })
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
fn failed(step: ContStep<Py<PyAny>, PyErr>) -> PyErr {
    match step {
        ContStep::Raise(e) => e,
        ContStep::Refused(err) => cont_err(err),
        // `Yield`/`Return` are handled by the callers; `Closed` only answers `Close`.
        _ => PyTypeError::new_err("unexpected continuation step"),
    }
}

unsafe extern "C" fn am_send(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> PySendResult {
    // SAFETY: called by CPython with a live instance, a value (borrowed) and an out-pointer.
    unsafe {
        *result = ptr::null_mut();
        trampoline(PySendResult::PYGEN_ERROR, |py| {
            let v = if value.is_null() {
                py.None()
            } else {
                Bound::from_borrowed_ptr(py, value).unbind()
            };
            match this(obj).resume(py, ContInput::Send(v)) {
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

/// `__next__` and `send(value)`: a return becomes `StopIteration(value)`.
fn next(py: Python<'_>, aw: &ContObject, value: Py<PyAny>) -> PyResult<*mut ffi::PyObject> {
    match aw.resume(py, ContInput::Send(value)) {
        ContStep::Yield(v) => Ok(v.into_ptr()),
        ContStep::Return(v) => Err(stop_iteration(py, v)),
        step => Err(failed(step)),
    }
}

/// `StopIteration(v)`, built so that a tuple `v` is not unpacked into its args.
fn stop_iteration(py: Python<'_>, v: Py<PyAny>) -> PyErr {
    if v.is_none(py) {
        PyStopIteration::new_err(())
    } else {
        PyStopIteration::new_err((v,))
    }
}

unsafe extern "C" fn iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance.
    unsafe { trampoline(ptr::null_mut(), |py| next(py, this(obj), py.None())) }
}

unsafe extern "C" fn meth_send(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance and one borrowed argument.
    unsafe {
        trampoline(ptr::null_mut(), |py| {
            next(py, this(obj), Bound::from_borrowed_ptr(py, value).unbind())
        })
    }
}

unsafe extern "C" fn meth_throw(
    obj: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance and an argument tuple.
    unsafe {
        trampoline(ptr::null_mut(), |py| {
            let args = Bound::from_borrowed_ptr(py, args).cast_into::<PyTuple>()?;
            let err = thrown(&args)?;
            match this(obj).resume(py, ContInput::Throw(err)) {
                ContStep::Yield(v) => Ok(v.into_ptr()),
                ContStep::Return(v) => Err(stop_iteration(py, v)),
                step => Err(failed(step)),
            }
        })
    }
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
    // SAFETY: called by CPython with a live instance.
    unsafe {
        trampoline(ptr::null_mut(), |py| {
            match this(obj).resume(py, ContInput::Close) {
                ContStep::Closed => Ok(py.None().into_ptr()),
                step => Err(failed(step)),
            }
        })
    }
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

/// PEP 442 finaliser: a dropped, unfinished awaitable is closed as a generator is (the inner's
/// `finally` runs, queued coroutines are closed, a Rust future is dropped).
unsafe extern "C" fn finalize(obj: *mut ffi::PyObject) {
    // SAFETY: called by CPython (or `dealloc`) with a live instance, attached.
    unsafe {
        let aw = this(obj);
        if !needs_close(aw) {
            return;
        }
        Python::attach(|py| {
            // A finaliser must leave the current exception as it found it.
            let saved = PyErr::take(py);
            let r = catch_unwind(AssertUnwindSafe(|| {
                if let ContStep::Raise(e) = aw.resume(py, ContInput::Close) {
                    e.write_unraisable(py, Some(&aw.to_bound(py)));
                }
            }));
            if let Err(p) = r {
                panic_err(p).write_unraisable(py, None);
            }
            if let Some(e) = saved {
                e.restore(py);
            }
        });
    }
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
        let mut add_opt = |o: Option<&Py<PyAny>>| add(o.map_or(ptr::null_mut(), |o| o.as_ptr()));
        for cell in [&aw.d.result, &aw.d.owner] {
            let v = cell.take();
            add_opt(v.as_ref());
            cell.set(v);
        }
        if let Ok(values) = aw.d.values.try_borrow() {
            values.iter().for_each(|v| add_opt(Some(v)));
        }
        if let Ok(queue) = aw.d.queue.try_borrow() {
            queue.iter().flat_map(Entry::objects).for_each(&mut add_opt);
        }
        aw.d.cont.with_current(|e| {
            e.into_iter()
                .flat_map(Entry::objects)
                .for_each(&mut add_opt)
        });
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
    unsafe {
        let aw = this(obj);
        Python::attach(|py| {
            let current = aw.d.cont.clear();
            let queue = std::mem::take(&mut *aw.d.queue.borrow_mut());
            let result = aw.d.result.take();
            let values = std::mem::take(&mut *aw.d.values.borrow_mut());
            let owner = aw.d.owner.take();
            match &aw.d.kind {
                Kind::Future(st) => st.clear(py),
                Kind::With(st) => st.clear(),
                Kind::Queue => {}
            }
            drop((current, queue, result, values, owner));
        });
        0
    }
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
        trampoline((), |py| {
            if let Kind::Future(st) = &aw.d.kind {
                // The channel of its wake path must not point at freed memory.
                st.unregister(py);
            }
            // Inside `attach`: the `Py` fields decref now.
            ptr::drop_in_place(ptr::addr_of_mut!((*obj.cast::<ContObject>()).d));
            Ok(())
        });
        let tp = ffi::Py_TYPE(obj);
        let free: ffi::freefunc = std::mem::transmute(ffi::PyType_GetSlot(tp, ffi::Py_tp_free));
        free(obj.cast());
        ffi::Py_DecRef(tp.cast());
    }
}
