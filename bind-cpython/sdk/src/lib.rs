//! # awaitq-sdk
//!
//! Use [awaitq](https://example.invalid/awaitq) from *another* PyO3 extension module: push
//! frames into a Python `awaitq.Channel` from native threads, and write awaitables in Rust,
//! through awaitq's `awaitq._C_API` capsule. Nothing links against awaitq: the capsule is
//! imported (with the GIL held) on first use and its version checked; any awaitq wheel whose
//! capsule is at least the version a feature needs works.
//!
//! | you have | you want | use |
//! |---|---|---|
//! | an `awaitq.Channel` from Python | push from a thread, no GIL | [`Producer`] |
//! | a Python coroutine | await it from Rust callbacks | [`NativeAwaitable`] |
//! | a Rust `async` block | a Python awaitable | [`future_into_py`], [`py_await`] |
//!
//! ## Pushing from a thread
//!
//! ```no_run
//! use pyo3::prelude::*;
//! use awaitq_sdk::{Producer, PushError};
//!
//! /// start(channel): a native thread feeds `channel`; Python awaits `channel.recv()`.
//! #[pyfunction]
//! fn start(channel: &Bound<'_, PyAny>) -> PyResult<()> {
//!     let producer = Producer::from_object(channel)?;   // with the GIL; checks the capsule
//!     std::thread::spawn(move || {                       // Producer: Send + Sync + Clone
//!         for k in 0..100u32 {
//!             match producer.push(k, &k.to_le_bytes()) {
//!                 Ok(()) => {}
//!                 Err(PushError::Full) => std::thread::yield_now(),
//!                 Err(_) => return,                          // closed by the consumer
//!             }
//!         }
//!         producer.close();
//!     });
//!     Ok(())
//! }
//! ```
//!
//! ## Awaiting Python from Rust
//!
//! ```no_run
//! use pyo3::prelude::*;
//!
//! #[pyfunction]
//! fn twice<'py>(py: Python<'py>, a: Py<PyAny>, b: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
//!     awaitq_sdk::future_into_py(py, async move {
//!         let x = awaitq_sdk::py_await(a).await?;
//!         let y = awaitq_sdk::py_await(b).await?;
//!         Python::attach(|py| Ok((x, y).into_pyobject(py)?.into_any().unbind()))
//!     })
//! }
//! ```
//!
//! ## Versions
//!
//! The capsule's table grows by appending groups of functions, each with the version that
//! added it ([`ffi`]): producers need version 1, native awaitables version 2.
//! [`capi_version`] reports what the installed awaitq offers.
//!
//! `bind-cpython/sdk/example` in the awaitq repository is a maturin extension built on this crate, with
//! tests that run it under asyncio.
#![deny(missing_docs)]

mod api;
mod aw;
pub mod ffi;
mod future;
mod producer;

pub use api::capi_version;
pub use aw::NativeAwaitable;
pub use future::{future_into_py, py_await, PyAwait};
pub use producer::{Producer, PushError, Reservation, Stats};
