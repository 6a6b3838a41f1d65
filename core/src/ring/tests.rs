//! The queue's rules on the bare state, one transition at a time: no lock, no threads.

use super::*;
use crate::testutil::{words, HookCounter};
use crate::Overflow;

fn state(capacity: usize, max_frame: usize, overflow: Overflow) -> Ring<Vec<Word>> {
    let cfg = Config::new(capacity, max_frame, overflow);
    Ring::new(words(cfg.storage_words()), cfg).unwrap()
}

/// Pops into a fresh buffer of `buf_len` bytes (pre-filled with 0xAA) and returns the tag and
/// the payload.
fn pop(s: &Ring<Vec<Word>>, buf_len: usize) -> Result<(u32, Vec<u8>), RecvError> {
    let mut buf = vec![0xAA; buf_len];
    let (frame, _wake) = s.pop_into(&mut buf)?;
    Ok((frame.tag, buf[..frame.len].to_vec()))
}

/// The methods below without their wake hook, so results compare with `assert_eq!`.
fn t_push(s: &Ring<Vec<Word>>, tag: u32, payload: &[u8]) -> Result<(), PushError> {
    s.push(tag, payload).map(drop)
}

/// `Ok(true)` when parked, `Ok(false)` when queued.
fn t_send_or_park(s: &Ring<Vec<Word>>, tag: u32, payload: &[u8]) -> Result<bool, PushError> {
    s.send_or_park(tag, payload).map(|queued| queued.is_none())
}

fn t_recv_or_park(s: &Ring<Vec<Word>>, parked: bool, dest: &mut [u8]) -> Result<Frame, RecvError> {
    s.recv_or_park(parked, dest).map(|(frame, _wake)| frame)
}

fn stats(counts: [u64; 6]) -> Stats {
    let [sent, received, dropped, overwritten, rejected, high_water] = counts;
    Stats {
        sent,
        received,
        dropped,
        overwritten,
        rejected,
        high_water,
    }
}

#[test]
fn new_checks_the_storage_length() {
    let cfg = Config::new(3, 5, Overflow::Reject);
    let needed = 3 * (SLOT_HEADER_WORDS + 2);
    assert_eq!(cfg.storage_words(), needed);
    assert_eq!(
        Ring::new(words(needed - 1), cfg).err(),
        Some(ConfigError::StorageTooSmall {
            needed,
            got: needed - 1
        })
    );
    assert!(Ring::new(words(needed), cfg).is_ok());
    assert!(Ring::new(words(needed + 7), cfg).is_ok());
    let zero = Config::new(0, 5, Overflow::Reject);
    assert_eq!(
        Ring::new(words(64), zero).err(),
        Some(ConfigError::ZeroCapacity)
    );
}

#[test]
fn frames_come_out_in_order_with_their_tags() {
    let s = state(4, 8, Overflow::Reject);
    s.push(1, b"a").unwrap();
    s.push(u32::MAX, b"").unwrap();
    s.push(3, b"12345678").unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(pop(&s, 8), Ok((1, b"a".to_vec())));
    assert_eq!(pop(&s, 8), Ok((u32::MAX, vec![])));
    assert_eq!(pop(&s, 8), Ok((3, b"12345678".to_vec())));
    assert_eq!(pop(&s, 8), Err(RecvError::Empty));
    assert_eq!(s.len(), 0);
}

#[test]
fn pop_writes_only_the_payload_bytes() {
    let s = state(2, 8, Overflow::Reject);
    s.push(9, b"xyz").unwrap();
    let mut buf = [0xAAu8; 8];
    let (frame, wake) = s.pop_into(&mut buf).unwrap();
    assert_eq!(frame, Frame { tag: 9, len: 3 });
    assert!(wake.is_none());
    assert_eq!(&buf, b"xyz\xAA\xAA\xAA\xAA\xAA");
}

