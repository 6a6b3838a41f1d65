//! Argument conversions with the API's error types: `TypeError` for a wrong type,
//! `ValueError` for a value out of range (never PyO3's `OverflowError`).

//!
//! The rules themselves (ranges, messages) are the core's ([`awaitq_core::args`]); MicroPython
//! applies the same ones. `bool` is not accepted where an `int` is asked for (MicroPython's
//! `bool` is not an `int`, so CPython refuses it too), nor is `None` for a size.

use awaitq_core::args as rules;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::errors::{Failure, Result};

/// `obj` as an `int` (not a `bool`), or `TypeError` naming `what`.
fn int<'a, 'py>(obj: &'a Bound<'py, PyAny>, what: &'static str) -> Result<&'a Bound<'py, PyInt>> {
    if obj.is_instance_of::<PyBool>() {
        return Err(Failure::Type(what, "an int"));
    }
    obj.cast::<PyInt>()
        .map_err(|_| Failure::Type(what, "an int"))
}

/// A frame tag: an `int` in `0..2**32-1`.
pub(crate) fn tag(obj: &Bound<'_, PyAny>) -> Result<u32> {
    let int = int(obj, "tag")?;
    int.extract::<i64>()
        .map_or(Err(rules::ArgError::TagOutOfRange), rules::tag)
        .map_err(|_| Failure::TagOutOfRange)
}

/// A count (`spawn_producer`'s `count`): an `int`, not negative; beyond `u64` is clamped.
pub(crate) fn count(obj: &Bound<'_, PyAny>, what: &'static str) -> Result<u64> {
    let int = int(obj, what)?;
    match int.extract::<i64>() {
        Ok(v) => rules::count(v, what).map_err(Failure::Arg),
        Err(_) if int.lt(0i32).unwrap_or(false) => {
            Err(Failure::Arg(rules::ArgError::Negative(what)))
        }
        Err(_) => Ok(u64::MAX),
    }
}

/// An argument as given, `None` included: `Given(None)` only when it was left out. (PyO3 maps
/// an explicit `None` to a missing `Option<T>`; a size must refuse `None` as MicroPython does.)
pub(crate) struct Given<'py>(pub(crate) Option<Bound<'py, PyAny>>);

impl<'a, 'py> FromPyObject<'a, 'py> for Given<'py> {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Self(Some(obj.to_owned())))
    }
}

/// A size argument that may be left out (`default`), never `None`.
pub(crate) fn size_or(given: Given<'_>, what: &'static str, default: usize) -> Result<usize> {
    given.0.map_or(Ok(default), |obj| size(&obj, what))
}

/// A size (`capacity`, `max_frame`, `n`, `count`): an `int`. Negative values become 0 and
/// values beyond `usize` become `usize::MAX`, so the caller's own range check reports them.
pub(crate) fn size(obj: &Bound<'_, PyAny>, what: &'static str) -> Result<usize> {
    let int = int(obj, what)?;
    if let Ok(v) = int.extract::<usize>() {
        return Ok(v);
    }
    // Out of `usize`: negative or huge.
    let negative = int.lt(0i32).unwrap_or(false);
    Ok(if negative { 0 } else { usize::MAX })
}
