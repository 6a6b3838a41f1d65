//! Every way an operation can fail, one enum per operation. The bindings map these to their
//! exceptions in one place each; the messages (`Display`) are shared by both.

use crate::message::{display_via_pieces, Message, Piece};

/// Why a push (a producer's send) did not queue the frame. The frame is not queued in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The channel is full and its policy is [`Overflow::Reject`](crate::Overflow::Reject).
    /// Counted in [`Stats::dropped`](crate::Stats::dropped).
    Full,
    /// The channel was closed by either side.
    Closed,
    /// The payload is longer than the channel's `max_frame`. Counted in
    /// [`Stats::rejected`](crate::Stats::rejected); never truncated.
    Oversize {
        /// Length of the rejected payload.
        len: usize,
        /// The channel's `max_frame`.
        max_frame: usize,
    },
}

impl Message for PushError {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        match *self {
            Self::Full => out(Piece::Text("channel is full")),
            Self::Closed => out(Piece::Text("channel is closed")),
            Self::Oversize { len, max_frame } => {
                out(Piece::Text("payload of "));
                out(Piece::Num(len));
                out(Piece::Text(" bytes exceeds max_frame ("));
                out(Piece::Num(max_frame));
                out(Piece::Text(")"));
            }
        }
    }
}

impl core::error::Error for PushError {}

/// Why a receive did not deliver a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing is queued right now (only from the non-waiting receives).
    Empty,
    /// The channel is closed and drained: nothing more will ever arrive.
    Closed,
    /// Another receive operation is already parked on this channel (one consumer only).
    Busy,
    /// The destination buffer cannot hold the next frame; the frame stays queued.
    BufferTooSmall {
        /// Length of the frame at the head of the queue.
        needed: usize,
        /// Length of the buffer offered.
        got: usize,
    },
}

impl Message for RecvError {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        match *self {
            Self::Empty => out(Piece::Text("channel is empty")),
            Self::Closed => out(Piece::Text("channel is closed")),
            Self::Busy => out(Piece::Text(
                "another receiver is already waiting on this channel",
            )),
            Self::BufferTooSmall { needed, got } => {
                out(Piece::Text("buffer of "));
                out(Piece::Num(got));
                out(Piece::Text(" bytes is too small for a "));
                out(Piece::Num(needed));
                out(Piece::Text("-byte frame"));
            }
        }
    }
}

impl core::error::Error for RecvError {}

/// Why a channel configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `capacity` must be at least 1.
    ZeroCapacity,
    /// `max_frame` must be at least 1.
    ZeroMaxFrame,
    /// `max_frame` above [`MAX_FRAME_LIMIT`](crate::MAX_FRAME_LIMIT).
    FrameTooLarge,
    /// `capacity` above [`MAX_CAPACITY`](crate::MAX_CAPACITY), or the storage size does not
    /// fit in `isize`.
    TooLarge,
    /// The storage given is shorter than the configuration needs.
    StorageTooSmall {
        /// Words the configuration needs ([`Config::storage_words`](crate::Config::storage_words)).
        needed: usize,
        /// Words given.
        got: usize,
    },
    /// An overflow policy name other than `"reject"` or `"drop_oldest"`.
    UnknownOverflow,
}

impl Message for ConfigError {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        match *self {
            Self::ZeroCapacity => out(Piece::Text("capacity must be at least 1")),
            Self::ZeroMaxFrame => out(Piece::Text("max_frame must be at least 1")),
            Self::FrameTooLarge => {
                out(Piece::Text("max_frame must be at most "));
                out(Piece::Num(crate::MAX_FRAME_LIMIT));
            }
            Self::TooLarge => out(Piece::Text("capacity * max_frame is too large")),
            Self::StorageTooSmall { needed, got } => {
                out(Piece::Text("storage of "));
                out(Piece::Num(got));
                out(Piece::Text(" words is too small: "));
                out(Piece::Num(needed));
                out(Piece::Text(" needed"));
            }
            Self::UnknownOverflow => out(Piece::Text("overflow must be 'reject' or 'drop_oldest'")),
        }
    }
}

display_via_pieces!(PushError, RecvError, ConfigError);

impl core::error::Error for ConfigError {}
