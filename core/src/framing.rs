//! Framing: how a byte stream (a serial line, a pipe, a stream socket) or a sequence of reads
//! (datagrams) becomes frames, for native readers (`awaitq.io.Reader` on CPython) on every
//! target. A [`Deframer`] is fed whatever each read returned, in any chunking, and emits each
//! complete frame once; input it cannot frame is counted and skipped, never an error.
//!
//! | framing | a frame is | oversize / malformed |
//! |---|---|---|
//! | [`Framing::Line`] | the bytes before a 1–4 byte delimiter (stripped); a last line without one is emitted at [`finish`](Deframer::finish) | longer than `max_frame`: skipped up to the next delimiter |
//! | [`Framing::Datagram`] | one whole read | longer than `max_frame` |
//! | [`Framing::Slip`] | RFC 1055: bytes up to `END` (0xC0), `ESC` (0xDB) sequences decoded; empty frames ignored | a bad escape: malformed, skipped up to `END` |
//! | [`Framing::Cobs`] | consistent overhead byte stuffing, frames delimited by 0x00 | a code byte past the frame's end: malformed |
//! | [`Framing::Fixed`] | every `n` bytes | — |
//! | [`Framing::LengthPrefixed`] | a 1/2/4-byte length (big or little endian), then that many bytes | a length over `max_frame`: its bytes skipped |
//!
//! The deframer works in a caller-provided buffer of [`Framing::buffer_len`] bytes (no
//! allocation), so an MCU port can keep it in a `static`.
//!
//! ```
//! use awaitq_core::framing::{Deframer, Framing};
//!
//! let framing = Framing::line(b"\r\n").unwrap();
//! let mut buf = [0u8; 64];
//! let mut d = Deframer::new(framing, 32, &mut buf[..framing.buffer_len(32)]).unwrap();
//! let mut frames = Vec::new();
//! d.feed(b"hel", &mut |f| frames.push(f.to_vec()));
//! d.feed(b"lo\r\nwor", &mut |f| frames.push(f.to_vec()));
//! d.feed(b"ld\r\n", &mut |f| frames.push(f.to_vec()));
//! assert_eq!(frames, [b"hello".to_vec(), b"world".to_vec()]);
//! ```

use crate::config::MAX_FRAME_LIMIT;

/// SLIP's frame end.
pub const SLIP_END: u8 = 0xC0;
/// SLIP's escape.
pub const SLIP_ESC: u8 = 0xDB;
/// SLIP: an escaped `END`.
pub const SLIP_ESC_END: u8 = 0xDC;
/// SLIP: an escaped `ESC`.
pub const SLIP_ESC_ESC: u8 = 0xDD;

/// How bytes become frames (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Delimited lines; the delimiter (1–4 bytes, `delimiter[..len]`) is stripped.
    Line {
        /// The delimiter's bytes (the first `len`).
        delimiter: [u8; 4],
        /// The delimiter's length, 1..=4.
        len: u8,
    },
    /// One read is one frame.
    Datagram,
    /// RFC 1055 SLIP.
    Slip,
    /// COBS, frames delimited by a zero byte.
    Cobs,
    /// Frames of exactly this many bytes.
    Fixed(usize),
    /// A length header, then the payload.
    LengthPrefixed {
        /// The header's size: 1, 2 or 4 bytes.
        size: u8,
        /// Big-endian header (else little-endian).
        big_endian: bool,
    },
}

/// A framing that cannot work with the channel it feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// A line delimiter must be 1 to 4 bytes.
    Delimiter,
    /// `Fixed(n)`: `n` must be 1..=max_frame.
    FixedSize,
    /// A length prefix is 1, 2 or 4 bytes.
    PrefixSize,
    /// `max_frame` is 0 or above the channel limit.
    MaxFrame,
    /// The buffer is shorter than [`Framing::buffer_len`].
    Buffer,
}

