//! Every failure this binding can report, and the one place that turns it into a Python
//! exception. The core's errors keep their `Display` text (shared with MicroPython); the few
//! that are the binding's own (argument checks, event-loop misuse) are spelled here.

use awaitq_core::args::ArgError;
use awaitq_core::{ConfigError, PushError, RecvError};
use pyo3::exceptions::{
    PyException, PyMemoryError, PyOSError, PyRuntimeError, PyStopAsyncIteration, PyTypeError,
    PyValueError,
};
use pyo3::{create_exception, PyErr};

create_exception!(
    awaitq,
    Error,
    PyException,
    "Base class of awaitq's own exceptions."
);
create_exception!(
    awaitq,
    ChannelClosed,
    Error,
    "The channel is closed (for a receive: closed and drained)."
);
create_exception!(
    awaitq,
    ChannelFull,
    Error,
    "The channel is full and its overflow policy is 'reject'."
);

/// A failure, before it becomes a Python exception.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A producer-side failure from the core (`send_nowait`, `await send`).
    Push(PushError),
    /// A receive-side failure from the core.
    Recv(RecvError),
    /// A refused channel configuration.
    Config(ConfigError),
    /// `async for` reached the end: closed and drained.
    EndOfStream,
    /// The awaitable was resumed after it finished (core `Step::Exhausted`).
    Exhausted,
    /// A tag that does not fit in a `u32`.
    TagOutOfRange,
    /// An argument out of the range the core's rules allow.
    Arg(ArgError),
    /// `recv_many(n)` with `n < 1`.
    BatchTooSmall,
    /// `spawn_producer(size=...)` outside `4..=max_frame`.
    ProducerSize { size: usize, max_frame: usize },
    /// An argument of the wrong type: `(what, expected)`.
    Type(&'static str, &'static str),
    /// A receive or send parked from one event loop while another loop waits on the channel.
    ForeignLoop,
    /// The running event loop is already closed.
    LoopClosed,
    /// A second driver resumed an awaitable whose wait belongs to another task.
    SharedAwaitable,
    /// The awaitable was resumed from inside its own step (like "generator already executing").
    Reentered,
    /// The channel's storage could not be allocated.
    NoMemory,
    /// A system call failed (creating the wake-up descriptor).
    Os(std::io::Error),
}

impl From<PushError> for Failure {
    fn from(e: PushError) -> Self {
        Self::Push(e)
    }
}

impl From<RecvError> for Failure {
    fn from(e: RecvError) -> Self {
        Self::Recv(e)
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Os(e)
    }
}

/// The message of [`Failure::Exhausted`] (the wording of core's `Step::Exhausted` docs).
pub(crate) const EXHAUSTED: &str = "cannot reuse an already awaited awaitable";

impl From<Failure> for PyErr {
    fn from(e: Failure) -> Self {
        match e {
            Failure::Push(e @ PushError::Full) => ChannelFull::new_err(e.to_string()),
            Failure::Push(e @ PushError::Closed) => ChannelClosed::new_err(e.to_string()),
            Failure::Push(e @ PushError::Oversize { .. }) => PyValueError::new_err(e.to_string()),
            Failure::Recv(e @ RecvError::Closed) => ChannelClosed::new_err(e.to_string()),
            Failure::Recv(e @ RecvError::Busy) => PyRuntimeError::new_err(e.to_string()),
            Failure::Recv(e @ RecvError::BufferTooSmall { .. }) => {
                PyValueError::new_err(e.to_string())
            }
            // Only the non-waiting receives see Empty, and they turn it into `None` first.
            Failure::Recv(e @ RecvError::Empty) => Error::new_err(e.to_string()),
            Failure::Config(e) => PyValueError::new_err(e.to_string()),
            Failure::EndOfStream => PyStopAsyncIteration::new_err(()),
            Failure::Exhausted => PyRuntimeError::new_err(EXHAUSTED),
            Failure::TagOutOfRange => PyValueError::new_err(ArgError::TagOutOfRange.to_string()),
            Failure::Arg(e) => PyValueError::new_err(e.to_string()),
            Failure::BatchTooSmall => PyValueError::new_err("n must be at least 1"),
            Failure::ProducerSize { size, max_frame } => PyValueError::new_err(format!(
                "size must be between 4 and max_frame ({max_frame}), got {size}"
            )),
            Failure::Type(what, expected) => {
                PyTypeError::new_err(format!("{what} must be {expected}"))
            }
            Failure::ForeignLoop => PyRuntimeError::new_err(
                "this channel is already awaited from another event loop (or outside one)",
            ),
            Failure::LoopClosed => PyRuntimeError::new_err("the running event loop is closed"),
            Failure::SharedAwaitable => {
                PyRuntimeError::new_err("awaitq: another task is awaiting this awaitable")
            }
            Failure::Reentered => PyValueError::new_err("awaitable is already running"),
            Failure::NoMemory => PyMemoryError::new_err("cannot allocate the channel's storage"),
            Failure::Os(e) => PyOSError::new_err(e.to_string()),
        }
    }
}

/// The exception for a caught Rust panic: `PanicException`, except PyO3's "a C API returned
/// NULL" panic (`panic_on_null`, from its infallible constructors: `PyString::new`, `intern!`,
/// `into_pyobject` of numbers), which under memory exhaustion is how a failed allocation shows
/// (PyO3 reports the original error as unraisable first): that one is a `MemoryError`, raised
/// from CPython's preallocated instances so raising it allocates nothing.
pub(crate) fn panic_error(py: pyo3::Python<'_>, payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic in awaitq".into());
    if msg == PYO3_NULL_PANIC {
        // SAFETY: attached (we hold `py`); PyErr_NoMemory sets the error indicator.
        unsafe { pyo3::ffi::PyErr_NoMemory() };
        if let Some(e) = PyErr::take(py) {
            return e;
        }
    }
    pyo3::panic::PanicException::new_err(msg)
}

/// PyO3's panic message when a C API call it cannot fail returned NULL.
const PYO3_NULL_PANIC: &str = "PyObject pointer is null";

/// Results of the binding's internals.
pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;
