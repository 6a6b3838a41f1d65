//! Every cell of the phase table, for both operations, through a real [`Channel`], plus the
//! wake hook as the bindings see it: how often it fires for each transition.

use super::*;
use crate::testutil::HookCounter;
use crate::{Config, Overflow};

type Ch = Channel<Vec<crate::Word>>;

/// A channel with a counting wake hook.
fn channel(capacity: usize, max_frame: usize, overflow: Overflow) -> (Ch, HookCounter) {
    let cfg = Config::new(capacity, max_frame, overflow);
    let ch = Channel::new(crate::testutil::words(cfg.storage_words()), cfg).unwrap();
    let counter = HookCounter::new();
    ch.set_wake_hook(Some(counter.hook()));
    (ch, counter)
}

/// A receive operation already parked on the (empty) channel.
fn parked(ch: &Ch) -> RecvOp {
    let mut op = RecvOp::new();
    assert_eq!(op.resume(ch, Resume::Send, &mut [0; 8]), Step::Pending);
    assert_eq!(op.phase(), Phase::Parked);
    assert!(ch.has_parked_receiver());
    op
}

/// A waiting send already parked on the (full) channel.
fn parked_send(ch: &Ch) -> SendOp {
    let mut op = SendOp::new();
    assert_eq!(op.resume(ch, Resume::Send, 99, b"late"), Step::Pending);
    assert_eq!(op.phase(), Phase::Parked);
    op
}

fn recv_finished(ch: &Ch) -> RecvOp {
    let mut op = RecvOp::new();
    assert_eq!(op.resume(ch, Resume::Close, &mut []), Step::Returned);
    op
}

// ---- RecvOp: Fresh ----

#[test]
fn recv_fresh_send_ready() {
    let (ch, wakes) = channel(2, 8, Overflow::Reject);
    ch.push(5, b"hi").unwrap();
    let mut op = RecvOp::new();
    assert_eq!(op.phase(), Phase::Fresh);
    let mut buf = [0u8; 8];
    assert_eq!(
        op.resume(&ch, Resume::Send, &mut buf),
        Step::Ready(Frame { tag: 5, len: 2 })
    );
    assert_eq!(&buf[..2], b"hi");
    assert_eq!(op.phase(), Phase::Finished);
    assert!(!ch.has_parked_receiver());
    assert_eq!(
        wakes.calls(),
        0,
        "a receiver that never parked is never woken"
    );
}

#[test]
fn recv_fresh_send_pending_then_parked_send_ready() {
    let (ch, wakes) = channel(2, 8, Overflow::Reject);
    let mut op = parked(&ch);
    ch.push(6, b"late").unwrap();
    assert_eq!(wakes.calls(), 1);
    let mut buf = [0u8; 8];
    assert_eq!(
        op.resume(&ch, Resume::Send, &mut buf),
        Step::Ready(Frame { tag: 6, len: 4 })
    );
    assert_eq!(&buf[..4], b"late");
    assert_eq!(op.phase(), Phase::Finished);
    assert!(!ch.has_parked_receiver());
}

#[test]
fn recv_fresh_send_failed_closed_only_when_drained() {
    let (ch, _) = channel(2, 8, Overflow::Reject);
    ch.push(1, b"x").unwrap();
    ch.close();
    let mut op = RecvOp::new();
    assert!(matches!(
        op.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Ready(_)
    ));
    let mut op = RecvOp::new();
    assert_eq!(
        op.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Failed(RecvError::Closed)
    );
    assert_eq!(op.phase(), Phase::Finished);
    assert!(!ch.has_parked_receiver());
}

#[test]
fn recv_fresh_send_failed_buffer_too_small_keeps_the_frame() {
    let (ch, _) = channel(2, 8, Overflow::Reject);
    ch.push(1, b"abcdef").unwrap();
    let mut op = RecvOp::new();
    assert_eq!(
        op.resume(&ch, Resume::Send, &mut [0; 3]),
        Step::Failed(RecvError::BufferTooSmall { needed: 6, got: 3 })
    );
    assert_eq!(op.phase(), Phase::Finished);
    assert_eq!(ch.len(), 1);
    assert_eq!(ch.stats().received, 0);
    let mut buf = [0u8; 6];
    assert_eq!(ch.try_recv_into(&mut buf), Ok(Frame { tag: 1, len: 6 }));
}

