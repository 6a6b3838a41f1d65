//! Every way an operation can fail, one enum per operation. The bindings map these to their
//! exceptions in one place each; the messages (`Display`) are shared by both.

use core::fmt;

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

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("channel is full"),
            Self::Closed => f.write_str("channel is closed"),
            Self::Oversize { len, max_frame } => {
                write!(f, "payload of {len} bytes exceeds max_frame ({max_frame})")
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

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("channel is empty"),
            Self::Closed => f.write_str("channel is closed"),
            Self::Busy => f.write_str("another receiver is already waiting on this channel"),
            Self::BufferTooSmall { needed, got } => {
                write!(
                    f,
                    "buffer of {got} bytes is too small for a {needed}-byte frame"
                )
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
    /// `capacity * (max_frame + header)` does not fit in `usize`.
    TooLarge,
    /// The storage given is shorter than the configuration needs.
    StorageTooSmall {
        /// Bytes the configuration needs ([`Config::storage_len`](crate::Config::storage_len)).
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// An overflow policy name other than `"reject"` or `"drop_oldest"`.
    UnknownOverflow,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("capacity must be at least 1"),
            Self::ZeroMaxFrame => f.write_str("max_frame must be at least 1"),
            Self::FrameTooLarge => {
                write!(f, "max_frame must be at most {}", crate::MAX_FRAME_LIMIT)
            }
            Self::TooLarge => f.write_str("capacity * max_frame is too large"),
            Self::StorageTooSmall { needed, got } => {
                write!(f, "storage of {got} bytes is too small: {needed} needed")
            }
            Self::UnknownOverflow => f.write_str("overflow must be 'reject' or 'drop_oldest'"),
        }
    }
}

impl core::error::Error for ConfigError {}
