//! # awaitq-core
//!
//! The rules of awaitq, once, for every target: a bounded many-producer / one-consumer channel
//! of tagged byte frames, the wake protocol that lets a consumer park without polling, and the
//! state machine of an awaitable receive. No Python here, no allocation, no `unsafe`.
//!
//! ```
//! use awaitq_core::{Channel, Config, Overflow, RecvOp, Resume, Step};
//!
//! let cfg = Config::new(8, 16, Overflow::Reject);
//! let storage: Vec<awaitq_core::Word> = (0..cfg.storage_words()).map(|_| Default::default()).collect();
//! let ch = Channel::new(storage, cfg).unwrap();
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
//! | [`Channel`], [`Reservation`], [`ring`] | the lock-free ring and its progress guarantee |
//! | [`wake`] | the wake hook and the protocol's races |
//! | [`RecvOp`], [`SendOp`], [`Step`] | the awaitable state machine |
//! | [`cont`]: [`Continuation`], [`Host`], [`ContStep`] | native continuations: awaits chained by native code |
//! | [`framing`] | byte streams and datagrams into frames (line, SLIP, COBS, fixed, length-prefixed) |
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
pub mod framing;
mod message;
mod op;
pub mod ring;
mod stats;
mod sync;
#[cfg(test)]
mod testutil;
pub mod wake;

pub use batch::{batch_frames, batch_records, record_len, write_record, RECORD_HEADER};
pub use channel::{Channel, Reservation};
pub use config::{
    Config, Overflow, DEFAULT_CAPACITY, DEFAULT_MAX_FRAME, MAX_CAPACITY, MAX_FRAME_LIMIT,
    SLOT_HEADER, SLOT_HEADER_WORDS,
};
pub use cont::{
    AddCursor, AsyncWith, ContError, ContInput, ContPhase, ContStep, Continuation, ExcType, Host,
    Inner, Started, WithAction, WithEvent,
};
pub use error::{ConfigError, PushError, RecvError};
pub use message::{Message, Piece};
pub use op::{Phase, RecvOp, RecvStep, Resume, SendOp, SendStep, Step};
pub use ring::Frame;
pub use stats::Stats;
pub use sync::Word;
pub use wake::WakeHook;