#[test]
fn recv_fresh_throw_and_close_consume_nothing() {
    for (input, step) in [
        (Resume::Throw, Step::Rethrow),
        (Resume::Close, Step::Returned),
    ] {
        let (ch, _) = channel(2, 8, Overflow::Reject);
        ch.push(1, b"x").unwrap();
        let mut op = RecvOp::new();
        assert_eq!(op.resume(&ch, input, &mut [0; 8]), step);
        assert_eq!(op.phase(), Phase::Finished);
        assert_eq!(ch.len(), 1);
        assert!(!ch.has_parked_receiver());
    }
}

// ---- RecvOp: Parked ----

#[test]
fn recv_parked_send_spurious_stays_parked_and_rearms() {
    let (ch, wakes) = channel(2, 8, Overflow::Reject);
    let mut op = parked(&ch);
    // A resume with nothing queued (a spurious wake-up, a polling driver): park again.
    assert_eq!(op.resume(&ch, Resume::Send, &mut [0; 8]), Step::Pending);
    assert_eq!(op.phase(), Phase::Parked);
    assert!(ch.has_parked_receiver());
    ch.push(1, b"x").unwrap();
    assert_eq!(wakes.calls(), 1, "still armed after the re-check");
    assert!(matches!(
        op.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Ready(_)
    ));
}

#[test]
fn recv_parked_send_failed_closed() {
    let (ch, wakes) = channel(2, 8, Overflow::Reject);
    let mut op = parked(&ch);
    ch.close();
    assert_eq!(wakes.calls(), 1, "close wakes the parked receiver");
    assert_eq!(
        op.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Failed(RecvError::Closed)
    );
    assert_eq!(op.phase(), Phase::Finished);
    assert!(!ch.has_parked_receiver());
}

#[test]
fn recv_parked_send_failed_buffer_too_small_unparks() {
    let (ch, _) = channel(2, 8, Overflow::Reject);
    let mut op = parked(&ch);
    ch.push(1, b"abcdef").unwrap();
    assert_eq!(
        op.resume(&ch, Resume::Send, &mut [0; 2]),
        Step::Failed(RecvError::BufferTooSmall { needed: 6, got: 2 })
    );
    assert!(!ch.has_parked_receiver());
    assert_eq!(ch.len(), 1);
}

#[test]
fn recv_parked_throw_and_close_unpark_disarm_and_consume_nothing() {
    for (input, step) in [
        (Resume::Throw, Step::Rethrow),
        (Resume::Close, Step::Returned),
    ] {
        // Cancelled before any frame arrived: disarmed, so a later push wakes nobody.
        let (ch, wakes) = channel(2, 8, Overflow::Reject);
        let mut op = parked(&ch);
        assert_eq!(op.resume(&ch, input, &mut [0; 8]), step);
        assert_eq!(op.phase(), Phase::Finished);
        assert!(!ch.has_parked_receiver());
        ch.push(1, b"x").unwrap();
        ch.close();
        assert_eq!(wakes.calls(), 0);
        assert_eq!(ch.len(), 1);

        // Cancelled after the wake-up but before the re-check: the frame stays queued.
        let (ch, wakes) = channel(2, 8, Overflow::Reject);
        let mut op = parked(&ch);
        ch.push(2, b"y").unwrap();
        assert_eq!(wakes.calls(), 1);
        assert_eq!(op.resume(&ch, input, &mut [0; 8]), step);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch.stats().received, 0);
        // ... for the next receiver, which is not Busy.
        let mut next = RecvOp::new();
        assert_eq!(
            next.resume(&ch, Resume::Send, &mut [0; 8]),
            Step::Ready(Frame { tag: 2, len: 1 })
        );
    }
}

// ---- RecvOp: Finished ----

