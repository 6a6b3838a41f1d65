use proptest::prelude::*;

use super::*;

fn run(framing: Framing, max: usize, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, DeframeStats) {
    let mut buf = vec![0u8; framing.buffer_len(max)];
    let mut d = Deframer::new(framing, max, &mut buf[..]).unwrap();
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut |f| out.push(f.to_vec()));
    }
    d.finish(&mut |f| out.push(f.to_vec()));
    (out, d.stats())
}

fn v(items: &[&[u8]]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.to_vec()).collect()
}

#[test]
fn lines_strip_the_delimiter_across_chunks() {
    let f = Framing::line(b"\n").unwrap();
    let (out, st) = run(f, 8, &[b"ab\ncd", b"\n\nxyz"]);
    assert_eq!(out, v(&[b"ab", b"cd", b"", b"xyz"])); // the last line is emitted at EOF
    assert_eq!((st.frames, st.oversize, st.malformed), (4, 0, 0));
}

#[test]
fn a_two_byte_delimiter_split_between_reads() {
    let f = Framing::line(b"\r\n").unwrap();
    let (out, _) = run(f, 8, &[b"ab\r", b"\ncd\r", b"x\r\n"]);
    assert_eq!(out, v(&[b"ab", b"cd\rx"]));
}

#[test]
fn a_line_of_exactly_max_frame_fits_and_one_more_is_skipped() {
    let f = Framing::line(b"\r\n").unwrap();
    let (out, st) = run(f, 4, &[b"abcd\r\nabcde\r\nok\r\n"]);
    assert_eq!(out, v(&[b"abcd", b"ok"]));
    assert_eq!((st.frames, st.oversize), (2, 1));
}

#[test]
fn datagrams_are_whole_reads() {
    let (out, st) = run(Framing::Datagram, 3, &[b"abc", b"", b"abcd", b"x"]);
    assert_eq!(out, v(&[b"abc", b"", b"x"]));
    assert_eq!(st.oversize, 1);
}

#[test]
fn slip_decodes_escapes_and_skips_bad_ones() {
    let stream = [
        &[
            SLIP_END,
            b'a',
            SLIP_ESC,
            SLIP_ESC_END,
            b'b',
            SLIP_ESC,
            SLIP_ESC_ESC,
            SLIP_END,
        ][..],
        &[b'x', SLIP_ESC, b'?', b'y', SLIP_END, b'o', b'k', SLIP_END],
    ];
    let (out, st) = run(Framing::Slip, 8, &stream);
    assert_eq!(
        out,
        vec![vec![b'a', SLIP_END, b'b', SLIP_ESC], b"ok".to_vec()]
    );
    assert_eq!((st.frames, st.malformed), (2, 1));
}

#[test]
fn slip_oversize_is_skipped_to_the_end() {
    let (out, st) = run(Framing::Slip, 2, &[b"abc\xc0de\xc0"]);
    assert_eq!(out, v(&[b"de"]));
    assert_eq!(st.oversize, 1);
}

#[test]
fn cobs_round_trips_and_rejects_bad_codes() {
    let mut enc = [0u8; 16];
    let n = cobs_encode(b"a\0\0b", &mut enc).unwrap();
    let mut stream = enc[..n].to_vec();
    stream.push(0);
    stream.extend_from_slice(&[5, b'x', 0]); // code 5 points past the frame's end
    stream.extend_from_slice(&[3, b'o', b'k', 0]);
    let (out, st) = run(Framing::Cobs, 8, &[&stream]);
    assert_eq!(out, v(&[b"a\0\0b", b"ok"]));
    assert_eq!((st.frames, st.malformed), (2, 1));
}

#[test]
fn fixed_and_length_prefixed() {
    let (out, st) = run(Framing::Fixed(3), 8, &[b"abcd", b"efg", b"h"]);
    assert_eq!(out, v(&[b"abc", b"def"]));
    assert_eq!(st.malformed, 1); // "gh" cut by EOF
    let f = Framing::LengthPrefixed {
        size: 2,
        big_endian: true,
    };
    let (out, st) = run(f, 4, &[b"\x00\x02h", b"i\x00\x00\x00\x0512345\x00\x01z"]);
    assert_eq!(out, v(&[b"hi", b"", b"z"]));
    assert_eq!(st.oversize, 1);
    let le = Framing::LengthPrefixed {
        size: 4,
        big_endian: false,
    };
    let (out, _) = run(le, 4, &[b"\x03\x00\x00\x00abc"]);
    assert_eq!(out, v(&[b"abc"]));
}

#[test]
fn bad_configurations_are_refused() {
    let mut b = [0u8; 64];
    assert_eq!(Framing::line(b"").unwrap_err(), FramingError::Delimiter);
    assert_eq!(
        Framing::line(b"12345").unwrap_err(),
        FramingError::Delimiter
    );
    let mut e = |f: Framing, max| Deframer::new(f, max, &mut b[..]).err();
    assert_eq!(e(Framing::Fixed(0), 8), Some(FramingError::FixedSize));
    assert_eq!(e(Framing::Fixed(9), 8), Some(FramingError::FixedSize));
    let p3 = Framing::LengthPrefixed {
        size: 3,
        big_endian: true,
    };
    assert_eq!(e(p3, 8), Some(FramingError::PrefixSize));
    assert_eq!(e(Framing::Slip, 0), Some(FramingError::MaxFrame));
    assert_eq!(e(Framing::Slip, 65), Some(FramingError::Buffer));
}

