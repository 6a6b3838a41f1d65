//! Native continuations (issue 5): native code that awaits Python.
//!
//! One object type, `awaitq.NativeAwaitable`, built from `PyType_Spec` slots like the channel
//! awaitable (`am_await`/`am_send`/`tp_iternext`, `send`/`throw`/`close`, GC slots and a PEP 442
//! finaliser), driven by core's [`Continuation`](awaitq_core::Continuation): every sequencing
//! rule (the phase table, callbacks, cancel, re-entry, `async with`) is core's; this module
//! implements core's `Host` over Python objects and translates `ContStep`s.
//!
//! | module | concept |
//! |---|---|
//! | `obj` | owned references released without PyO3 (the hot path), and why |
//! | `object` | the layout, the queue (core's `AddCursor` order), result and saved values |
//! | `freelist` | freed awaitables kept for reuse |
//! | `host` | core's `Host`: start / send / throw / close an inner, run callbacks |
//! | `iter` | the inner awaitable's iterator and one step of it |
//! | `slots` | the type object and its slots (the `ContStep` translation table) |
//! | [`NativeAwaitable`] | the Rust API |
//! | `capi` | the C API table appended to `awaitq._C_API` (`ports/include/awaitq_aw.h`) |
//! | `with` | `async with` over core's `AsyncWith` |
//! | [`future_into_py`], [`py_await`] | a Rust future as an awaitable, with no executor |
//! | `erased` | the future stored in the object (inline when small) |
//! | `waker` | its borrowed and owned `Waker`s |
//! | `testing` | `awaitq.testing.cont`: helpers built on the Rust API, for tests and benchmarks |
//!
//! The user documentation is `bind-cpython/CONTINUATIONS.md`.

mod api;
mod capi;
mod entry;
mod erased;
mod errors;
mod freelist;
mod future;
mod host;
mod iter;
mod obj;
mod object;
mod pyawait;
mod slots;
pub(crate) mod testing;
mod waker;
mod with;

pub use api::NativeAwaitable;
pub use capi::{awaitq_aw_api_t, awaitq_capi_t, AWAITQ_CAPI_VERSION, C_API};
pub use entry::{CDeferCb, CErrorCb, CResultCb, DeferFn, ErrorFn, ResultFn};
pub use future::future_into_py;
pub use pyawait::{py_await, PyAwait};
pub(crate) use slots::type_object;