#[test]
fn wraps_around_the_ring_without_mixing_slots() {
    // Capacity 3: the head crosses the end of the storage many times, and shorter frames land
    // in slots that held longer ones, so stale bytes would show.
    let s = state(3, 5, Overflow::Reject);
    let payload = |i: u32| vec![i as u8; (i % 6) as usize];
    let (mut next_in, mut next_out) = (0u32, 0u32);
    for round in 0..40 {
        // Alternate between filling up and draining down so every head/len combination occurs.
        let target = if round % 2 == 0 { 3 } else { round % 3 };
        while s.len() < target {
            s.push(next_in, &payload(next_in)).unwrap();
            next_in += 1;
        }
        while s.len() > target {
            assert_eq!(pop(&s, 5), Ok((next_out, payload(next_out))));
            next_out += 1;
        }
    }
    while s.len() > 0 {
        assert_eq!(pop(&s, 5), Ok((next_out, payload(next_out))));
        next_out += 1;
    }
    assert_eq!(next_in, next_out);
    assert!(next_in > 40);
    assert_eq!(s.stats().sent, u64::from(next_in));
    assert_eq!(s.stats().received, u64::from(next_out));
    assert_eq!(s.stats().high_water, 3);
}

#[test]
fn reject_refuses_when_full_and_counts_dropped() {
    let s = state(2, 4, Overflow::Reject);
    s.push(1, b"a").unwrap();
    s.push(2, b"b").unwrap();
    assert_eq!(t_push(&s, 3, b"c"), Err(PushError::Full));
    assert_eq!(t_push(&s, 4, b"d"), Err(PushError::Full));
    assert_eq!(s.len(), 2);
    assert_eq!(s.stats(), stats([2, 0, 2, 0, 0, 2]));
    // The queued frames are untouched, and room is usable again after a pop.
    assert_eq!(pop(&s, 4), Ok((1, b"a".to_vec())));
    s.push(5, b"e").unwrap();
    assert_eq!(pop(&s, 4), Ok((2, b"b".to_vec())));
    assert_eq!(pop(&s, 4), Ok((5, b"e".to_vec())));
    assert_eq!(s.stats(), stats([3, 3, 2, 0, 0, 2]));
}

#[test]
fn drop_oldest_overwrites_when_full_and_counts_overwritten() {
    let s = state(3, 4, Overflow::DropOldest);
    for i in 0..10u32 {
        s.push(i, &i.to_le_bytes()).unwrap();
        assert_eq!(s.len(), (i as usize + 1).min(3));
    }
    assert_eq!(s.stats(), stats([10, 0, 0, 7, 0, 3]));
    for i in 7..10u32 {
        assert_eq!(pop(&s, 4), Ok((i, i.to_le_bytes().to_vec())));
    }
    assert_eq!(pop(&s, 4), Err(RecvError::Empty));
    assert_eq!(s.stats(), stats([10, 3, 0, 7, 0, 3]));
}

#[test]
fn drop_oldest_with_capacity_one_keeps_the_newest() {
    let s = state(1, 2, Overflow::DropOldest);
    s.push(1, b"a").unwrap();
    s.push(2, b"bb").unwrap();
    assert_eq!(pop(&s, 2), Ok((2, b"bb".to_vec())));
    assert_eq!(s.stats(), stats([2, 1, 0, 1, 0, 1]));
}

#[test]
fn oversize_is_rejected_counted_and_never_truncated() {
    for overflow in [Overflow::Reject, Overflow::DropOldest] {
        let s = state(2, 4, overflow);
        assert_eq!(
            t_push(&s, 1, b"12345"),
            Err(PushError::Oversize {
                len: 5,
                max_frame: 4
            })
        );
        assert_eq!(s.len(), 0);
        s.push(2, b"1234").unwrap();
        s.push(3, b"").unwrap();
        // Full: an oversize payload is still reported as oversize, and displaces nothing.
        assert_eq!(
            t_push(&s, 4, &[0; 100]),
            Err(PushError::Oversize {
                len: 100,
                max_frame: 4
            })
        );
        assert_eq!(s.stats(), stats([2, 0, 0, 0, 2, 2]));
        assert_eq!(pop(&s, 4), Ok((2, b"1234".to_vec())));
        assert_eq!(pop(&s, 4), Ok((3, vec![])));
    }
}