#[test]
fn recv_finished_cells() {
    let (ch, _) = channel(2, 8, Overflow::Reject);
    ch.push(1, b"x").unwrap();
    let mut op = recv_finished(&ch);
    assert_eq!(op.resume(&ch, Resume::Send, &mut [0; 8]), Step::Exhausted);
    assert_eq!(op.resume(&ch, Resume::Throw, &mut [0; 8]), Step::Rethrow);
    assert_eq!(op.resume(&ch, Resume::Close, &mut [0; 8]), Step::Returned);
    assert_eq!(op.phase(), Phase::Finished);
    assert_eq!(
        ch.len(),
        1,
        "a finished operation never touches the channel"
    );
    // Also after completing with Ready: resuming again takes nothing more.
    let mut op = RecvOp::new();
    assert!(matches!(
        op.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Ready(_)
    ));
    ch.push(2, b"y").unwrap();
    assert_eq!(op.resume(&ch, Resume::Send, &mut [0; 8]), Step::Exhausted);
    assert_eq!(ch.len(), 1);
}

#[test]
fn finishing_a_parked_op_through_finished_cells_does_not_unpark_a_newer_one() {
    let (ch, _) = channel(2, 8, Overflow::Reject);
    let mut first = parked(&ch);
    assert_eq!(first.resume(&ch, Resume::Throw, &mut []), Step::Rethrow);
    let _second = parked(&ch);
    // The first op is finished: closing it again must not release the second's park.
    assert_eq!(first.resume(&ch, Resume::Close, &mut []), Step::Returned);
    assert!(ch.has_parked_receiver());
}

// ---- Busy ----

#[test]
fn a_second_receiver_is_busy() {
    let (ch, wakes) = channel(2, 8, Overflow::Reject);
    let mut first = parked(&ch);
    let mut second = RecvOp::new();
    assert_eq!(
        second.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Failed(RecvError::Busy)
    );
    assert_eq!(second.phase(), Phase::Finished);
    // The first is still parked and armed.
    assert!(ch.has_parked_receiver());
    ch.push(1, b"x").unwrap();
    assert_eq!(wakes.calls(), 1);
    // Still Busy with a frame queued: it belongs to the parked receiver.
    assert_eq!(
        RecvOp::new().resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Failed(RecvError::Busy)
    );
    assert_eq!(ch.len(), 1);
    assert!(matches!(
        first.resume(&ch, Resume::Send, &mut [0; 8]),
        Step::Ready(_)
    ));
    assert_eq!(parked(&ch).phase(), Phase::Parked);
}

// ---- SendOp ----

#[test]
fn send_fresh_send_ready_and_failed() {
    let (ch, _) = channel(1, 4, Overflow::Reject);
    let mut op = SendOp::new();
    assert_eq!(op.resume(&ch, Resume::Send, 1, b"ab"), Step::Ready(()));
    assert_eq!(op.phase(), Phase::Finished);
    assert_eq!(ch.len(), 1);
    let mut op = SendOp::new();
    assert_eq!(
        op.resume(&ch, Resume::Send, 1, b"abcde"),
        Step::Failed(PushError::Oversize {
            len: 5,
            max_frame: 4
        })
    );
    ch.close();
    let mut op = SendOp::new();
    assert_eq!(
        op.resume(&ch, Resume::Send, 1, b"a"),
        Step::Failed(PushError::Closed)
    );
    assert_eq!(ch.stats().rejected, 1);
    assert_eq!(ch.stats().dropped, 0);
}

#[test]
fn send_never_parks_under_drop_oldest() {
    let (ch, _) = channel(1, 4, Overflow::DropOldest);
    ch.push(1, b"a").unwrap();
    let mut op = SendOp::new();
    assert_eq!(op.resume(&ch, Resume::Send, 2, b"b"), Step::Ready(()));
    assert_eq!(ch.stats().overwritten, 1);
}

#[test]
fn send_parked_until_a_pop_makes_room() {
    let (ch, wakes) = channel(1, 4, Overflow::Reject);
    ch.push(1, b"a").unwrap();
    let mut op = parked_send(&ch);
    assert_eq!(ch.stats().dropped, 0, "a parked send is not a drop");
    // Still full: a spurious resume parks again.
    assert_eq!(op.resume(&ch, Resume::Send, 99, b"late"), Step::Pending);
    let mut buf = [0u8; 4];
    assert_eq!(ch.try_recv_into(&mut buf), Ok(Frame { tag: 1, len: 1 }));
    assert_eq!(wakes.calls(), 1, "full -> not full wakes the parked sender");
    assert_eq!(op.resume(&ch, Resume::Send, 99, b"late"), Step::Ready(()));
    assert_eq!(op.phase(), Phase::Finished);
    assert_eq!(ch.try_recv_into(&mut buf), Ok(Frame { tag: 99, len: 4 }));
}

