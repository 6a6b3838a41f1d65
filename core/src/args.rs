//! Argument rules that every binding applies the same way: which values a size, a count, a tag
//! or a rate may take, and the message when they may not. A binding converts its language's
//! objects (an `int`, a `float`) and asks here; it decides nothing itself, so CPython and
//! MicroPython refuse the same values with the same words.
//!
//! The exception *type* is the binding's (a wrong type is its `TypeError`); every
//! [`ArgError`] is a value out of range (`ValueError` on both Pythons).

use crate::message::{display_via_pieces, Message, Piece};

/// The slowest producer pacing accepted: one frame per 1000 s.
pub const MIN_RATE_HZ: f64 = 0.001;
/// The fastest producer pacing accepted: one frame per nanosecond.
pub const MAX_RATE_HZ: f64 = 1e9;

/// A value out of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// A count or size below zero (`what` names the argument).
    Negative(&'static str),
    /// A frame tag outside `0..2**32-1`.
    TagOutOfRange,
    /// A pacing rate outside [`MIN_RATE_HZ`]..=[`MAX_RATE_HZ`] (or not a number).
    RateOutOfRange,
}

impl Message for ArgError {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        match *self {
            Self::Negative(what) => {
                out(Piece::Text(what));
                out(Piece::Text(" must not be negative"));
            }
            Self::TagOutOfRange => out(Piece::Text("tag must be in range 0..2**32-1")),
            Self::RateOutOfRange => out(Piece::Text(
                "rate_hz must be a number from 0.001 to 1000000000 (frames per second)",
            )),
        }
    }
}

display_via_pieces!(ArgError);

impl core::error::Error for ArgError {}

/// A count or size given as a signed integer: `value` itself when not negative. Values above
/// `usize::MAX` are the binding's to clamp (they fail the caller's own range check).
pub fn count(value: i64, what: &'static str) -> Result<u64, ArgError> {
    u64::try_from(value).map_err(|_| ArgError::Negative(what))
}

/// A frame tag given as a signed integer.
pub fn tag(value: i64) -> Result<u32, ArgError> {
    u32::try_from(value).map_err(|_| ArgError::TagOutOfRange)
}

/// The pause between two frames of a producer paced at `rate_hz`, in nanoseconds (at least 1).
/// NaN, infinities, zero, negative rates and rates outside [`MIN_RATE_HZ`]..=[`MAX_RATE_HZ`]
/// are refused: a rate of `1e-300` would otherwise mean a pause no clock can represent.
pub fn period_ns(rate_hz: f64) -> Result<u64, ArgError> {
    if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate_hz) {
        return Err(ArgError::RateOutOfRange);
    }
    // In range: 1e9 / rate is in 1..=1e12, exact enough as an integer of nanoseconds.
    let ns = 1e9 / rate_hz;
    Ok(if ns < 1.0 { 1 } else { ns as u64 })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn rates() {
        assert_eq!(period_ns(1.0), Ok(1_000_000_000));
        assert_eq!(period_ns(1e9), Ok(1));
        assert_eq!(period_ns(0.001), Ok(1_000_000_000_000));
        for bad in [
            0.0,
            -1.0,
            1e-300,
            1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(period_ns(bad), Err(ArgError::RateOutOfRange), "{bad}");
        }
    }

    #[test]
    fn counts_and_tags() {
        assert_eq!(count(0, "count"), Ok(0));
        assert_eq!(count(-1, "count"), Err(ArgError::Negative("count")));
        assert_eq!(
            ArgError::Negative("count").to_string(),
            "count must not be negative"
        );
        assert_eq!(tag(0xFFFF_FFFF), Ok(u32::MAX));
        assert_eq!(tag(-1), Err(ArgError::TagOutOfRange));
        assert_eq!(tag(1 << 32), Err(ArgError::TagOutOfRange));
    }
}
