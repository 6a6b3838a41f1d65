//! # awaitq-cpython
//!
//! The CPython binding of awaitq: an abi3 extension module (`awaitq._awaitq`, wrapped by the
//! `awaitq` Python package) in which asyncio code awaits frames that native producers push.
//!
//! | module | concept |
//! |---|---|
//! | [`channel`] | `awaitq.Channel`, the Python face of a core channel |
//! | `awaitable` | the native awaitable (`am_await`/`am_send`/`tp_iternext`/`send`/`throw`/`close`) |
//! | `wake` | waking a parked consumer without the GIL: hook → eventfd → loop reader (asyncio), → trio's pump task, or → a waker thread (no descriptor) |
//! | [`producer`] | [`Producer`] for Rust threads, `ProducerHandle` and `_C_API` for C |
//! | `errors` | the one mapping from core errors to Python exceptions |
//! | `testing` | `spawn_producer`, `Pinger`: native threads for tests and benchmarks |
//! | `io` | `awaitq.io.Reader`: a native thread reading a descriptor, framing with core |
//! | [`cont`] | native awaitables that await Python: Rust API, C API, Rust futures |
//!
//! Every state decision is the core's (`RecvOp`/`SendOp::resume -> Step`); this crate
//! translates. See `bind-cpython/README.md` for the user-facing documentation.

mod args;
mod awaitable;
mod buffer;
pub mod channel;
pub mod cont;
mod errors;
mod frames;
mod gil;
// POSIX only (poll, pipes, fcntl); Windows has no awaitq.io.Reader yet.
#[cfg(unix)]
mod io;
pub mod producer;
// Without `spin-section` only its tests use the lock.
#[cfg_attr(not(feature = "spin-section"), allow(dead_code))]
mod section;
mod shared;
mod staged;
mod testing;
mod wake;

pub use channel::Channel;
pub use producer::{Producer, ProducerHandle};
pub use shared::Shared;

use pyo3::prelude::*;

/// The extension module; `python/awaitq/__init__.py` re-exports it as `awaitq`.
///
/// `gil_used = false`: free-threaded CPython may keep the GIL off when it imports us. Nothing
/// of the binding relies on the GIL for its safety there (src/gil.rs; per type: the README's
/// "Threads" section); with the GIL the flag means nothing.
#[pymodule(gil_used = false)]
fn _awaitq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    section::install_fork_handler();
    m.add_class::<Channel>()?;
    channel::install_recv(py)?;
    m.add_class::<ProducerHandle>()?;
    m.add_class::<wake::park::WaitHandle>()?;
    m.add_class::<wake::loops::LoopWaker>()?;
    m.add_class::<wake::park::TrioAbort>()?;
    m.add("Awaitable", awaitable::type_object(py)?)?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("ChannelClosed", py.get_type::<errors::ChannelClosed>())?;
    m.add("ChannelFull", py.get_type::<errors::ChannelFull>())?;
    m.add("_C_API", producer::c_api_capsule(py)?)?;
    // The capsule table's version (what `awaitq.h` defines as AWAITQ_CAPI_VERSION).
    m.add("C_API_VERSION", cont::AWAITQ_CAPI_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_CAPACITY", awaitq_core::DEFAULT_CAPACITY)?;
    m.add("DEFAULT_MAX_FRAME", awaitq_core::DEFAULT_MAX_FRAME)?;
    m.add("MAX_FRAME_LIMIT", awaitq_core::MAX_FRAME_LIMIT)?;
    m.add_function(wrap_pyfunction!(wake::loops::_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(wake::loops::_registered_loops, m)?)?;
    m.add_function(wrap_pyfunction!(wake::loops::_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(frames::frames, m)?)?;
    m.add_class::<frames::Frames>()?;
    m.add_function(wrap_pyfunction!(testing::spawn_producer, m)?)?;
    m.add_class::<testing::SpawnedProducer>()?;
    m.add_class::<testing::Pinger>()?;
    #[cfg(unix)]
    m.add_class::<io::_Reader>()?;
    m.add("NativeAwaitable", cont::type_object(py)?)?;
    m.add("_cont_testing", cont::testing::module(py)?)?;
    Ok(())
}
