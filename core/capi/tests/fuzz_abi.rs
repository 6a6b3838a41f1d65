//! Fuzzing the producer C ABI (`ports/include/awaitq.h`) with proptest: random sequences of
//! calls with arbitrary tags, lengths and pointer validity (a null channel, a null payload
//! with and without a length, lengths around and far beyond `max_frame`, a null `stats` out
//! pointer), interleaved with the consumer's receives, against a model written from the
//! header's documented rules. Every status, every delivered byte, the length, the closed flag
//! and the counters must match; nothing may crash.
//!
//! Only valid-or-null pointers are generated: a dangling pointer is undefined behaviour by the
//! header's contract, not a case the ABI can detect. The number of cases is proptest's
//! (`PROPTEST_CASES`; `ci/test-core.sh` runs a longer, time-bounded round in its `fuzz` step).
//! New entry points (a reserve/commit pair) are one more `Call` variant and one more arm in
//! `apply`, with the model's rule next to it.
#![cfg(feature = "alloc")]

use std::collections::VecDeque;

use awaitq_capi::{
    as_c_ptr, awaitq_close, awaitq_is_closed, awaitq_len, awaitq_push, awaitq_stats,
    awaitq_status_t as S, RawChannel, Storage,
};
use awaitq_core::{Config, Overflow, RecvError, Stats, Word};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Payload {
    /// `data == NULL` with this length.
    Null(usize),
    /// A valid buffer of this length (filled with a pattern).
    Valid(usize),
}

#[derive(Clone, Debug)]
enum Call {
    /// `awaitq_push(ch or NULL, tag, data, len)`.
    Push {
        null_ch: bool,
        tag: u32,
        payload: Payload,
    },
    Close {
        null_ch: bool,
    },
    Len {
        null_ch: bool,
    },
    IsClosed {
        null_ch: bool,
    },
    Stats {
        null_ch: bool,
        null_out: bool,
    },
    /// The consumer takes one frame (`try_recv_into` with a buffer of `max_frame`).
    Recv,
}

fn payload(max_frame: usize) -> impl Strategy<Value = Payload> {
    let len = prop_oneof![
        Just(0usize),
        1..=max_frame,
        Just(max_frame + 1),
        (max_frame + 2)..(max_frame * 3 + 3),
    ];
    prop_oneof![
        len.clone().prop_map(Payload::Valid),
        prop_oneof![Just(0usize), 1usize..1000, Just(usize::MAX)].prop_map(Payload::Null),
    ]
}

fn call(max_frame: usize) -> impl Strategy<Value = Call> {
    let null = prop::bool::weighted(0.1);
    prop_oneof![
        6 => (null, any::<u32>(), payload(max_frame))
            .prop_map(|(null_ch, tag, payload)| Call::Push { null_ch, tag, payload }),
        1 => null.prop_map(|null_ch| Call::Close { null_ch }),
        1 => null.prop_map(|null_ch| Call::Len { null_ch }),
        1 => null.prop_map(|null_ch| Call::IsClosed { null_ch }),
        1 => (null, prop::bool::weighted(0.3))
            .prop_map(|(null_ch, null_out)| Call::Stats { null_ch, null_out }),
        4 => Just(Call::Recv),
    ]
}

/// The header's rules, as a model.
#[derive(Default)]
struct Model {
    queue: VecDeque<(u32, Vec<u8>)>,
    closed: bool,
    stats: Stats,
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed) as u8)
        .collect()
}