#[test]
fn send_parked_then_closed_fails() {
    let (ch, wakes) = channel(1, 4, Overflow::Reject);
    ch.push(1, b"a").unwrap();
    let mut op = parked_send(&ch);
    ch.close();
    assert_eq!(wakes.calls(), 1, "close wakes a parked sender");
    assert_eq!(
        op.resume(&ch, Resume::Send, 99, b"late"),
        Step::Failed(PushError::Closed)
    );
}

#[test]
fn send_cancel_cells_queue_nothing() {
    for (input, step) in [
        (Resume::Throw, Step::Rethrow),
        (Resume::Close, Step::Returned),
    ] {
        let (ch, _) = channel(1, 4, Overflow::Reject);
        let mut op = SendOp::new();
        assert_eq!(op.resume(&ch, input, 1, b"a"), step, "fresh");
        assert_eq!(ch.len(), 0);
        ch.push(1, b"a").unwrap();
        let mut op = parked_send(&ch);
        assert_eq!(op.resume(&ch, input, 99, b"late"), step, "parked");
        assert_eq!(op.phase(), Phase::Finished);
        let mut buf = [0u8; 4];
        assert_eq!(ch.try_recv_into(&mut buf), Ok(Frame { tag: 1, len: 1 }));
        assert_eq!(ch.try_recv_into(&mut buf), Err(RecvError::Empty));
        assert_eq!(ch.stats().sent, 1);
    }
}

#[test]
fn send_finished_cells() {
    let (ch, _) = channel(2, 4, Overflow::Reject);
    let mut op = SendOp::new();
    assert_eq!(op.resume(&ch, Resume::Send, 1, b"a"), Step::Ready(()));
    assert_eq!(op.resume(&ch, Resume::Send, 1, b"a"), Step::Exhausted);
    assert_eq!(op.resume(&ch, Resume::Throw, 1, b"a"), Step::Rethrow);
    assert_eq!(op.resume(&ch, Resume::Close, 1, b"a"), Step::Returned);
    assert_eq!(ch.len(), 1, "a finished send queues nothing more");
}

// ---- The wake hook, as a binding sees it ----

#[test]
fn hook_fires_once_per_park_on_empty_to_non_empty() {
    let (ch, wakes) = channel(4, 8, Overflow::Reject);
    // Unarmed: pushes wake nobody.
    ch.push(1, b"a").unwrap();
    assert_eq!(wakes.calls(), 0);
    let mut buf = [0u8; 8];
    ch.try_recv_into(&mut buf).unwrap();
    for round in 1..=3 {
        let mut op = parked(&ch);
        ch.push(2, b"b").unwrap();
        ch.push(3, b"c").unwrap();
        assert_eq!(wakes.calls(), round, "one wake per park, not per push");
        assert!(matches!(
            op.resume(&ch, Resume::Send, &mut buf),
            Step::Ready(_)
        ));
        ch.try_recv_into(&mut buf).unwrap();
    }
}

#[test]
fn hook_is_not_called_without_a_parked_receiver_or_sender() {
    let (ch, wakes) = channel(1, 8, Overflow::Reject);
    ch.push(1, b"a").unwrap();
    assert_eq!(ch.push(2, b"b"), Err(PushError::Full));
    ch.try_recv_into(&mut [0; 8]).unwrap();
    ch.close();
    ch.close();
    assert_eq!(wakes.calls(), 0);
}

#[test]
fn hook_fires_on_close_when_armed() {
    let (ch, wakes) = channel(1, 8, Overflow::Reject);
    let _op = parked(&ch);
    ch.close();
    ch.close();
    assert_eq!(wakes.calls(), 1);
}