#[test]
fn close_refuses_producers_and_lets_the_consumer_drain() {
    let s = state(4, 4, Overflow::Reject);
    s.push(1, b"a").unwrap();
    s.push(2, b"b").unwrap();
    assert!(!s.is_closed());
    assert!(s.close().is_none(), "nothing armed: no wake");
    assert!(s.is_closed());
    // Producers: Closed, whatever the payload; nothing is counted as dropped or rejected.
    assert_eq!(t_push(&s, 3, b"c"), Err(PushError::Closed));
    assert_eq!(t_push(&s, 3, b"too long"), Err(PushError::Closed));
    assert_eq!(t_send_or_park(&s, 3, b"c"), Err(PushError::Closed));
    assert_eq!(s.stats(), stats([2, 0, 0, 0, 0, 2]));
    // Consumer: what was queued, then Closed (never Empty), for good.
    assert_eq!(pop(&s, 4), Ok((1, b"a".to_vec())));
    assert!(s.close().is_none(), "close is idempotent");
    assert_eq!(pop(&s, 4), Ok((2, b"b".to_vec())));
    assert_eq!(pop(&s, 4), Err(RecvError::Closed));
    assert_eq!(pop(&s, 4), Err(RecvError::Closed));
    let mut buf = [0u8; 4];
    assert_eq!(
        s.recv_or_park(false, &mut buf).err(),
        Some(RecvError::Closed)
    );
    assert!(
        !s.receiver_parked(),
        "a closed channel never parks a receiver"
    );
    assert_eq!(s.stats(), stats([2, 2, 0, 0, 0, 2]));
}

#[test]
fn high_water_is_the_most_ever_queued() {
    let s = state(8, 1, Overflow::Reject);
    let mut expected = 0;
    for (pushes, pops, high) in [(3, 2, 3), (1, 0, 3), (3, 5, 5), (2, 2, 5), (8, 0, 8)] {
        for _ in 0..pushes {
            s.push(0, b"x").unwrap();
        }
        assert_eq!(s.stats().high_water, high);
        for _ in 0..pops {
            pop(&s, 1).unwrap();
        }
        expected += pushes;
        assert_eq!(s.stats().sent, expected);
    }
    assert_eq!(s.len(), 8);
}

#[test]
fn buffer_too_small_leaves_the_frame_queued() {
    let s = state(2, 8, Overflow::Reject);
    s.push(7, b"sixsix").unwrap();
    s.push(8, b"").unwrap();
    assert_eq!(
        pop(&s, 5),
        Err(RecvError::BufferTooSmall { needed: 6, got: 5 })
    );
    assert_eq!(
        pop(&s, 0),
        Err(RecvError::BufferTooSmall { needed: 6, got: 0 })
    );
    assert_eq!(s.len(), 2);
    assert_eq!(s.stats().received, 0);
    // A buffer that fits the frame is enough, even if shorter than max_frame.
    assert_eq!(pop(&s, 6), Ok((7, b"sixsix".to_vec())));
    assert_eq!(pop(&s, 0), Ok((8, vec![])));
    // Also after close: the frame stays until a big enough buffer comes.
    s.push(9, b"abc").unwrap();
    s.close();
    assert_eq!(
        pop(&s, 2),
        Err(RecvError::BufferTooSmall { needed: 3, got: 2 })
    );
    assert_eq!(pop(&s, 3), Ok((9, b"abc".to_vec())));
    assert_eq!(pop(&s, 3), Err(RecvError::Closed));
}