fn chunked(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(stream.len());
        out.push(stream[at..end].to_vec());
        at = end;
    }
    out.push(stream[at..].to_vec());
    out
}

fn slip_encode(f: &[u8], out: &mut Vec<u8>) {
    for &b in f {
        match b {
            SLIP_END => out.extend_from_slice(&[SLIP_ESC, SLIP_ESC_END]),
            SLIP_ESC => out.extend_from_slice(&[SLIP_ESC, SLIP_ESC_ESC]),
            b => out.push(b),
        }
    }
    out.push(SLIP_END);
}

proptest! {
    /// Any frames, encoded with any framing and read in any chunking, come out as they went in.
    #[test]
    fn every_framing_round_trips(
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..12),
        cuts in prop::collection::vec(0usize..50, 0..10),
        which in 0usize..5,
    ) {
        let max = 40;
        let mut stream = Vec::new();
        let (framing, expected): (Framing, Vec<Vec<u8>>) = match which {
            0 => {
                let fr: Vec<Vec<u8>> = frames.iter()
                    .map(|f| f.iter().map(|&b| if b == b'\n' { b'.' } else { b }).collect())
                    .collect();
                for f in &fr { stream.extend_from_slice(f); stream.push(b'\n'); }
                (Framing::line(b"\n").unwrap(), fr)
            }
            1 => {
                for f in &frames { slip_encode(f, &mut stream); }
                (Framing::Slip, frames.clone())
            }
            2 => {
                for f in &frames {
                    let mut enc = [0u8; 64];
                    let n = cobs_encode(f, &mut enc).unwrap();
                    stream.extend_from_slice(&enc[..n]);
                    stream.push(0);
                }
                (Framing::Cobs, frames.clone())
            }
            3 => {
                for f in &frames {
                    stream.extend_from_slice(&(f.len() as u16).to_le_bytes());
                    stream.extend_from_slice(f);
                }
                (Framing::LengthPrefixed { size: 2, big_endian: false }, frames.clone())
            }
            _ => {
                let fr: Vec<Vec<u8>> = frames.iter().map(|f| { let mut g = f.clone(); g.resize(8, 7); g }).collect();
                for f in &fr { stream.extend_from_slice(f); }
                (Framing::Fixed(8), fr)
            }
        };
        let chunks = chunked(&stream, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        let (out, st) = run(framing, max, &refs);
        prop_assert_eq!(out, expected);
        prop_assert_eq!(st.oversize + st.malformed, 0);
    }

    /// Garbage never panics, and what comes out always fits max_frame.
    #[test]
    fn garbage_is_counted_never_a_crash(
        data in prop::collection::vec(any::<u8>(), 0..300),
        which in 0usize..6,
    ) {
        let framing = [
            Framing::line(b"\r\n").unwrap(), Framing::Slip, Framing::Cobs, Framing::Fixed(5),
            Framing::LengthPrefixed { size: 1, big_endian: true }, Framing::Datagram,
        ][which];
        let (out, _) = run(framing, 16, &[&data]);
        prop_assert!(out.iter().all(|f| f.len() <= 16));
    }
}

fn split_reference(stream: &[u8], delim: &[u8], max: usize) -> (Vec<Vec<u8>>, u64) {
    let (mut out, mut oversize, mut at) = (Vec::new(), 0, 0);
    let mut i = 0;
    while i + delim.len() <= stream.len() {
        if &stream[i..i + delim.len()] == delim {
            let line = &stream[at..i];
            if line.len() <= max {
                out.push(line.to_vec());
            } else {
                oversize += 1;
            }
            i += delim.len();
            at = i;
        } else {
            i += 1;
        }
    }
    let rest = &stream[at..];
    if !rest.is_empty() {
        if rest.len() <= max {
            out.push(rest.to_vec());
        } else {
            oversize += 1;
        }
    }
    (out, oversize)
}

proptest! {
    /// Lines (with oversize ones, and bytes of the delimiter inside lines) in any chunking
    /// match a plain split of the whole stream.
    #[test]
    fn lines_match_a_split_of_the_whole_stream(
        stream in prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'\r', b'\n']), 0..200),
        cuts in prop::collection::vec(0usize..30, 0..12),
        crlf in any::<bool>(),
        max in 1usize..12,
    ) {
        let delim: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let chunks = chunked(&stream, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        let (out, st) = run(Framing::line(delim).unwrap(), max, &refs);
        let (want, oversize) = split_reference(&stream, delim, max);
        prop_assert_eq!(out, want);
        prop_assert_eq!(st.oversize, oversize);
    }
}