impl FramingError {
    /// The error's message (no `core::fmt` needed).
    pub const fn message(self) -> &'static str {
        match self {
            Self::Delimiter => "the line delimiter must be 1 to 4 bytes",
            Self::FixedSize => "Fixed(n): n must be between 1 and the channel's max_frame",
            Self::PrefixSize => "LengthPrefixed: size must be 1, 2 or 4",
            Self::MaxFrame => "max_frame must be between 1 and 65536",
            Self::Buffer => "the deframer's buffer is shorter than Framing::buffer_len",
        }
    }
}

impl core::fmt::Display for FramingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl Framing {
    /// `Line` with this delimiter.
    pub fn line(delimiter: &[u8]) -> Result<Self, FramingError> {
        if delimiter.is_empty() || delimiter.len() > 4 {
            return Err(FramingError::Delimiter);
        }
        let mut d = [0u8; 4];
        d[..delimiter.len()].copy_from_slice(delimiter);
        Ok(Self::Line {
            delimiter: d,
            len: delimiter.len() as u8,
        })
    }

    /// The buffer a [`Deframer`] for frames of up to `max_frame` bytes needs.
    pub const fn buffer_len(&self, max_frame: usize) -> usize {
        match *self {
            Self::Line { len, .. } => max_frame + len as usize,
            Self::Datagram => 0,
            Self::Slip => max_frame,
            // COBS adds one byte per 254 and one at the start.
            Self::Cobs => max_frame + max_frame / 254 + 2,
            Self::Fixed(n) => n,
            Self::LengthPrefixed { .. } => max_frame,
        }
    }

    fn check(&self, max_frame: usize) -> Result<(), FramingError> {
        if max_frame == 0 || max_frame > MAX_FRAME_LIMIT {
            return Err(FramingError::MaxFrame);
        }
        match *self {
            Self::Line { len, .. } if !(1..=4).contains(&len) => Err(FramingError::Delimiter),
            Self::Fixed(n) if n == 0 || n > max_frame => Err(FramingError::FixedSize),
            Self::LengthPrefixed { size, .. } if !matches!(size, 1 | 2 | 4) => {
                Err(FramingError::PrefixSize)
            }
            _ => Ok(()),
        }
    }
}

/// What a deframer counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeframeStats {
    /// Frames emitted.
    pub frames: u64,
    /// Frames skipped because they were longer than `max_frame`.
    pub oversize: u64,
    /// Frames skipped because they broke the framing (a bad escape or code, a truncated end).
    pub malformed: u64,
    /// Bytes fed.
    pub bytes: u64,
}

/// Where the deframer is inside the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Collecting a frame.
    Collect,
    /// Discarding up to the next delimiter (oversize or malformed already counted).
    Skip,
    /// SLIP: the previous byte was `ESC`.
    Escape,
    /// Length-prefixed: collecting the header (`have` bytes of it so far).
    Header { have: u8, value: u32 },
    /// Length-prefixed: the payload is `need` bytes long.
    Body { need: usize },
    /// Length-prefixed: discarding `left` more bytes of an oversize payload.
    Drop { left: usize },
}

/// A framing's state over a caller-provided buffer (see the module docs).
pub struct Deframer<B> {
    framing: Framing,
    max_frame: usize,
    buf: B,
    len: usize,
    mode: Mode,
    /// The last (up to 4) bytes seen since the current line began, newest last.
    tail: u32,
    tail_len: u8,
    stats: DeframeStats,
}

impl<B: AsMut<[u8]>> Deframer<B> {
    /// A deframer emitting frames of up to `max_frame` bytes; `buf` holds at least
    /// [`Framing::buffer_len`]`(max_frame)` bytes.
    pub fn new(framing: Framing, max_frame: usize, mut buf: B) -> Result<Self, FramingError> {
        framing.check(max_frame)?;
        if buf.as_mut().len() < framing.buffer_len(max_frame) {
            return Err(FramingError::Buffer);
        }
        Ok(Self {
            framing,
            max_frame,
            buf,
            len: 0,
            mode: Self::start_mode(framing),
            tail: 0,
            tail_len: 0,
            stats: DeframeStats::default(),
        })
    }