#[test]
fn push_wakes_only_on_the_armed_empty_to_non_empty_edge() {
    let counter = HookCounter::new();
    let s = state(4, 4, Overflow::Reject);
    s.set_hook(Some(counter.hook()));
    let mut buf = [0u8; 4];
    // Unarmed: no wake.
    assert!(s.push(1, b"a").unwrap().is_none());
    pop(&s, 4).unwrap();
    // Armed by a receiver that found the channel empty.
    assert_eq!(t_recv_or_park(&s, false, &mut buf), Err(RecvError::Empty));
    assert!(s.receiver_parked());
    let wake = s
        .push(2, b"b")
        .unwrap()
        .expect("the first push after arming wakes");
    assert_eq!(wake.ctx, counter.hook().ctx);
    wake.call();
    assert_eq!(counter.calls(), 1);
    assert!(s.push(3, b"c").unwrap().is_none(), "second push: no wake");
    // The receiver is still parked until it re-checks; the re-check delivers and unparks.
    assert!(s.receiver_parked());
    assert_eq!(
        s.recv_or_park(true, &mut buf).map(|(f, _)| f),
        Ok(Frame { tag: 2, len: 1 })
    );
    assert!(!s.receiver_parked());
    assert_eq!(counter.calls(), 1);
}

#[test]
fn a_second_receiver_is_busy_while_one_is_parked() {
    let s = state(2, 4, Overflow::Reject);
    let mut buf = [0u8; 4];
    assert_eq!(t_recv_or_park(&s, false, &mut buf), Err(RecvError::Empty));
    s.push(1, b"a").unwrap();
    // Even with a frame queued, a new receiver may not take the parked one's frame.
    assert_eq!(t_recv_or_park(&s, false, &mut buf), Err(RecvError::Busy));
    assert_eq!(s.len(), 1);
    assert!(s.receiver_parked());
    // The parked one re-checks and gets it; then a new receiver is welcome.
    assert!(s.recv_or_park(true, &mut buf).is_ok());
    assert_eq!(t_recv_or_park(&s, false, &mut buf), Err(RecvError::Empty));
}

#[test]
fn a_failing_recheck_unparks() {
    let s = state(2, 4, Overflow::Reject);
    let mut small = [0u8; 1];
    assert_eq!(t_recv_or_park(&s, false, &mut small), Err(RecvError::Empty));
    s.push(1, b"abc").unwrap();
    assert_eq!(
        t_recv_or_park(&s, true, &mut small),
        Err(RecvError::BufferTooSmall { needed: 3, got: 1 })
    );
    assert!(!s.receiver_parked() && !s.cons.0.armed.load(Relaxed));
    assert_eq!(s.len(), 1);
}

#[test]
fn unpark_disarms() {
    let counter = HookCounter::new();
    let s = state(2, 4, Overflow::Reject);
    s.set_hook(Some(counter.hook()));
    let mut buf = [0u8; 4];
    assert_eq!(t_recv_or_park(&s, false, &mut buf), Err(RecvError::Empty));
    s.unpark_receiver();
    assert!(!s.receiver_parked());
    assert!(s.push(1, b"a").unwrap().is_none());
    assert!(s.close().is_none());
}

#[test]
fn close_wakes_an_armed_receiver_once() {
    let counter = HookCounter::new();
    let s = state(2, 4, Overflow::Reject);
    s.set_hook(Some(counter.hook()));
    let mut buf = [0u8; 4];
    assert_eq!(t_recv_or_park(&s, false, &mut buf), Err(RecvError::Empty));
    s.close().expect("armed: close wakes").call();
    assert!(s.close().is_none(), "a second close finds nothing armed");
    assert_eq!(counter.calls(), 1);
    assert_eq!(t_recv_or_park(&s, true, &mut buf), Err(RecvError::Closed));
    assert!(!s.receiver_parked());
}

