//! Model checks of the wake protocol with loom: every interleaving (up to the preemption bound)
//! of producers pushing while one consumer drives a [`RecvOp`], parking whenever it gets
//! `Pending` until the wake hook unparks it.
//!
//! A lost wake-up would leave the consumer parked forever, which loom reports as a deadlock; a
//! double wake-up shows as more hook calls than parks; a lost or duplicated frame, or one out of
//! its producer's order, fails the final comparison.
//!
//! The ring's own races are modelled too: a producer preempted between claiming a slot and
//! publishing it (a reservation, committed or aborted, racing a push and a parking consumer),
//! `drop_oldest` producers stealing the oldest frame while the consumer takes it, a batch push.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p awaitq-core --test loom --release`
#![cfg(loom)]

use awaitq_core::{
    Channel, Config, Overflow, PushError, RecvError, RecvOp, Resume, SendOp, Step, WakeHook, Word,
};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Notify};
use loom::thread::{self, Thread};

loom::lazy_static! {
    // Per execution (loom resets its lazy statics), so every interleaving starts from zero.
    static ref WAKES: AtomicUsize = AtomicUsize::new(0);
    // The consumer is the model's main thread; it touches this before spawning anyone.
    static ref CONSUMER: Thread = thread::current();
    // For the backpressure model, where the one hook must wake whichever side is parked.
    static ref RECV_READY: Notify = Notify::new();
    static ref SEND_READY: Notify = Notify::new();
}

/// `loom::model` with the preemption bound lowered to `bound` (the environment's
/// `LOOM_MAX_PREEMPTIONS` still applies when lower): the lock-free ring has many more atomic
/// steps per frame than the lock it replaced, so the larger models run with bound 1.
fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.map_or(true, |env| env > bound) {
        builder.preemption_bound = Some(bound);
    }
    builder.check(f);
}

/// The hook for the consumer-only models: count, then unpark the consumer. `ctx` is unused.
extern "C" fn unpark_consumer(_ctx: usize) {
    WAKES.fetch_add(1, SeqCst);
    CONSUMER.unpark();
}

/// The hook for the backpressure model: both sides re-check (spurious wake-ups are allowed).
extern "C" fn notify_both(_ctx: usize) {
    WAKES.fetch_add(1, SeqCst);
    RECV_READY.notify();
    SEND_READY.notify();
}

type Ch = Channel<Vec<Word>>;

fn channel(capacity: usize, hook: extern "C" fn(usize)) -> Arc<Ch> {
    channel_with(capacity, Overflow::Reject, hook)
}

fn channel_with(capacity: usize, overflow: Overflow, hook: extern "C" fn(usize)) -> Arc<Ch> {
    let cfg = Config::new(capacity, 4, overflow);
    let ch = Channel::new(
        (0..cfg.storage_words())
            .map(|_| Word::new(0))
            .collect::<Vec<Word>>(),
        cfg,
    )
    .unwrap();
    ch.set_wake_hook(Some(WakeHook { func: hook, ctx: 0 }));
    Arc::new(ch)
}

/// Producer `p` pushes frames `0..n` with tag `p` and the frame number as payload.
fn spawn_producers(ch: &Arc<Ch>, producers: u32, n: u8) -> Vec<thread::JoinHandle<()>> {
    (0..producers)
        .map(|p| {
            let ch = ch.clone();
            thread::spawn(move || {
                for k in 0..n {
                    ch.push(p, &[k]).unwrap();
                }
            })
        })
        .collect()
}

/// Receives until `total` frames arrived, or until closed when `total` is `None`; parks on
/// every `Pending`. Returns the frames as (tag, payload byte) and the number of parks.
fn consume(ch: &Ch, total: Option<usize>) -> (Vec<(u32, u8)>, usize) {
    let mut frames = Vec::new();
    let mut parks = 0;
    let mut op = RecvOp::new();
    let mut buf = [0u8; 4];
    while total != Some(frames.len()) {
        match op.resume(ch, Resume::Send, &mut buf) {
            Step::Pending => {
                parks += 1;
                thread::park();
            }
            Step::Ready(frame) => {
                assert_eq!(frame.len, 1);
                frames.push((frame.tag, buf[0]));
                op = RecvOp::new();
            }
            Step::Failed(RecvError::Closed) if total.is_none() => break,
            other => panic!("unexpected step {other:?}"),
        }
    }
    (frames, parks)
}

/// Every producer's frames, each exactly once, in the order it pushed them.
fn assert_all_in_order(frames: &[(u32, u8)], producers: u32, n: u8) {
    assert_eq!(frames.len(), producers as usize * n as usize, "{frames:?}");
    for p in 0..producers {
        let mine: Vec<u8> = frames.iter().filter(|f| f.0 == p).map(|f| f.1).collect();
        assert_eq!(mine, (0..n).collect::<Vec<_>>(), "producer {p}: {frames:?}");
    }
}

