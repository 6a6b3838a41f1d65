//! # awaitq-core
//!
//! The rules of awaitq, once, for every target: a bounded many-producer / one-consumer channel
//! of tagged byte frames, the wake protocol that lets a consumer park without polling, and the
//! state machine of an awaitable receive. No Python here, no allocation, no `unsafe`.
//!
//! ```
//! use awaitq_core::{Channel, Config, Overflow, RecvOp, Resume, Step};
//!
//! let ch = Channel::new(vec![0u8; Config::new(8, 16, Overflow::Reject).storage_len()],
//!                       Config::new(8, 16, Overflow::Reject)).unwrap();
//! let mut buf = [0u8; 16];
//! let mut op = RecvOp::new();
//! // Empty: the operation parks and the channel is armed.
//! assert_eq!(op.resume(&ch, Resume::Send, &mut buf), Step::Pending);
//! ch.push(7, b"frame").unwrap();                 // a producer; calls the wake hook once
//! let Step::Ready(frame) = op.resume(&ch, Resume::Send, &mut buf) else { panic!() };
//! assert_eq!((frame.tag, &buf[..frame.len]), (7, &b"frame"[..]));
//! ```
//!
//! | module | concept |
//! |---|---|
//! | [`Config`], [`Overflow`] | geometry and policy, validated once |
//! | [`Channel`] | the queue behind a critical section |
//! | [`wake`] | the wake hook and the protocol's races |
//! | [`RecvOp`], [`SendOp`], [`Step`] | the awaitable state machine |
//! | [`cont`]: [`Continuation`], [`Host`], [`ContStep`] | native continuations: awaits chained by native code |
//! | [`Stats`], errors | counters and every failure |
//! | [`args`] | argument rules (counts, tags, rates) shared by the bindings |
//! | [`Message`], [`Piece`] | every error's message, once, renderable without `core::fmt` |
#![cfg_attr(not(any(test, loom)), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod args;
mod batch;
mod channel;
mod config;
pub mod cont;
mod error;
mod message;
mod op;
mod state;
mod stats;
mod sync;
#[cfg(test)]
mod testutil;
pub mod wake;

pub use batch::batch_frames;
pub use channel::Channel;
pub use config::{
    Config, Overflow, DEFAULT_CAPACITY, DEFAULT_MAX_FRAME, MAX_FRAME_LIMIT, SLOT_HEADER,
};
pub use cont::{
    AddCursor, AsyncWith, ContError, ContInput, ContPhase, ContStep, Continuation, ExcType, Host,
    Inner, Started, WithAction, WithEvent,
};
pub use error::{ConfigError, PushError, RecvError};
pub use message::{Message, Piece};
pub use op::{Phase, RecvOp, RecvStep, Resume, SendOp, SendStep, Step};
pub use state::Frame;
pub use stats::Stats;
pub use wake::WakeHook;
