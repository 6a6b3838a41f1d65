//! The type object and its C slots. Each slot is a thin shell: enter Python, catch panics,
//! call the step on [`AwaitObject`], translate the result to the slot's calling convention.

use std::ffi::{c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::ffi::{self, PySendResult};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTraceback, PyTuple, PyType};
use pyo3::Py;

use super::state::{Inner, Out};
use super::AwaitObject;
use crate::errors::panic_error;
use crate::gil::{drop_now, ObjSlot, RunFlag};
use crate::wake::park::FutSlot;

static TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `awaitq.Awaitable`, created on first use.
pub(crate) fn type_object(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    TYPE.get_or_try_init(py, || create(py)).map(|t| t.bind(py))
}

fn create(py: Python<'_>) -> PyResult<Py<PyType>> {
    fn method(
        name: &'static CStr,
        meth: ffi::PyCFunction,
        flags: c_int,
        doc: &'static CStr,
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
        method(c"send", meth_send, ffi::METH_O, c"send($self, value, /)\n--\n\nResume the wait (the value matters only under trio: the outcome of the wait)."),
        method(c"throw", meth_throw, ffi::METH_VARARGS, c"throw($self, typ, val=None, tb=None, /)\n--\n\nCancel the wait (nothing is consumed) and raise the exception."),
        method(c"close", meth_close, ffi::METH_NOARGS, c"close($self, /)\n--\n\nCancel the wait; nothing is consumed."),
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
        slot(
            ffi::Py_tp_doc,
            c"An awaitable channel operation (recv, recv_tagged, recv_into, recv_many, send, __anext__)."
                .as_ptr()
                .cast_mut()
                .cast(),
        ),
        ffi::PyType_Slot::default(),
    ];
    let mut spec = ffi::PyType_Spec {
        // Before 3.12 a heap type keeps pointing at this name: a static string.
        name: c"awaitq.Awaitable".as_ptr(),
        basicsize: c_int::try_from(std::mem::size_of::<AwaitObject>()).expect("small struct"),
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

/// A new awaitable owning `inner` (and `arg`, `recv_into`'s buffer).
pub(crate) fn alloc(py: Python<'_>, inner: Inner, arg: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
    let tp = type_object(py)?.as_ptr().cast::<ffi::PyTypeObject>();
    // SAFETY: our heap type; tp_alloc (PyType_GenericAlloc) returns zeroed, GC-tracked memory
    // of `basicsize` bytes, or NULL with an exception set.
    let obj = unsafe {
        let alloc: ffi::allocfunc = std::mem::transmute(ffi::PyType_GetSlot(tp, ffi::Py_tp_alloc));
        alloc(tp, 0)
    };
    if obj.is_null() {
        return Err(PyErr::fetch(py));
    }
    let aw = obj.cast::<AwaitObject>();
    // SAFETY: `obj` is a fresh, exclusively owned AwaitObject allocation. The zeroed cells are
    // already valid (None / false), so a GC pass before `inner` is written never reads it;
    // each field is written without dropping the zeroes.
    unsafe {
        ptr::addr_of_mut!((*aw).fut).write(FutSlot::default());
        ptr::addr_of_mut!((*aw).arg).write(ObjSlot::new(arg));
        ptr::addr_of_mut!((*aw).running).write(RunFlag::default());
        ptr::addr_of_mut!((*aw).inner).write(std::cell::UnsafeCell::new(inner));
        Ok(Bound::from_owned_ptr(py, obj).unbind())
    }
}

/// Runs a slot body attached to Python, turning errors and panics into a raised exception.
///
/// # Safety
/// The caller is a CPython slot, so the thread is attached.
pub(crate) unsafe fn trampoline<R>(on_error: R, body: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    // SAFETY: slots run attached (this function's contract).
    let py = unsafe { Python::assume_attached() };
    let err = match catch_unwind(AssertUnwindSafe(|| body(py))) {
        Ok(Ok(r)) => return r,
        Ok(Err(e)) => e,
        Err(payload) => match catch_unwind(AssertUnwindSafe(|| panic_error(py, payload))) {
            Ok(e) => e,
            Err(_) => {
                // SAFETY: attached.
                unsafe { ffi::PyErr_NoMemory() };
                return on_error;
            }
        },
    };
    // Raising a lazily built exception allocates its message, and PyO3 panics when that
    // allocation fails: then we are out of memory, and say so with CPython's preallocated
    // MemoryError (raising it allocates nothing).
    if catch_unwind(AssertUnwindSafe(|| err.restore(py))).is_err() {
        // SAFETY: attached. Setting it can itself fail silently (chaining to the exception
        // being handled allocates), so it is retried once if nothing is set.
        unsafe {
            ffi::PyErr_NoMemory();
            if ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_NoMemory();
            }
        }
    }
    on_error
}

/// # Safety
/// `obj` is a live instance of our type.
unsafe fn this<'a>(obj: *mut ffi::PyObject) -> &'a AwaitObject {
    // SAFETY: per the contract, `obj` points to an AwaitObject.
    unsafe { &*obj.cast::<AwaitObject>() }
}

unsafe extern "C" fn am_await(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: `obj` is live (the caller holds it); returning a new reference to it.
    unsafe { ffi::Py_IncRef(obj) };
    obj
}

unsafe extern "C" fn am_send(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> PySendResult {
    // SAFETY: called by CPython with a live instance, a borrowed value (NULL for `__next__`)
    // and a valid out-pointer.
    unsafe {
        *result = ptr::null_mut();
        trampoline(PySendResult::PYGEN_ERROR, |py| {
            let value = Bound::from_borrowed_ptr_or_opt(py, value);
            Ok(match this(obj).step_send(py, value.as_ref())? {
                Out::Return(v) => {
                    *result = v.into_ptr();
                    PySendResult::PYGEN_RETURN
                }
                Out::Yield(v) => {
                    *result = v.into_ptr();
                    PySendResult::PYGEN_NEXT
                }
            })
        })
    }
}

/// `__next__` and `send(value)`: a return becomes `StopIteration(value)`.
///
/// On CPython 3.12 to 3.14 this is the path of every `await` (their `SEND` instruction calls
/// `tp_iternext`, never `am_send`, for a receiver that is not a generator), so the exception is
/// raised as a C awaitable raises it: `PyErr_SetObject`, no PyO3 error state (whose boxed lazy
/// arguments and deferred reference drops cost three times the exception itself).
fn next(
    py: Python<'_>,
    aw: &AwaitObject,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<*mut ffi::PyObject> {
    match aw.step_send(py, value)? {
        Out::Yield(v) => Ok(v.into_ptr()),
        Out::Return(v) => {
            raise_stop_iteration(py, v);
            Ok(ptr::null_mut())
        }
    }
}

/// Sets `StopIteration(value)` as the current exception.
fn raise_stop_iteration(_py: Python<'_>, value: Py<PyAny>) {
    let v = value.into_ptr();
    // SAFETY: attached; `v` is a new reference we own. `PyErr_SetObject(type, v)` builds
    // `type(v)`, unless `v` is a tuple (the arguments) or an exception instance (the
    // exception itself): those are wrapped in a 1-tuple, so the value arrives unchanged.
    unsafe {
        let arg = if ffi::PyTuple_Check(v) != 0 || ffi::PyExceptionInstance_Check(v) != 0 {
            let t = ffi::PyTuple_Pack(1, v);
            ffi::Py_DecRef(v);
            if t.is_null() {
                return; // MemoryError is set
            }
            t
        } else {
            v
        };
        ffi::PyErr_SetObject(ffi::PyExc_StopIteration, arg);
        ffi::Py_DecRef(arg);
    }
}

unsafe extern "C" fn iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance.
    unsafe { trampoline(ptr::null_mut(), |py| next(py, this(obj), None)) }
}

unsafe extern "C" fn meth_send(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: called by CPython with a live instance and a borrowed argument.
    unsafe {
        trampoline(ptr::null_mut(), |py| {
            let value = Bound::from_borrowed_ptr(py, value);
            next(py, this(obj), Some(&value))
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
            Err(pep479(py, this(obj).step_throw(py, err)))
        })
    }
}

/// What a coroutine does with a `StopIteration` escaping its frame (PEP 479): it becomes a
/// `RuntimeError` caused by it. Re-raised as is, the driver would read it as this awaitable
/// *returning* its value (`coro.throw(StopIteration(x))` would make `await ch.recv()` give x).
fn pep479(py: Python<'_>, err: PyErr) -> PyErr {
    if !err.is_instance_of::<PyStopIteration>(py) {
        return err;
    }
    let e = PyRuntimeError::new_err("coroutine raised StopIteration");
    e.set_cause(py, Some(err));
    e
}

/// The exception `throw(type[, value[, traceback]])` or `throw(exc)` asks to raise, checked
/// like a generator's `throw` (bad arguments raise `TypeError` and do not cancel the wait).
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
            this(obj).step_close(py)?;
            Ok(py.None().into_ptr())
        })
    }
}

