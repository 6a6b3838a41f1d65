//! Push/pop cost of `awaitq_core::Channel` on a hosted OS (critical-section's `std` impl: one
//! process-wide mutex), next to std's `sync_channel` and a `Mutex<VecDeque<Vec<u8>>>` measured
//! in the same run. A program that prints figures, not a test: nothing here can fail on speed.
//!
//! `cargo bench -p awaitq-core --bench push_pop` (AWAITQ_BENCH_QUICK=1 for a short run).
//! Each figure is the best of several rounds, in ns per frame; frames are 8 bytes (a CAN frame)
//! unless stated.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::mpsc::{sync_channel, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use awaitq_core::{Channel, Config, Overflow, PushError};

const PUSH_TARGET_NS: f64 = 50.0;
const CAPACITY: usize = 256;
const MAX_FRAME: usize = 64;

type Ch = Channel<Vec<u8>>;

fn channel(capacity: usize) -> Ch {
    let cfg = Config::new(capacity, MAX_FRAME, Overflow::Reject);
    Channel::new(vec![0u8; cfg.storage_len()], cfg).unwrap()
}

/// Best (lowest) ns per frame over `rounds` runs of `f`, which handles `frames` frames and
/// returns the nanoseconds it measured.
fn best(rounds: usize, frames: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..rounds)
        .map(|_| f() / frames as f64)
        .fold(f64::INFINITY, f64::min)
}

fn elapsed_ns(f: impl FnOnce()) -> f64 {
    let t0 = Instant::now();
    f();
    t0.elapsed().as_nanos() as f64
}

/// One thread: push a frame, pop it, repeat.
fn awaitq_push_pop(n: usize, len: usize) -> f64 {
    let ch = channel(CAPACITY);
    let payload = vec![0x5A; len];
    let mut buf = [0u8; MAX_FRAME];
    elapsed_ns(|| {
        for i in 0..n {
            ch.push(i as u32, black_box(&payload)).unwrap();
            black_box(ch.try_recv_into(&mut buf).unwrap());
        }
    })
}

/// One thread: pushes alone, into a channel big enough that none fails; draining is not timed.
fn awaitq_push_only(n: usize) -> f64 {
    const BATCH: usize = 4096;
    let ch = channel(BATCH);
    let payload = [0x5Au8; 8];
    let mut buf = [0u8; MAX_FRAME];
    let mut total = 0.0;
    for _ in 0..n / BATCH {
        total += elapsed_ns(|| {
            for i in 0..BATCH {
                ch.push(i as u32, black_box(&payload)).unwrap();
            }
        });
        while ch.try_recv_into(&mut buf).is_ok() {}
    }
    total
}

