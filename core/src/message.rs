//! Error messages as pieces: text and numbers. Every error's message is written once, here in
//! core, as a [`Message`]; `Display` renders it through `core::fmt`, and a binding that must
//! not link `core::fmt` (firmware: formatting machinery costs kilobytes of flash) renders the
//! same pieces with a few lines of its own.

use core::fmt;

/// One piece of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(&'static str),
    /// A number, written in decimal.
    Num(usize),
}

/// An error whose message is a sequence of [`Piece`]s.
pub trait Message {
    /// Hands each piece of the message to `out`, in order.
    fn pieces(&self, out: &mut dyn FnMut(Piece));
}

/// `Display` for a [`Message`].
pub(crate) fn render(m: &dyn Message, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut r = Ok(());
    m.pieces(&mut |p| {
        if r.is_ok() {
            r = match p {
                Piece::Text(s) => f.write_str(s),
                Piece::Num(n) => fmt::Display::fmt(&n, f),
            };
        }
    });
    r
}

/// Implements `Display` (through [`render`]) and `core::error::Error` for message types.
macro_rules! display_via_pieces {
    ($($t:ty),*) => {$(
        impl core::fmt::Display for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                $crate::message::render(self, f)
            }
        }
    )*};
}
pub(crate) use display_via_pieces;

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};

    use super::{Message, Piece};
    use crate::{ConfigError, ContError, PushError, RecvError};

    /// What a binding without `core::fmt` does: its own decimal writer.
    fn by_hand(m: &dyn Message) -> String {
        let mut s = String::new();
        m.pieces(&mut |p| match p {
            Piece::Text(t) => s.push_str(t),
            Piece::Num(mut n) => {
                let mut digits = [0u8; 20];
                let mut i = digits.len();
                loop {
                    i -= 1;
                    digits[i] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                s.push_str(core::str::from_utf8(&digits[i..]).unwrap());
            }
        });
        s
    }

    #[test]
    fn display_and_pieces_give_the_same_text() {
        let cases: [(&dyn Message, String, &str); 4] = [
            (
                &PushError::Oversize {
                    len: 70,
                    max_frame: 64,
                },
                PushError::Oversize {
                    len: 70,
                    max_frame: 64,
                }
                .to_string(),
                "payload of 70 bytes exceeds max_frame (64)",
            ),
            (
                &RecvError::BufferTooSmall { needed: 12, got: 0 },
                RecvError::BufferTooSmall { needed: 12, got: 0 }.to_string(),
                "buffer of 0 bytes is too small for a 12-byte frame",
            ),
            (
                &ConfigError::FrameTooLarge,
                ConfigError::FrameTooLarge.to_string(),
                "max_frame must be at most 65536",
            ),
            (
                &ContError::TooFewValues {
                    saved: 1,
                    wanted: 3,
                },
                ContError::TooFewValues {
                    saved: 1,
                    wanted: 3,
                }
                .to_string(),
                "cannot unpack 3 values: only 1 saved",
            ),
        ];
        for (m, display, want) in cases {
            assert_eq!(display, want);
            assert_eq!(by_hand(m), want);
        }
    }
}
