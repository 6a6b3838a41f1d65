//! Argument conversions with the API's error types: `TypeError` for a wrong type,
//! `ValueError` for a value out of range (never PyO3's `OverflowError`).

use pyo3::prelude::*;
use pyo3::types::PyInt;

use crate::errors::{Failure, Result};

/// A frame tag: an `int` in `0..2**32-1`.
pub(crate) fn tag(obj: &Bound<'_, PyAny>) -> Result<u32> {
    let int = obj
        .cast::<PyInt>()
        .map_err(|_| Failure::Type("tag", "an int"))?;
    int.extract::<u32>().map_err(|_| Failure::TagOutOfRange)
}

/// A size (`capacity`, `max_frame`, `n`, `count`): an `int`. Negative values become 0 and
/// values beyond `usize` become `usize::MAX`, so the caller's own range check reports them.
pub(crate) fn size(obj: &Bound<'_, PyAny>, what: &'static str) -> Result<usize> {
    let int = obj
        .cast::<PyInt>()
        .map_err(|_| Failure::Type(what, "an int"))?;
    if let Ok(v) = int.extract::<usize>() {
        return Ok(v);
    }
    // Out of `usize`: negative or huge.
    let negative = int.lt(0i32).unwrap_or(false);
    Ok(if negative { 0 } else { usize::MAX })
}