#[test]
fn a_parked_sender_is_woken_on_full_to_not_full() {
    let counter = HookCounter::new();
    let s = state(2, 4, Overflow::Reject);
    s.set_hook(Some(counter.hook()));
    s.push(1, b"a").unwrap();
    // Not full: a waiting send just queues (and is not a wake edge for a receiver).
    assert!(matches!(s.send_or_park(2, b"b"), Ok(Some(None))));
    // A pop from a full channel with no parked sender wakes nobody.
    assert!(s.pop_into(&mut [0; 4]).unwrap().1.is_none());
    s.push(3, b"c").unwrap();
    // Full: the waiting send parks instead of failing, and is not counted as dropped.
    assert!(matches!(s.send_or_park(4, b"d"), Ok(None)));
    assert_eq!(s.stats().dropped, 0);
    assert_eq!(s.len(), 2);
    let (_, wake) = s.pop_into(&mut [0; 4]).unwrap();
    wake.expect("full -> not full wakes the parked sender")
        .call();
    assert_eq!(counter.calls(), 1);
    // Not full -> less full is no edge, and the flag was consumed.
    assert!(s.pop_into(&mut [0; 4]).unwrap().1.is_none());
    s.push(5, b"e").unwrap();
    s.push(6, b"f").unwrap();
    assert!(s.pop_into(&mut [0; 4]).unwrap().1.is_none());
}

#[test]
fn close_wakes_a_parked_sender() {
    let counter = HookCounter::new();
    let s = state(1, 4, Overflow::Reject);
    s.set_hook(Some(counter.hook()));
    s.push(1, b"a").unwrap();
    assert!(matches!(s.send_or_park(2, b"b"), Ok(None)));
    s.close().expect("a parked sender is woken by close").call();
    assert_eq!(counter.calls(), 1);
    assert_eq!(t_send_or_park(&s, 2, b"b"), Err(PushError::Closed));
}

#[test]
fn a_waiting_send_never_parks_under_drop_oldest_or_when_oversize() {
    let s = state(1, 2, Overflow::DropOldest);
    s.push(1, b"a").unwrap();
    assert!(matches!(s.send_or_park(2, b"b"), Ok(Some(None))));
    assert_eq!(s.stats().overwritten, 1);
    let s = state(1, 2, Overflow::Reject);
    s.push(1, b"a").unwrap();
    assert_eq!(
        t_send_or_park(&s, 2, b"abc"),
        Err(PushError::Oversize {
            len: 3,
            max_frame: 2
        })
    );
    assert_eq!(s.stats().rejected, 1);
}

#[test]
fn recover_orphans_skips_dead_claims_and_frees_dead_takes() {
    let s = state(3, 4, Overflow::DropOldest);
    // A producer that claimed and vanished, and one that published behind it.
    let (dead, _) = s.reserve(4).unwrap();
    s.push(2, b"b").unwrap();
    assert_eq!(
        pop(&s, 4),
        Err(RecvError::Empty),
        "the dead claim blocks the head"
    );
    let _ = dead;
    assert_eq!(s.recover_orphans(), 1);
    assert_eq!(pop(&s, 4), Ok((2, b"b".to_vec())));
    assert_eq!(s.recover_orphans(), 0, "nothing left to fix");
    // A consumer (or a drop_oldest steal) that took the oldest frame of a full ring and
    // vanished before freeing its slot: simulated by moving `head` without the release.
    let s = state(2, 4, Overflow::Reject);
    s.push(1, b"a").unwrap();
    s.push(2, b"b").unwrap();
    let head = s.cons.0.head.load(Relaxed);
    s.cons.0.head.store(s.next(head), Relaxed); // taken, slot not freed
    assert_eq!(t_push(&s, 3, b"c"), Err(PushError::Full));
    assert_eq!(s.recover_orphans(), 1);
    s.push(3, b"c").unwrap();
    assert_eq!(pop(&s, 4), Ok((2, b"b".to_vec())));
    assert_eq!(pop(&s, 4), Ok((3, b"c".to_vec())));
}
