//! `Channel::try_recv_batch` and `batch_frames`: order, limits, wrap-around, errors, stats,
//! and the room wake-up for a parked sender.

use std::sync::atomic::{AtomicUsize, Ordering};

use awaitq_core::{
    batch_frames, Channel, Config, Overflow, RecvError, Resume, SendOp, Step, WakeHook, Word,
};

fn channel(capacity: usize, max_frame: usize) -> Channel<Vec<Word>> {
    let cfg = Config::new(capacity, max_frame, Overflow::Reject);
    Channel::new(
        (0..cfg.storage_words())
            .map(|_| Word::new(0))
            .collect::<Vec<Word>>(),
        cfg,
    )
    .unwrap()
}

fn frames(records: &[u8]) -> Vec<(u32, Vec<u8>)> {
    batch_frames(records)
        .map(|(t, p)| (t, p.to_vec()))
        .collect()
}

#[test]
fn takes_frames_in_order_up_to_max() {
    let ch = channel(8, 4);
    for i in 0..5u8 {
        ch.push(u32::from(i), &vec![i; usize::from(i % 3)]).unwrap();
    }
    let mut buf = [0u8; 256];
    let (n, used) = ch.try_recv_batch(&mut buf, 3).unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        frames(&buf[..used]),
        vec![(0, vec![]), (1, vec![1]), (2, vec![2, 2])]
    );
    let (n, used) = ch.try_recv_batch(&mut buf, 10).unwrap();
    assert_eq!(frames(&buf[..used]), vec![(3, vec![]), (4, vec![4])]);
    assert_eq!(n, 2);
    assert_eq!(ch.try_recv_batch(&mut buf, 10), Err(RecvError::Empty));
    assert_eq!(ch.stats().received, 5);
}

#[test]
fn stops_before_a_record_that_does_not_fit() {
    let ch = channel(4, 8);
    ch.push(1, b"abcd").unwrap();
    ch.push(2, b"efghijk").unwrap();
    let mut buf = [0u8; 20]; // 12 for the first record, 15 needed for the second
    let (n, used) = ch.try_recv_batch(&mut buf, 4).unwrap();
    assert_eq!((n, used), (1, 12));
    assert_eq!(ch.len(), 1, "the second frame stays queued");
    assert_eq!(
        ch.try_recv_batch(&mut buf[..10], 4),
        Err(RecvError::BufferTooSmall {
            needed: 15,
            got: 10
        })
    );
    assert_eq!(ch.len(), 1);
    let (_, used) = ch.try_recv_batch(&mut buf, 4).unwrap();
    assert_eq!(frames(&buf[..used]), vec![(2, b"efghijk".to_vec())]);
}

#[test]
fn wraps_around_the_ring_and_reports_closed_once_drained() {
    let ch = channel(3, 2);
    let mut buf = [0u8; 64];
    for round in 0..5u32 {
        for k in 0..3 {
            ch.push(round * 3 + k, &[k as u8]).unwrap();
        }
        let (n, used) = ch.try_recv_batch(&mut buf, 8).unwrap();
        assert_eq!(n, 3);
        let tags: Vec<u32> = batch_frames(&buf[..used]).map(|(t, _)| t).collect();
        assert_eq!(tags, vec![round * 3, round * 3 + 1, round * 3 + 2]);
    }
    ch.push(99, b"x").unwrap();
    ch.close();
    let (n, _) = ch.try_recv_batch(&mut buf, 8).unwrap();
    assert_eq!(n, 1);
    assert_eq!(ch.try_recv_batch(&mut buf, 8), Err(RecvError::Closed));
}

static WAKES: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_wake(_: usize) {
    WAKES.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_batch_that_makes_room_wakes_a_parked_sender_once() {
    let ch = channel(2, 4);
    ch.set_wake_hook(Some(WakeHook {
        func: count_wake,
        ctx: 0,
    }));
    ch.push(0, b"a").unwrap();
    ch.push(1, b"b").unwrap();
    let mut send = SendOp::new();
    assert_eq!(send.resume(&ch, Resume::Send, 2, b"c"), Step::Pending);
    let before = WAKES.load(Ordering::SeqCst);
    let mut buf = [0u8; 64];
    assert_eq!(ch.try_recv_batch(&mut buf, 8).unwrap().0, 2);
    assert_eq!(WAKES.load(Ordering::SeqCst), before + 1);
    assert_eq!(send.resume(&ch, Resume::Send, 2, b"c"), Step::Ready(()));
}

#[test]
fn batch_frames_stops_at_a_truncated_record() {
    let mut rec = Vec::new();
    rec.extend_from_slice(&7u32.to_le_bytes());
    rec.extend_from_slice(&2u32.to_le_bytes());
    rec.extend_from_slice(b"hi");
    rec.extend_from_slice(&8u32.to_le_bytes()); // a header cut short
    assert_eq!(frames(&rec), vec![(7, b"hi".to_vec())]);
}
