//! Channel geometry and policy, chosen at run time by a binding or at compile time for a
//! `static` channel. The same validation serves both.

use crate::ConfigError;

/// Bytes of header per record in a batch ([`Channel::try_recv_batch`](crate::Channel::try_recv_batch)):
/// the tag (`u32` LE) and the payload length (`u32` LE).
pub const SLOT_HEADER: usize = 8;
/// Words of per-slot header in the storage: the slot's sequence number, the tag, the length.
pub const SLOT_HEADER_WORDS: usize = 3;
/// Largest `capacity` accepted (16 Mi frames): the ring's position counters are 32-bit words
/// with the slot index in their low bits (see [`Channel`](crate::Channel)).
pub const MAX_CAPACITY: usize = 1 << 24;
/// Largest `max_frame` accepted (64 KiB: larger frames belong in a different transport).
pub const MAX_FRAME_LIMIT: usize = 65_536;
/// Default `capacity`, used by both Python bindings when the caller gives none.
pub const DEFAULT_CAPACITY: usize = 256;
/// Default `max_frame`, used by both Python bindings when the caller gives none.
pub const DEFAULT_MAX_FRAME: usize = 64;

/// What a push does when the channel is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Overflow {
    /// The push fails with [`PushError::Full`](crate::PushError::Full) and is counted as dropped.
    #[default]
    Reject = 0,
    /// The oldest queued frame is discarded (counted as overwritten) and the push succeeds.
    DropOldest = 1,
}

impl Overflow {
    /// The policy's name as the Python API spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::DropOldest => "drop_oldest",
        }
    }

    /// Parses a policy name as the Python API spells it.
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        match name {
            "reject" => Ok(Self::Reject),
            "drop_oldest" => Ok(Self::DropOldest),
            _ => Err(ConfigError::UnknownOverflow),
        }
    }
}

/// A channel's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many frames the channel holds.
    pub capacity: usize,
    /// The longest payload, in bytes.
    pub max_frame: usize,
    /// What a push does when the channel is full.
    pub overflow: Overflow,
}

impl Default for Config {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_MAX_FRAME, Overflow::Reject)
    }
}

impl Config {
    /// A configuration; nothing is checked until [`validate`](Self::validate).
    pub const fn new(capacity: usize, max_frame: usize, overflow: Overflow) -> Self {
        Self {
            capacity,
            max_frame,
            overflow,
        }
    }

    /// Storage words one slot takes: sequence, tag, length, then the payload rounded up to
    /// whole words.
    pub const fn slot_words(&self) -> usize {
        SLOT_HEADER_WORDS + self.max_frame.div_ceil(4)
    }

    /// Checks the configuration and returns the number of storage [`Word`](crate::Word)s it
    /// needs.
    pub const fn validate(&self) -> Result<usize, ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        if self.max_frame == 0 {
            return Err(ConfigError::ZeroMaxFrame);
        }
        if self.max_frame > MAX_FRAME_LIMIT {
            return Err(ConfigError::FrameTooLarge);
        }
        if self.capacity > MAX_CAPACITY {
            return Err(ConfigError::TooLarge);
        }
        match self.capacity.checked_mul(self.slot_words()) {
            // Leave headroom so `isize` byte offsets into the storage never overflow.
            Some(n) if n <= isize::MAX as usize / 4 => Ok(n),
            _ => Err(ConfigError::TooLarge),
        }
    }

    /// The number of storage words this configuration needs, for sizing a `static` channel:
    /// `Channel<[Word; Config::new(16, 8, Overflow::Reject).storage_words()]>`. Panics (at
    /// compile time, in a const context) if the configuration is invalid.
    pub const fn storage_words(&self) -> usize {
        match self.validate() {
            Ok(n) => n,
            Err(_) => panic!("invalid awaitq channel configuration"),
        }
    }
}