unsafe extern "C" fn traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: called by the GC with a live instance; only the cells are read, never `inner`.
    unsafe {
        let aw = this(obj);
        for p in [aw.fut.peek(), aw.arg.peek()] {
            if !p.is_null() {
                let r = visit(p, arg);
                if r != 0 {
                    return r;
                }
            }
        }
        0
    }
}

unsafe extern "C" fn clear(obj: *mut ffi::PyObject) -> c_int {
    // SAFETY: called by the GC, attached, with a live instance.
    let (aw, py) = unsafe { (this(obj), Python::assume_attached()) };
    // At once, not through PyO3's deferred pool: the collector breaks the cycle here.
    aw.fut.clear(py);
    drop_now(py, aw.arg.take());
    0
}

// PyErr_Fetch/Restore: deprecated since 3.12 in favour of PyErr_{Get,Set}RaisedException, which
// the abi3 (3.10) wheel cannot call; version-specific builds (free-threaded 3.14) keep these.
#[allow(deprecated)]
unsafe extern "C" fn dealloc(obj: *mut ffi::PyObject) {
    // SAFETY: CPython deallocates a live instance of our heap type, attached, exactly once;
    // nothing else references it now.
    unsafe {
        ffi::PyObject_GC_UnTrack(obj.cast());
        let aw = obj.cast::<AwaitObject>();
        // A dealloc may run while an exception is propagating (the frame that held us is being
        // unwound): keep it, whatever the cleanup below does with the error indicator.
        let (mut t, mut v, mut tb) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        trampoline((), |py| {
            // A driver dropped us mid-wait (no close()): unpark so the channel is not left busy.
            if !(*aw).running.is_set() {
                (*(*aw).inner.get()).abandon(py, &*aw);
            }
            Ok(())
        });
        if !t.is_null() {
            ffi::PyErr_Restore(t, v, tb);
        }
        ptr::drop_in_place((*aw).inner.get());
        let py = Python::assume_attached();
        (*aw).fut.clear(py);
        drop_now(py, (*aw).arg.take());
        let tp = ffi::Py_TYPE(obj);
        let free: ffi::freefunc = std::mem::transmute(ffi::PyType_GetSlot(tp, ffi::Py_tp_free));
        free(obj.cast());
        ffi::Py_DecRef(tp.cast());
    }
}