    fn start_mode(framing: Framing) -> Mode {
        match framing {
            Framing::LengthPrefixed { .. } => Mode::Header { have: 0, value: 0 },
            _ => Mode::Collect,
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> DeframeStats {
        self.stats
    }

    /// The framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Feeds the bytes of one read; `emit` gets each complete frame (valid during the call).
    pub fn feed(&mut self, input: &[u8], emit: &mut dyn FnMut(&[u8])) {
        self.stats.bytes += input.len() as u64;
        match self.framing {
            Framing::Datagram => {
                if input.len() > self.max_frame {
                    self.stats.oversize += 1;
                } else {
                    self.stats.frames += 1;
                    emit(input);
                }
            }
            Framing::Line { delimiter, len } => {
                self.line_feed(input, &delimiter[..len as usize], emit);
            }
            Framing::Slip => {
                for &b in input {
                    self.slip_byte(b, emit);
                }
            }
            Framing::Cobs => {
                for &b in input {
                    self.cobs_byte(b, emit);
                }
            }
            Framing::Fixed(n) => {
                let mut rest = input;
                while !rest.is_empty() {
                    let take = (n - self.len).min(rest.len());
                    self.buf.as_mut()[self.len..self.len + take].copy_from_slice(&rest[..take]);
                    self.len += take;
                    rest = &rest[take..];
                    if self.len == n {
                        self.emit_buf(emit);
                    }
                }
            }
            Framing::LengthPrefixed { size, big_endian } => {
                let mut rest = input;
                while !rest.is_empty() {
                    rest = self.prefixed(rest, size, big_endian, emit);
                }
            }
        }
    }

    /// The input ended (EOF): a last line without its delimiter is emitted; any other partial
    /// frame is counted as malformed. The deframer starts afresh.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8])) {
        match (self.framing, self.mode) {
            (Framing::Line { .. }, Mode::Collect) if self.len > 0 => {
                if self.len > self.max_frame {
                    self.stats.oversize += 1;
                } else {
                    self.emit_buf(emit);
                }
            }
            (Framing::Fixed(_), _) | (Framing::Slip, _) | (Framing::Cobs, Mode::Collect)
                if self.len > 0 =>
            {
                self.stats.malformed += 1
            }
            (Framing::Slip, Mode::Escape) => self.stats.malformed += 1,
            (Framing::LengthPrefixed { .. }, Mode::Header { have, .. }) if have > 0 => {
                self.stats.malformed += 1
            }
            (Framing::LengthPrefixed { .. }, Mode::Body { .. }) => self.stats.malformed += 1,
            _ => {}
        }
        self.len = 0;
        self.tail_len = 0;
        self.mode = Self::start_mode(self.framing);
    }

    fn emit_buf(&mut self, emit: &mut dyn FnMut(&[u8])) {
        self.stats.frames += 1;
        let n = self.len;
        self.len = 0;
        emit(&self.buf.as_mut()[..n]);
    }

    /// Lines: in `Collect` the buffer holds every byte since the line began (the delimiter's
    /// bytes too, until it is complete), so a match is `buf.ends_with(delim)`; whole runs up
    /// to the next candidate byte are copied at once. `Skip` tracks only the last bytes seen.
    fn line_feed(&mut self, mut input: &[u8], delim: &[u8], emit: &mut dyn FnMut(&[u8])) {
        let d = delim.len();
        let cap = self.max_frame + d;
        let last = delim[d - 1];
        while !input.is_empty() {
            if self.mode == Mode::Skip {
                let b = input[0];
                input = &input[1..];
                if self.skip_byte(b, delim) {
                    self.mode = Mode::Collect;
                }
                continue;
            }
            let (seg, found) = match input.iter().position(|&b| b == last) {
                Some(p) => (&input[..=p], true),
                None => (input, false),
            };
            input = &input[seg.len()..];
            if self.len + seg.len() <= cap {
                self.buf.as_mut()[self.len..self.len + seg.len()].copy_from_slice(seg);
                self.len += seg.len();
                if found && self.buf.as_mut()[..self.len].ends_with(delim) {
                    self.len -= d;
                    self.emit_buf(emit);
                } else if self.len == cap {
                    self.line_oversize(delim);
                }
            } else {
                // The line overflows inside this run: byte by byte from here.
                for &b in seg {
                    if self.mode == Mode::Skip {
                        if self.skip_byte(b, delim) {
                            self.mode = Mode::Collect;
                        }
                        continue;
                    }
                    self.buf.as_mut()[self.len] = b;
                    self.len += 1;
                    if self.buf.as_mut()[..self.len].ends_with(delim) {
                        self.len -= d;
                        self.emit_buf(emit);
                    } else if self.len == cap {
                        self.line_oversize(delim);
                    }
                }
            }
        }
    }

    /// A line longer than `max_frame`: counted, then skipped up to the next delimiter (the
    /// last bytes kept so a delimiter split across the boundary is still seen).
    fn line_oversize(&mut self, delim: &[u8]) {
        self.stats.oversize += 1;
        let keep = (delim.len() - 1).min(self.len);
        self.tail = 0;
        for &b in &self.buf.as_mut()[self.len - keep..self.len] {
            self.tail = (self.tail << 8) | u32::from(b);
        }
        self.tail_len = keep as u8;
        self.len = 0;
        self.mode = Mode::Skip;
    }

    /// One byte while skipping a line: `true` when it completes the delimiter.
    fn skip_byte(&mut self, b: u8, delim: &[u8]) -> bool {
        self.tail = (self.tail << 8) | u32::from(b);
        self.tail_len = (self.tail_len + 1).min(4);
        let d = delim.len();
        if usize::from(self.tail_len) < d {
            return false;
        }
        let mut want = 0u32;
        for &x in delim {
            want = (want << 8) | u32::from(x);
        }
        let mask = if d == 4 {
            u32::MAX
        } else {
            (1u32 << (8 * d)) - 1
        };
        if self.tail & mask == want {
            self.tail_len = 0;
            true
        } else {
            false
        }
    }

    fn push_byte(&mut self, b: u8) -> bool {
        if self.len == self.max_frame {
            self.stats.oversize += 1;
            self.len = 0;
            self.mode = Mode::Skip;
            return false;
        }
        self.buf.as_mut()[self.len] = b;
        self.len += 1;
        true
    }

    fn slip_byte(&mut self, b: u8, emit: &mut dyn FnMut(&[u8])) {
        match (self.mode, b) {
            (Mode::Skip, SLIP_END) => {
                self.mode = Mode::Collect;
                self.len = 0;
            }
            (Mode::Skip, _) => {}
            (Mode::Escape, SLIP_ESC_END) => {
                self.mode = Mode::Collect;
                self.push_byte(SLIP_END);
            }
            (Mode::Escape, SLIP_ESC_ESC) => {
                self.mode = Mode::Collect;
                self.push_byte(SLIP_ESC);
            }
            (Mode::Escape, SLIP_END) => {
                // An escape cut short by the end of the frame.
                self.stats.malformed += 1;
                self.len = 0;
                self.mode = Mode::Collect;
            }
            (Mode::Escape, _) => {
                self.stats.malformed += 1;
                self.len = 0;
                self.mode = Mode::Skip;
            }
            (_, SLIP_END) => {
                if self.len > 0 {
                    self.emit_buf(emit);
                }
            }
            (_, SLIP_ESC) => self.mode = Mode::Escape,
            (_, b) => {
                self.push_byte(b);
            }
        }
    }

    fn cobs_byte(&mut self, b: u8, emit: &mut dyn FnMut(&[u8])) {
        let cap = self.framing.buffer_len(self.max_frame);
        match (self.mode, b) {
            (Mode::Skip, 0) => {
                self.mode = Mode::Collect;
                self.len = 0;
            }
            (Mode::Skip, _) => {}
            (_, 0) => {
                if self.len > 0 {
                    let n = self.len;
                    self.len = 0;
                    match cobs_decode_in_place(&mut self.buf.as_mut()[..n]) {
                        Some(m) if m > self.max_frame => self.stats.oversize += 1,
                        Some(m) => {
                            self.stats.frames += 1;
                            emit(&self.buf.as_mut()[..m]);
                        }
                        None => self.stats.malformed += 1,
                    }
                }
            }
            (_, b) => {
                if self.len == cap {
                    self.stats.oversize += 1;
                    self.len = 0;
                    self.mode = Mode::Skip;
                } else {
                    self.buf.as_mut()[self.len] = b;
                    self.len += 1;
                }
            }
        }
    }

    fn prefixed<'a>(
        &mut self,
        input: &'a [u8],
        size: u8,
        big_endian: bool,
        emit: &mut dyn FnMut(&[u8]),
    ) -> &'a [u8] {
        match self.mode {
            Mode::Header { have, value } => {
                let b = u32::from(input[0]);
                let value = if big_endian {
                    (value << 8) | b
                } else {
                    value | (b << (8 * u32::from(have)))
                };
                let have = have + 1;
                if have < size {
                    self.mode = Mode::Header { have, value };
                } else {
                    let need = value as usize;
                    if need > self.max_frame {
                        self.stats.oversize += 1;
                        self.mode = Mode::Drop { left: need };
                    } else if need == 0 {
                        self.stats.frames += 1;
                        emit(&[]);
                        self.mode = Self::start_mode(self.framing);
                    } else {
                        self.mode = Mode::Body { need };
                    }
                }
                &input[1..]
            }
            Mode::Body { need } => {
                let take = (need - self.len).min(input.len());
                self.buf.as_mut()[self.len..self.len + take].copy_from_slice(&input[..take]);
                self.len += take;
                if self.len == need {
                    self.emit_buf(emit);
                    self.mode = Self::start_mode(self.framing);
                }
                &input[take..]
            }
            Mode::Drop { left } => {
                let take = left.min(input.len());
                self.mode = if take == left {
                    Self::start_mode(self.framing)
                } else {
                    Mode::Drop { left: left - take }
                };
                &input[take..]
            }
            _ => {
                self.mode = Self::start_mode(self.framing);
                input
            }
        }
    }
}