#[test]
fn removing_the_hook_silences_it() {
    let (ch, wakes) = channel(1, 8, Overflow::Reject);
    ch.set_wake_hook(None);
    let _op = parked(&ch);
    ch.push(1, b"a").unwrap();
    assert_eq!(wakes.calls(), 0);
}

// ---- RecvOp::resume_batch: the waiting batch receive ----

fn records(buf: &[u8]) -> Vec<(u32, Vec<u8>)> {
    crate::batch_frames(buf)
        .map(|(t, p)| (t, p.to_vec()))
        .collect()
}

#[test]
fn batch_ready_takes_what_is_queued_up_to_max_in_order() {
    let (ch, wakes) = channel(8, 8, Overflow::Reject);
    for i in 0..5u8 {
        ch.push(u32::from(i), &[i; 3][..usize::from(i % 3)])
            .unwrap();
    }
    let mut buf = [0u8; 128];
    let mut op = RecvOp::new();
    let Step::Ready((n, used)) = op.resume_batch(&ch, Resume::Send, &mut buf, 3) else {
        panic!()
    };
    assert_eq!(n, 3);
    assert_eq!(
        records(&buf[..used]),
        vec![(0, vec![]), (1, vec![1]), (2, vec![2, 2])]
    );
    assert_eq!(op.phase(), Phase::Finished);
    // max = usize::MAX: as many as are queued.
    let mut op = RecvOp::new();
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut buf, usize::MAX),
        Step::Ready((2, 8 + 8 + 1))
    );
    assert_eq!(ch.len(), 0);
    assert_eq!(wakes.calls(), 0);
}

#[test]
fn batch_max_zero_takes_one() {
    let (ch, _) = channel(4, 8, Overflow::Reject);
    ch.push(1, b"a").unwrap();
    ch.push(2, b"b").unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        RecvOp::new().resume_batch(&ch, Resume::Send, &mut buf, 0),
        Step::Ready((1, 9))
    );
    assert_eq!(ch.len(), 1);
}

#[test]
fn batch_stops_before_a_record_that_does_not_fit() {
    let (ch, _) = channel(4, 8, Overflow::Reject);
    ch.push(1, b"abcd").unwrap();
    ch.push(2, b"efgh").unwrap();
    let mut buf = [0u8; 20]; // one 12-byte record fits, not two
    assert_eq!(
        RecvOp::new().resume_batch(&ch, Resume::Send, &mut buf, 8),
        Step::Ready((1, 12))
    );
    assert_eq!(ch.len(), 1);
}

#[test]
fn batch_buffer_too_small_for_the_head_record_keeps_it() {
    for parked_first in [false, true] {
        let (ch, _) = channel(4, 8, Overflow::Reject);
        let mut op = RecvOp::new();
        if parked_first {
            assert_eq!(
                op.resume_batch(&ch, Resume::Send, &mut [0; 64], 8),
                Step::Pending
            );
        }
        ch.push(1, b"abcdef").unwrap();
        assert_eq!(
            op.resume_batch(&ch, Resume::Send, &mut [0; 13], 8),
            Step::Failed(RecvError::BufferTooSmall {
                needed: 14,
                got: 13
            })
        );
        assert_eq!(op.phase(), Phase::Finished);
        assert!(!ch.has_parked_receiver());
        assert_eq!(ch.len(), 1);
        assert_eq!(ch.stats().received, 0);
    }
}

#[test]
fn batch_parks_when_empty_and_one_wake_delivers_everything_pushed() {
    let (ch, wakes) = channel(8, 8, Overflow::Reject);
    let mut buf = [0u8; 128];
    let mut op = RecvOp::new();
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut buf, 64),
        Step::Pending
    );
    assert!(ch.has_parked_receiver());
    // A spurious resume parks again, still armed.
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut buf, 64),
        Step::Pending
    );
    for i in 0..4 {
        ch.push(i, b"xy").unwrap();
    }
    assert_eq!(wakes.calls(), 1, "one wake per park");
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut buf, 64),
        Step::Ready((4, 4 * 10))
    );
    assert!(!ch.has_parked_receiver());
    // Parked in batch form, the next receiver of either form is not Busy.
    assert_eq!(parked(&ch).phase(), Phase::Parked);
}