fn many_producers_one_parking_consumer(producers: u32, n: u8, bound: usize) {
    model(bound, move || {
        let _ = &*CONSUMER;
        let total = producers as usize * n as usize;
        let ch = channel(total, unpark_consumer);
        let handles = spawn_producers(&ch, producers, n);
        let (frames, parks) = consume(&ch, Some(total));
        for h in handles {
            h.join().unwrap();
        }
        assert_all_in_order(&frames, producers, n);
        assert_eq!(WAKES.load(SeqCst), parks, "one wake-up per park");
        assert!(!ch.has_parked_receiver());
        assert_eq!(ch.stats().received, total as u64);
    });
}

#[test]
fn two_producers_one_frame_each() {
    many_producers_one_parking_consumer(2, 1, 2);
}

#[test]
fn two_producers_two_frames_each() {
    many_producers_one_parking_consumer(2, 2, 1);
}

#[test]
fn close_after_the_last_frame_wakes_and_ends_the_consumer() {
    model(2, || {
        let _ = &*CONSUMER;
        let ch = channel(2, unpark_consumer);
        let producer = {
            let ch = ch.clone();
            thread::spawn(move || {
                ch.push(0, &[0]).unwrap();
                ch.push(0, &[1]).unwrap();
                ch.close();
                assert_eq!(ch.push(0, &[2]), Err(PushError::Closed));
            })
        };
        let (frames, parks) = consume(&ch, None);
        producer.join().unwrap();
        assert_all_in_order(&frames, 1, 2);
        assert_eq!(WAKES.load(SeqCst), parks, "one wake-up per park");
    });
}

#[test]
fn a_cancel_racing_a_push_never_loses_the_frame() {
    for input in [Resume::Throw, Resume::Close] {
        model(2, move || {
            let ch = channel(2, unpark_consumer);
            let _ = &*CONSUMER;
            let handles = spawn_producers(&ch, 1, 1);
            let mut buf = [0u8; 4];
            let mut op = RecvOp::new();
            // Either the frame is already there, or the receiver parks and is then cancelled
            // (a task cancel or a timeout) while the push may be landing.
            let received = match op.resume(&ch, Resume::Send, &mut buf) {
                Step::Ready(_) => 1,
                Step::Pending => {
                    let cancelled = op.resume(&ch, input, &mut buf);
                    assert!(matches!(cancelled, Step::Rethrow | Step::Returned));
                    0
                }
                other => panic!("unexpected step {other:?}"),
            };
            for h in handles {
                h.join().unwrap();
            }
            assert!(!ch.has_parked_receiver());
            // The frame was delivered or is still queued for the next receiver: never both,
            // never neither.
            assert_eq!(received + ch.len(), 1);
            if received == 0 {
                let mut next = RecvOp::new();
                assert!(matches!(
                    next.resume(&ch, Resume::Send, &mut buf),
                    Step::Ready(_)
                ));
            }
            assert_eq!(buf[0], 0);
            assert!(WAKES.load(SeqCst) <= 1);
        });
    }
}

#[test]
fn a_parked_sender_is_woken_when_the_consumer_makes_room() {
    model(1, || {
        // Capacity 1 and a waiting send: the producer parks on a full channel until a receive
        // makes room; the consumer parks on an empty one until a push arrives.
        let ch = channel(1, notify_both);
        let producer = {
            let ch = ch.clone();
            thread::spawn(move || {
                for k in 0..2u8 {
                    let mut op = SendOp::new();
                    loop {
                        match op.resume(&ch, Resume::Send, 0, &[k]) {
                            Step::Pending => SEND_READY.wait(),
                            Step::Ready(()) => break,
                            other => panic!("unexpected step {other:?}"),
                        }
                    }
                }
            })
        };
        let mut frames = Vec::new();
        let mut op = RecvOp::new();
        let mut buf = [0u8; 4];
        while frames.len() < 2 {
            match op.resume(&ch, Resume::Send, &mut buf) {
                Step::Pending => RECV_READY.wait(),
                Step::Ready(_) => {
                    frames.push((0, buf[0]));
                    op = RecvOp::new();
                }
                other => panic!("unexpected step {other:?}"),
            }
        }
        producer.join().unwrap();
        assert_all_in_order(&frames, 1, 2);
        assert_eq!(ch.stats().dropped, 0);
    });
}