/// Decodes one COBS frame (without its zero delimiter) in place; its decoded length, or
/// `None` if a code byte points past the end.
pub fn cobs_decode_in_place(buf: &mut [u8]) -> Option<usize> {
    let n = buf.len();
    let (mut r, mut w) = (0, 0);
    while r < n {
        let code = usize::from(buf[r]);
        if code == 0 {
            return None;
        }
        r += 1;
        let end = r + code - 1;
        if end > n {
            return None;
        }
        buf.copy_within(r..end, w);
        w += code - 1;
        r = end;
        if code < 0xFF && r < n {
            buf[w] = 0;
            w += 1;
        }
    }
    Some(w)
}

/// COBS-encodes `data` into `out` (at least `data.len() + data.len() / 254 + 1` bytes),
/// without the trailing zero; the encoded length, or `None` if `out` is too short.
pub fn cobs_encode(data: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut code_at = 0;
    let mut w = 1;
    let mut code = 1u8;
    if out.is_empty() {
        return None;
    }
    for &b in data {
        if b == 0 {
            out[code_at] = code;
            code_at = w;
            *out.get_mut(w)? = 0;
            w += 1;
            code = 1;
        } else {
            *out.get_mut(w)? = b;
            w += 1;
            code += 1;
            if code == 0xFF {
                out[code_at] = code;
                code_at = w;
                *out.get_mut(w)? = 0;
                w += 1;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    Some(w)
}

#[cfg(test)]
mod tests;