fn run(capacity: usize, max_frame: usize, overflow: Overflow, calls: Vec<Call>) {
    let config = Config::new(capacity, max_frame, overflow);
    let storage: Box<[Word]> = (0..config.storage_words()).map(|_| Word::new(0)).collect();
    let ch = RawChannel::new(Storage::Owned(storage), config).unwrap();
    let live = as_c_ptr(&ch);
    let ptr = |null: bool| if null { std::ptr::null() } else { live };
    let mut m = Model::default();
    let mut buf = vec![0u8; max_frame];
    for (i, c) in calls.into_iter().enumerate() {
        match c {
            Call::Push {
                null_ch,
                tag,
                payload,
            } => {
                let (data, len, bytes) = match payload {
                    Payload::Null(len) => (None, len, Vec::new()),
                    Payload::Valid(len) => {
                        let b = pattern(len, tag ^ i as u32);
                        (Some(()), len, b)
                    }
                };
                let data_ptr = if data.is_some() {
                    bytes.as_ptr()
                } else {
                    std::ptr::null()
                };
                // SAFETY: the channel pointer is null or `ch`, alive for the whole test; the
                // payload is null or `bytes`, `len` readable bytes.
                let got = unsafe { awaitq_push(ptr(null_ch), tag, data_ptr, len) };
                let want = if null_ch || (data.is_none() && len > 0) {
                    S::AWAITQ_INVALID
                } else if m.closed {
                    S::AWAITQ_CLOSED
                } else if len > max_frame {
                    m.stats.rejected += 1;
                    S::AWAITQ_OVERSIZE
                } else if m.queue.len() == capacity && overflow == Overflow::Reject {
                    m.stats.dropped += 1;
                    S::AWAITQ_FULL
                } else {
                    if m.queue.len() == capacity {
                        m.queue.pop_front();
                        m.stats.overwritten += 1;
                    }
                    m.queue.push_back((tag, bytes));
                    m.stats.sent += 1;
                    m.stats.high_water = m.stats.high_water.max(m.queue.len() as u64);
                    S::AWAITQ_OK
                };
                assert_eq!(got, want, "call {i}: push");
            }
            Call::Close { null_ch } => {
                // SAFETY: null or the live channel.
                let got = unsafe { awaitq_close(ptr(null_ch)) };
                if null_ch {
                    assert_eq!(got, S::AWAITQ_INVALID);
                } else {
                    assert_eq!(got, S::AWAITQ_OK);
                    m.closed = true;
                }
            }
            Call::Len { null_ch } => {
                // SAFETY: null or the live channel.
                let got = unsafe { awaitq_len(ptr(null_ch)) };
                assert_eq!(
                    got,
                    if null_ch { 0 } else { m.queue.len() },
                    "call {i}: len"
                );
            }
            Call::IsClosed { null_ch } => {
                // SAFETY: null or the live channel.
                let got = unsafe { awaitq_is_closed(ptr(null_ch)) };
                assert_eq!(got, null_ch || m.closed, "call {i}: is_closed");
            }
            Call::Stats { null_ch, null_out } => {
                let mut out = Stats::default();
                let out_ptr = if null_out {
                    std::ptr::null_mut()
                } else {
                    &mut out as *mut Stats
                };
                // SAFETY: null or the live channel; null or a writable Stats.
                let got = unsafe { awaitq_stats(ptr(null_ch), out_ptr) };
                if null_ch || null_out {
                    assert_eq!(got, S::AWAITQ_INVALID);
                } else {
                    assert_eq!(got, S::AWAITQ_OK);
                    assert_eq!(out, m.stats, "call {i}: stats");
                }
            }
            Call::Recv => match (ch.try_recv_into(&mut buf), m.queue.pop_front()) {
                (Ok(f), Some((tag, bytes))) => {
                    assert_eq!((f.tag, &buf[..f.len]), (tag, &bytes[..]), "call {i}: frame");
                    m.stats.received += 1;
                }
                (Err(RecvError::Empty), None) if !m.closed => {}
                (Err(RecvError::Closed), None) if m.closed => {}
                (got, want) => panic!("call {i}: recv {got:?}, model {want:?}"),
            },
        }
    }
}

proptest! {
    #[test]
    fn c_abi_calls_follow_the_header(
        (capacity, max_frame, overflow, calls) in (1usize..6, 1usize..24, any::<bool>())
            .prop_flat_map(|(c, m, drop)| {
                let overflow = if drop { Overflow::DropOldest } else { Overflow::Reject };
                (Just(c), Just(m), Just(overflow), prop::collection::vec(call(m), 1..80))
            })
    ) {
        run(capacity, max_frame, overflow, calls);
    }
}