/// Producer 0 claims a slot and is preempted (anywhere) before publishing it, through a
/// reservation; producer 1 pushes meanwhile, so its frame may be published behind an
/// unpublished one. The consumer parks whenever the head is not ready and must get both frames,
/// woken once per park. With `commit == false` the reservation is aborted: the consumer gets
/// only producer 1's frame and skips the aborted slot silently.
fn reservation_races_a_push(commit: bool) {
    model(2, move || {
        let _ = &*CONSUMER;
        let ch = channel(2, unpark_consumer);
        let reserver = {
            let ch = ch.clone();
            thread::spawn(move || {
                let mut r = ch.reserve(1).unwrap();
                assert!(r.write(0, &[0]));
                if commit {
                    r.commit(0, 1).unwrap();
                }
            })
        };
        let pusher = {
            let ch = ch.clone();
            thread::spawn(move || ch.push(1, &[0]).unwrap())
        };
        let want = if commit { 2 } else { 1 };
        let (frames, parks) = consume(&ch, Some(want));
        reserver.join().unwrap();
        pusher.join().unwrap();
        let mut tags: Vec<u32> = frames.iter().map(|f| f.0).collect();
        tags.sort();
        assert_eq!(tags, if commit { vec![0, 1] } else { vec![1] });
        assert_eq!(WAKES.load(SeqCst), parks, "one wake-up per park");
        assert_eq!(ch.len(), 0, "the aborted slot was freed");
        assert_eq!(ch.stats().sent, want as u64);
    });
}

#[test]
fn a_producer_preempted_between_claim_and_publish_commits() {
    reservation_races_a_push(true);
}

#[test]
fn a_producer_preempted_between_claim_and_publish_aborts() {
    reservation_races_a_push(false);
}

/// `drop_oldest` with capacity 1: a producer overwrites the frame the consumer is taking.
/// Every frame is delivered, overwritten or (when its slot was still being emptied) dropped,
/// exactly once, in order; the consumer ends on close.
#[test]
fn drop_oldest_steals_while_the_consumer_takes() {
    model(2, || {
        let _ = &*CONSUMER;
        let ch = channel_with(1, Overflow::DropOldest, unpark_consumer);
        let producer = {
            let ch = ch.clone();
            thread::spawn(move || {
                let queued = (0..2u8).filter(|&k| push_or_full(&ch, 0, k)).count() as u64;
                ch.close();
                queued
            })
        };
        let (frames, parks) = consume(&ch, None);
        let queued = producer.join().unwrap();
        assert!(frames.windows(2).all(|w| w[0].1 < w[1].1), "{frames:?}");
        let st = ch.stats();
        assert_eq!(st.sent, queued);
        assert_eq!(st.received, frames.len() as u64);
        assert_eq!(st.received + st.overwritten, st.sent, "{st:?}");
        assert_eq!(st.sent + st.dropped, 2, "{st:?}");
        assert_eq!(WAKES.load(SeqCst), parks, "one wake-up per park");
    });
}

/// `drop_oldest` with capacity 1 and two producers overwriting each other (no consumer until
/// both are done): one frame survives, every other one is overwritten or dropped, exactly once.
#[test]
fn drop_oldest_producers_steal_from_each_other() {
    model(2, || {
        let ch = channel_with(1, Overflow::DropOldest, unpark_consumer);
        let producers: Vec<_> = (0..2u32)
            .map(|p| {
                let ch = ch.clone();
                thread::spawn(move || push_or_full(&ch, p, 0) as u64)
            })
            .collect();
        let queued: u64 = producers.into_iter().map(|h| h.join().unwrap()).sum();
        let mut buf = [0u8; 4];
        assert!(ch.try_recv_into(&mut buf).is_ok());
        assert_eq!(ch.try_recv_into(&mut buf), Err(RecvError::Empty));
        let st = ch.stats();
        assert_eq!(st.sent, queued);
        assert_eq!(st.sent + st.dropped, 2, "{st:?}");
        assert_eq!(st.overwritten + 1, st.sent, "{st:?}");
    });
}

/// A push that may find the ring full (`drop_oldest` drops its own frame when the oldest is
/// still being emptied): `true` if queued.
fn push_or_full(ch: &Ch, tag: u32, k: u8) -> bool {
    match ch.push(tag, &[k]) {
        Ok(()) => true,
        Err(PushError::Full) => false,
        Err(e) => panic!("{e:?}"),
    }
}

/// A batch push claims a run of slots with one CAS while another producer pushes and the
/// consumer parks: all frames arrive, each batch in order.
#[test]
fn a_batch_push_races_a_push_and_a_parking_consumer() {
    model(1, || {
        let _ = &*CONSUMER;
        let ch = channel(3, unpark_consumer);
        let batch = {
            let ch = ch.clone();
            thread::spawn(move || {
                let frames: [(u32, &[u8]); 2] = [(0, &[0]), (0, &[1])];
                assert_eq!(ch.push_many(&frames), (2, Ok(())));
            })
        };
        let single = {
            let ch = ch.clone();
            thread::spawn(move || ch.push(1, &[0]).unwrap())
        };
        let (mut frames, parks) = consume(&ch, Some(3));
        batch.join().unwrap();
        single.join().unwrap();
        frames.retain(|f| f.0 == 0);
        assert_eq!(frames, vec![(0, 0), (0, 1)]);
        assert_eq!(WAKES.load(SeqCst), parks, "one wake-up per park");
    });
}