/// Two threads: a producer pushes `n` frames (retrying on Full), the consumer pops them all.
/// Returns the nanoseconds and the producer's Full retries.
fn awaitq_two_threads(n: usize) -> (f64, u64) {
    let ch = Arc::new(channel(CAPACITY));
    let producer_ch = ch.clone();
    let t0 = Instant::now();
    let producer = thread::spawn(move || {
        let mut retries = 0u64;
        for i in 0..n {
            let payload = (i as u64).to_le_bytes();
            loop {
                match producer_ch.push(0, &payload) {
                    Ok(()) => break,
                    Err(PushError::Full) => {
                        retries += 1;
                        std::hint::spin_loop();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        retries
    });
    let mut buf = [0u8; MAX_FRAME];
    let mut expected = 0u64;
    while expected < n as u64 {
        if let Ok(frame) = ch.try_recv_into(&mut buf) {
            // Cheap check that the figures are for a working channel: in order, none lost.
            let got = u64::from_le_bytes(buf[..frame.len].try_into().unwrap());
            assert_eq!(got, expected);
            expected += 1;
        } else {
            std::hint::spin_loop();
        }
    }
    let ns = t0.elapsed().as_nanos() as f64;
    (ns, producer.join().unwrap())
}

/// std's bounded channel of fixed-size frames, one thread.
fn mpsc_send_recv(n: usize) -> f64 {
    let (tx, rx) = sync_channel::<(u32, [u8; 8])>(CAPACITY);
    elapsed_ns(|| {
        for i in 0..n {
            tx.try_send((i as u32, black_box([0x5A; 8]))).unwrap();
            black_box(rx.try_recv().unwrap());
        }
    })
}

/// std's bounded channel, producer thread and consumer thread.
fn mpsc_two_threads(n: usize) -> f64 {
    let (tx, rx) = sync_channel::<(u32, [u8; 8])>(CAPACITY);
    let t0 = Instant::now();
    let producer = thread::spawn(move || {
        for i in 0..n {
            let mut item = (0, (i as u64).to_le_bytes());
            loop {
                match tx.try_send(item) {
                    Ok(()) => break,
                    Err(TrySendError::Full(back)) => {
                        item = back;
                        std::hint::spin_loop();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
    });
    let mut expected = 0u64;
    while expected < n as u64 {
        if let Ok((_, bytes)) = rx.try_recv() {
            assert_eq!(u64::from_le_bytes(bytes), expected);
            expected += 1;
        } else {
            std::hint::spin_loop();
        }
    }
    producer.join().unwrap();
    t0.elapsed().as_nanos() as f64
}

/// The naive alternative: a mutex around a deque of heap-allocated frames, one thread.
fn mutex_deque_push_pop(n: usize) -> f64 {
    let q = Mutex::new(VecDeque::<(u32, Vec<u8>)>::with_capacity(CAPACITY));
    let payload = [0x5Au8; 8];
    elapsed_ns(|| {
        for i in 0..n {
            q.lock()
                .unwrap()
                .push_back((i as u32, black_box(&payload).to_vec()));
            black_box(q.lock().unwrap().pop_front().unwrap());
        }
    })
}

fn main() {
    let quick = std::env::var_os("AWAITQ_BENCH_QUICK").is_some();
    let (n, rounds) = if quick { (200_000, 3) } else { (2_000_000, 7) };
    let threaded_n = n / 4;
    println!(
        "awaitq-core push/pop: {n} frames per round ({threaded_n} across threads), best of {rounds}, capacity {CAPACITY}, max_frame {MAX_FRAME}{}",
        if quick { " [quick]" } else { "" }
    );

    let push = best(rounds, n, || awaitq_push_only(n));
    let verdict = if push <= PUSH_TARGET_NS {
        "ok"
    } else {
        "MISSED"
    };
    println!("push alone (8 B)            {push:7.1} ns/frame   target <= {PUSH_TARGET_NS} ns: {verdict}");

    let pp8 = best(rounds, n, || awaitq_push_pop(n, 8));
    let pp64 = best(rounds, n, || awaitq_push_pop(n, 64));
    let mpsc1 = best(rounds, n, || mpsc_send_recv(n));
    let deque = best(rounds, n, || mutex_deque_push_pop(n));
    println!("push+pop, 1 thread (8 B)    {pp8:7.1} ns/frame");
    println!("push+pop, 1 thread (64 B)   {pp64:7.1} ns/frame");
    println!(
        "  std sync_channel          {mpsc1:7.1} ns/frame   awaitq/that = {:.2}",
        pp8 / mpsc1
    );
    println!(
        "  Mutex<VecDeque<Vec<u8>>>  {deque:7.1} ns/frame   awaitq/that = {:.2}",
        pp8 / deque
    );

    let mut retries = 0;
    let two = best(rounds, threaded_n, || {
        let (ns, r) = awaitq_two_threads(threaded_n);
        retries = r;
        ns
    });
    let mpsc2 = best(rounds, threaded_n, || mpsc_two_threads(threaded_n));
    println!("push+pop, 2 threads (8 B)   {two:7.1} ns/frame   (producer retries on Full, last round: {retries})");
    println!(
        "  std sync_channel          {mpsc2:7.1} ns/frame   awaitq/that = {:.2}",
        two / mpsc2
    );
}
