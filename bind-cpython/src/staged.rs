//! [`Staged`]: frames taken from the core but not yet delivered to Python.
//!
//! A receive takes a frame out of the core channel, then builds the Python value (`bytes`, a
//! tuple, a list, an `int`). Building allocates and can fail (`MemoryError`): the frame must
//! not be lost then. So every receive lands its frames here first, as records (tag u32 LE,
//! length u32 LE, payload, the layout of [`awaitq_core::batch_frames`]), builds the value
//! from here, and drops the records only once the value exists. When building fails the
//! records stay, and the next receive (any kind, any awaitable, `try_recv`) delivers them
//! first, in order, before taking anything new from the core.
//!
//! The buffer is allocated with the channel, so staging itself never allocates. Only the
//! consumer side touches it, always attached to Python ([`GilCell`]).

use awaitq_core::{batch_frames, SLOT_HEADER};

use crate::errors::{Failure, Result};

/// How many bytes of frames `recv_many` takes per critical section (at least one frame).
pub(crate) const BATCH_BYTES: usize = 8 * 1024;

/// Records `buf[pos..end]`, oldest first.
pub(crate) struct Staged {
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl Staged {
    /// Room for the frame a receive waited for plus one batch of `max_frame`-sized frames
    /// (at least one frame); `NoMemory` if the buffer cannot be allocated.
    pub(crate) fn new(max_frame: usize) -> Result<Self> {
        let record = SLOT_HEADER + max_frame;
        let len = ((BATCH_BYTES / record).max(1) + 1) * record;
        let mut v = Vec::new();
        v.try_reserve_exact(len).map_err(|_| Failure::NoMemory)?;
        v.resize(len, 0);
        Ok(Self {
            buf: v.into_boxed_slice(),
            pos: 0,
            end: 0,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// How many frames are staged.
    pub(crate) fn frames(&self) -> usize {
        batch_frames(&self.buf[self.pos..self.end]).count()
    }

    /// The staged frames, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        batch_frames(&self.buf[self.pos..self.end])
    }

    /// Drops the `n` oldest staged frames (they were delivered).
    pub(crate) fn consume(&mut self, n: usize) {
        for _ in 0..n {
            if self.is_empty() {
                break;
            }
            let len = u32::from_le_bytes(
                self.buf[self.pos + 4..self.pos + 8]
                    .try_into()
                    .expect("4 bytes"),
            ) as usize;
            self.pos += SLOT_HEADER + len;
        }
        if self.is_empty() {
            self.pos = 0;
            self.end = 0;
        }
    }

    /// Where one frame taken from the core lands: the payload area of the first record (only
    /// while nothing is staged). Call [`landed`](Self::landed) after a frame arrived.
    pub(crate) fn landing(&mut self) -> &mut [u8] {
        debug_assert!(self.is_empty());
        &mut self.buf[SLOT_HEADER..]
    }

    /// The first `len` bytes of [`landing`](Self::landing): a frame that just arrived there,
    /// read before (or instead of) staging it with [`landed`](Self::landed).
    #[inline]
    pub(crate) fn landed_payload(&self, len: usize) -> &[u8] {
        debug_assert!(self.is_empty());
        &self.buf[SLOT_HEADER..SLOT_HEADER + len]
    }

    /// The frame written into [`landing`](Self::landing) is staged.
    pub(crate) fn landed(&mut self, tag: u32, len: usize) {
        self.buf[..4].copy_from_slice(&tag.to_le_bytes());
        self.buf[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        self.pos = 0;
        self.end = SLOT_HEADER + len;
    }

    /// Stages a copy of a frame delivered elsewhere (`recv_into`'s buffer) that could not be
    /// completed. Only while nothing is staged; `payload` is at most `max_frame` long.
    pub(crate) fn put_back(&mut self, tag: u32, payload: &[u8]) {
        debug_assert!(self.is_empty());
        self.landing()[..payload.len()].copy_from_slice(payload);
        self.landed(tag, payload.len());
    }

    /// Free space after the staged records, for a batch from the core (`recv_many`).
    pub(crate) fn tail(&mut self) -> &mut [u8] {
        &mut self.buf[self.end..]
    }

    /// `used` bytes of records were written into [`tail`](Self::tail).
    pub(crate) fn extended(&mut self, used: usize) {
        self.end += used;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn land_consume_put_back() {
        let mut s = Staged::new(4).unwrap();
        assert!(s.is_empty());
        s.landing()[..3].copy_from_slice(b"abc");
        s.landed(7, 3);
        assert_eq!(s.frames(), 1);
        assert_eq!(s.iter().next(), Some((7, &b"abc"[..])));
        s.consume(1);
        assert!(s.is_empty());
        s.put_back(9, b"xy");
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![(9, &b"xy"[..])]);
        s.consume(5);
        assert!(s.is_empty() && s.tail().len() >= SLOT_HEADER + 4);
    }
}
