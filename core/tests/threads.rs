//! The ring under real threads, flat out: what loom checks exhaustively on tiny models, here
//! at volume. Several producers (plain pushes, batch pushes and reservations) into a small
//! channel while one consumer receives: every frame arrives exactly once and each producer's
//! frames in order; under `drop_oldest` every frame is delivered, overwritten or dropped.

use std::sync::Arc;
use std::thread;

use awaitq_core::{Channel, Config, Overflow, PushError, RecvError, Word};

const PER_PRODUCER: u64 = if cfg!(miri) { 50 } else { 100_000 };

fn channel(capacity: usize, overflow: Overflow) -> Arc<Channel<Vec<Word>>> {
    let cfg = Config::new(capacity, 12, overflow);
    let words = (0..cfg.storage_words()).map(|_| Word::new(0)).collect();
    Arc::new(Channel::new(words, cfg).unwrap())
}

/// Producer `p` sends `0..PER_PRODUCER` as 8-byte payloads, by `mode`: 0 push, 1 push_many
/// (batches of 3), 2 reserve + write + commit. Retries on Full under `reject`; returns how
/// many were queued.
fn produce(ch: &Channel<Vec<Word>>, p: u32, mode: u32, retry: bool) -> u64 {
    let mut queued = 0;
    let mut i = 0;
    while i < PER_PRODUCER {
        let result = match mode {
            0 => ch.push(p, &i.to_le_bytes()).map(|()| 1),
            1 => {
                let n = (PER_PRODUCER - i).min(3);
                let payloads: Vec<[u8; 8]> = (i..i + n).map(|k| k.to_le_bytes()).collect();
                let frames: Vec<(u32, &[u8])> = payloads.iter().map(|b| (p, &b[..])).collect();
                match ch.push_many(&frames) {
                    (0, Err(e)) => Err(e),
                    (n, Err(PushError::Full)) if !retry => {
                        // Frame `i + n` was dropped (and counted): skip it too.
                        queued += n as u64;
                        i += n as u64;
                        Err(PushError::Full)
                    }
                    (n, _) => Ok(n as u64),
                }
            }
            _ => ch.reserve(8).map(|mut r| {
                assert!(r.write(0, &i.to_le_bytes()));
                r.commit(p, 8).unwrap();
                1
            }),
        };
        match result {
            Ok(n) => {
                queued += n;
                i += n;
            }
            Err(PushError::Full) if retry => thread::yield_now(),
            Err(PushError::Full) => i += 1,
            Err(e) => panic!("{e}"),
        }
    }
    queued
}

fn run(overflow: Overflow) {
    let ch = channel(8, overflow);
    let retry = overflow == Overflow::Reject;
    let producers: Vec<_> = (0..3u32)
        .map(|p| {
            let ch = ch.clone();
            thread::spawn(move || produce(&ch, p, p, retry))
        })
        .collect();
    let closer = {
        let ch = ch.clone();
        thread::spawn(move || {
            let queued: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
            ch.close();
            queued
        })
    };
    let mut next = [0u64; 3];
    let mut received = 0u64;
    let mut buf = [0u8; 12];
    loop {
        match ch.try_recv_into(&mut buf) {
            Ok(f) => {
                assert_eq!(f.len, 8);
                let i = u64::from_le_bytes(buf[..8].try_into().unwrap());
                let p = f.tag as usize;
                if retry {
                    assert_eq!(i, next[p], "producer {p}: lost or reordered");
                } else {
                    assert!(i >= next[p], "producer {p}: reordered");
                }
                next[p] = i + 1;
                received += 1;
            }
            Err(RecvError::Empty) => thread::yield_now(),
            Err(RecvError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let queued = closer.join().unwrap();
    let st = ch.stats();
    assert_eq!(st.sent, queued);
    assert_eq!(st.received, received);
    assert_eq!(st.received + st.overwritten, st.sent, "{st:?}");
    if retry {
        // Every retried Full was counted as dropped; every frame arrived.
        assert_eq!(received, 3 * PER_PRODUCER);
    } else {
        assert_eq!(st.sent + st.dropped, 3 * PER_PRODUCER, "{st:?}");
    }
    assert!(st.high_water <= 8);
    assert_eq!(ch.len(), 0);
}

#[test]
fn reject_every_frame_once_in_order() {
    run(Overflow::Reject);
}

#[test]
fn drop_oldest_every_frame_accounted_for() {
    run(Overflow::DropOldest);
}