#[test]
fn batch_closed_only_when_drained() {
    let (ch, _) = channel(4, 8, Overflow::Reject);
    ch.push(1, b"x").unwrap();
    ch.close();
    let mut buf = [0u8; 64];
    assert_eq!(
        RecvOp::new().resume_batch(&ch, Resume::Send, &mut buf, 8),
        Step::Ready((1, 9))
    );
    assert_eq!(
        RecvOp::new().resume_batch(&ch, Resume::Send, &mut buf, 8),
        Step::Failed(RecvError::Closed)
    );
    // Parked, then closed: woken, fails Closed, unparked.
    let (ch, wakes) = channel(4, 8, Overflow::Reject);
    let mut op = RecvOp::new();
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut buf, 8),
        Step::Pending
    );
    ch.close();
    assert_eq!(wakes.calls(), 1);
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut buf, 8),
        Step::Failed(RecvError::Closed)
    );
    assert!(!ch.has_parked_receiver());
}

#[test]
fn batch_busy_behind_a_parked_receiver() {
    let (ch, _) = channel(4, 8, Overflow::Reject);
    let _first = parked(&ch);
    ch.push(1, b"x").unwrap();
    assert_eq!(
        RecvOp::new().resume_batch(&ch, Resume::Send, &mut [0; 64], 8),
        Step::Failed(RecvError::Busy)
    );
    assert_eq!(ch.len(), 1);
}

#[test]
fn batch_throw_and_close_consume_nothing() {
    for (input, step) in [
        (Resume::Throw, Step::Rethrow),
        (Resume::Close, Step::Returned),
    ] {
        // Fresh, with frames queued.
        let (ch, _) = channel(4, 8, Overflow::Reject);
        ch.push(1, b"x").unwrap();
        let mut op = RecvOp::new();
        assert_eq!(op.resume_batch(&ch, input, &mut [0; 64], 8), step);
        assert_eq!(ch.len(), 1);
        // Parked, woken, cancelled before the re-check: everything stays queued.
        let (ch, wakes) = channel(4, 8, Overflow::Reject);
        let mut op = RecvOp::new();
        assert_eq!(
            op.resume_batch(&ch, Resume::Send, &mut [0; 64], 8),
            Step::Pending
        );
        ch.push(2, b"y").unwrap();
        ch.push(3, b"z").unwrap();
        assert_eq!(wakes.calls(), 1);
        assert_eq!(op.resume_batch(&ch, input, &mut [0; 64], 8), step);
        assert_eq!(op.phase(), Phase::Finished);
        assert!(!ch.has_parked_receiver());
        assert_eq!(ch.len(), 2);
        assert_eq!(ch.stats().received, 0);
        let mut buf = [0u8; 64];
        assert_eq!(
            RecvOp::new().resume_batch(&ch, Resume::Send, &mut buf, 8),
            Step::Ready((2, 18))
        );
        assert_eq!(
            records(&buf[..18]),
            vec![(2, b"y".to_vec()), (3, b"z".to_vec())]
        );
    }
}

#[test]
fn batch_finished_cells_touch_nothing() {
    let (ch, _) = channel(4, 8, Overflow::Reject);
    ch.push(1, b"x").unwrap();
    let mut op = RecvOp::new();
    assert!(matches!(
        op.resume_batch(&ch, Resume::Send, &mut [0; 64], 8),
        Step::Ready(_)
    ));
    ch.push(2, b"y").unwrap();
    assert_eq!(
        op.resume_batch(&ch, Resume::Send, &mut [0; 64], 8),
        Step::Exhausted
    );
    assert_eq!(ch.len(), 1);
}

#[test]
fn batch_records_reject_truncation() {
    let mut buf = [0u8; 20];
    crate::batch::write_header(&mut buf[..8], 7, 3);
    buf[8..11].copy_from_slice(b"abc");
    crate::batch::write_header(&mut buf[11..19], 8, 5); // claims 5 bytes, 1 left
    let got: Vec<_> = crate::batch_records(&buf).collect();
    assert_eq!(got, vec![(7, 8, 3)]);
    // A huge length does not overflow.
    crate::batch::write_header(&mut buf[..8], 1, u32::MAX);
    assert_eq!(crate::batch_records(&buf).count(), 0);
}
