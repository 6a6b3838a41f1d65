//! Real threads against one channel: several producers push numbered frames while one consumer
//! receives through the awaitable state machine (parking its thread on `Pending`, woken by the
//! wake hook) and the non-waiting receives, under both overflow policies. Checks per producer:
//! frames arrive in order, none duplicated; under `reject` none lost; under `drop_oldest` every
//! frame is received or counted as overwritten.
//!
//! Meant for ThreadSanitizer too (`ci/test-core.sh`, step `tsan`): `AWAITQ_STRESS_FRAMES`
//! shrinks it there (TSan runs ~10x slower).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use awaitq_core::{
    batch_frames, Channel, Config, Overflow, PushError, RecvError, RecvOp, Resume, Step, WakeHook,
    Word,
};

const PRODUCERS: u32 = 3;

fn frames() -> u32 {
    std::env::var("AWAITQ_STRESS_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// Where the wake hook finds the consumer thread (`ctx` is a leaked `Waiter`).
struct Waiter {
    thread: Mutex<Option<Thread>>,
    woken: AtomicBool,
}

/// The wake hook: `ctx` indexes `WAITERS`. Never blocks beyond a short mutex.
extern "C" fn wake(ctx: usize) {
    let w = waiter(ctx);
    w.woken.store(true, SeqCst);
    if let Some(t) = w.thread.lock().unwrap().as_ref() {
        t.unpark();
    }
}

/// Waiters live for the whole process (leaked); the hook finds them by index, so the test
/// needs no pointer cast (and no `unsafe`).
fn waiter(ctx: usize) -> &'static Waiter {
    WAITERS.lock().unwrap()[ctx]
}

static WAITERS: Mutex<Vec<&'static Waiter>> = Mutex::new(Vec::new());

fn run(overflow: Overflow) {
    let n = frames();
    let config = Config::new(16, 8, overflow);
    let words: Vec<Word> = (0..config.storage_words()).map(|_| Word::new(0)).collect();
    let ch = Arc::new(Channel::new(words, config).unwrap());
    let waiter: &'static Waiter = Box::leak(Box::new(Waiter {
        thread: Mutex::new(Some(thread::current())),
        woken: AtomicBool::new(false),
    }));
    let ctx = {
        let mut ws = WAITERS.lock().unwrap();
        ws.push(waiter);
        ws.len() - 1
    };
    ch.set_wake_hook(Some(WakeHook { func: wake, ctx }));

    // The last producer to finish closes the channel (which wakes a parked consumer).
    let running = Arc::new(AtomicU32::new(PRODUCERS));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let ch = Arc::clone(&ch);
            let running = Arc::clone(&running);
            thread::spawn(move || {
                for k in 0..n {
                    let mut payload = [0u8; 8];
                    payload[..4].copy_from_slice(&k.to_le_bytes());
                    loop {
                        match ch.push(p, &payload) {
                            Ok(()) => break,
                            Err(PushError::Full) => thread::yield_now(),
                            Err(e) => panic!("push: {e}"),
                        }
                    }
                }
                if running.fetch_sub(1, SeqCst) == 1 {
                    ch.close();
                }
            })
        })
        .collect();

    let mut next = [0u32; PRODUCERS as usize];
    let mut received = 0u64;
    let mut buf = [0u8; 8];
    let mut batch = [0u8; 64];
    let check = |tag: u32, payload: &[u8], next: &mut [u32; PRODUCERS as usize]| {
        let k = u32::from_le_bytes(payload[..4].try_into().unwrap());
        let want = &mut next[tag as usize];
        match overflow {
            Overflow::Reject => assert_eq!(k, *want, "producer {tag}: lost or reordered"),
            Overflow::DropOldest => assert!(k >= *want, "producer {tag}: duplicated/reordered"),
        }
        *want = k + 1;
    };
    let mut round = 0u64;
    let mut closed_at_end = false;
    loop {
        round += 1;
        // Mix the three ways to receive.
        match round % 3 {
            0 => match ch.try_recv_into(&mut buf) {
                Ok(f) => {
                    check(f.tag, &buf[..f.len], &mut next);
                    received += 1;
                }
                Err(RecvError::Empty) => thread::yield_now(),
                Err(RecvError::Closed) => {
                    closed_at_end = true;
                    break;
                }
                Err(e) => panic!("try_recv_into: {e}"),
            },
            1 => match ch.try_recv_batch(&mut batch, 4) {
                Ok((_, used)) => {
                    for (tag, p) in batch_frames(&batch[..used]) {
                        check(tag, p, &mut next);
                        received += 1;
                    }
                }
                Err(RecvError::Empty) => thread::yield_now(),
                Err(RecvError::Closed) => {
                    closed_at_end = true;
                    break;
                }
                Err(e) => panic!("try_recv_batch: {e}"),
            },
            _ => {
                let mut op = RecvOp::new();
                loop {
                    waiter.woken.store(false, SeqCst);
                    match op.resume(&ch, Resume::Send, &mut buf) {
                        Step::Ready(f) => {
                            check(f.tag, &buf[..f.len], &mut next);
                            received += 1;
                            break;
                        }
                        Step::Pending => {
                            // Parked: the push (or close) that ends the wait must call the
                            // hook. A lost wake-up fails here after 5 s instead of hanging.
                            let t0 = Instant::now();
                            while !waiter.woken.load(SeqCst) {
                                let left = Duration::from_secs(5).saturating_sub(t0.elapsed());
                                assert!(!left.is_zero(), "a parked receive was not woken");
                                thread::park_timeout(left);
                            }
                        }
                        Step::Failed(RecvError::Closed) => {
                            closed_at_end = true;
                            break;
                        }
                        other => panic!("recv op: {other:?}"),
                    }
                }
                if closed_at_end {
                    break;
                }
            }
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(closed_at_end);
    let stats = ch.stats();
    let sent = u64::from(PRODUCERS) * u64::from(n);
    match overflow {
        Overflow::Reject => {
            assert_eq!(received, sent, "every frame received");
            assert_eq!(next, [n; PRODUCERS as usize]);
        }
        Overflow::DropOldest => {
            assert_eq!(
                received + stats.overwritten,
                sent,
                "received or overwritten"
            );
        }
    }
}

#[test]
fn threads_reject() {
    run(Overflow::Reject);
}

#[test]
fn threads_drop_oldest() {
    run(Overflow::DropOldest);
}
