//! Cost of `awaitq_core::Channel` (the lock-free ring) next to the strongest alternatives,
//! measured in the same run: std's `sync_channel`, crossbeam's bounded channel and
//! `ArrayQueue`, and `rtrb` (single producer only). A program that prints figures and ratios,
//! not a test: nothing here can fail on speed.
//!
//! `cargo bench -p awaitq-core --bench push_pop` (AWAITQ_BENCH_QUICK=1 for a short run).
//!
//! Every contender moves fixed-size frames (8 bytes: a CAN frame; 64 bytes) with a tag, through
//! its non-blocking calls, and every side retries the same way when it finds the queue full or
//! empty (a spin hint, a `yield_now` every 64 misses), so the figures compare the queues, not
//! their parking strategies. Capacity 256 everywhere. Each figure is the best of several rounds.

use std::hint::black_box;
use std::sync::mpsc::{sync_channel, TryRecvError, TrySendError};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use awaitq_core::{Channel, Config, Overflow, PushError, Word};
use crossbeam_queue::ArrayQueue;

const CAPACITY: usize = 256;

type Ch = Channel<Vec<Word>>;

fn channel(capacity: usize, max_frame: usize) -> Ch {
    let cfg = Config::new(capacity, max_frame, Overflow::Reject);
    Channel::new(
        (0..cfg.storage_words()).map(|_| Word::new(0)).collect(),
        cfg,
    )
    .unwrap()
}

/// Retries the same way for every contender.
struct Backoff(u32);

impl Backoff {
    fn miss(&mut self) {
        self.0 += 1;
        if self.0 % 64 == 0 {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Best (lowest) of `rounds` runs of `f`, which returns nanoseconds per frame.
fn best(rounds: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..rounds).map(|_| f()).fold(f64::INFINITY, f64::min)
}

/// A frame of `N` bytes carrying `i` in its first 8 bytes.
fn frame<const N: usize>(i: u64) -> [u8; N] {
    let mut f = [0x5Au8; N];
    f[..8].copy_from_slice(&i.to_le_bytes());
    f
}

fn seq_of(f: &[u8]) -> u64 {
    u64::from_le_bytes(f[..8].try_into().unwrap())
}

/// One producer sending `0..n` through `push` (which returns `false` when full), one consumer
/// receiving through `pop` and checking the order. Returns ns per frame.
fn pair(
    n: u64,
    mut push: impl FnMut(u64) -> bool + Send + 'static,
    mut pop: impl FnMut() -> Option<u64>,
) -> f64 {
    let t0 = Instant::now();
    let producer = thread::spawn(move || {
        for i in 0..n {
            let mut b = Backoff(0);
            while !push(i) {
                b.miss();
            }
        }
    });
    let mut b = Backoff(0);
    let mut expected = 0;
    while expected < n {
        match pop() {
            Some(got) => {
                assert_eq!(got, expected, "frames out of order or lost");
                expected += 1;
            }
            None => b.miss(),
        }
    }
    producer.join().unwrap();
    t0.elapsed().as_nanos() as f64 / n as f64
}

fn awaitq_pair<const N: usize>(n: u64) -> f64 {
    let ch = Arc::new(channel(CAPACITY, N));
    let tx = ch.clone();
    let mut buf = [0u8; N];
    pair(
        n,
        move |i| match tx.push(0, &frame::<N>(i)) {
            Ok(()) => true,
            Err(PushError::Full) => false,
            Err(e) => panic!("{e}"),
        },
        move || ch.try_recv_into(&mut buf).ok().map(|_| seq_of(&buf)),
    )
}

fn std_pair<const N: usize>(n: u64) -> f64 {
    let (tx, rx) = sync_channel::<(u32, [u8; N])>(CAPACITY);
    pair(
        n,
        move |i| match tx.try_send((0, frame::<N>(i))) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            Err(e) => panic!("{e}"),
        },
        move || match rx.try_recv() {
            Ok((_, f)) => Some(seq_of(&f)),
            Err(TryRecvError::Empty) => None,
            Err(e) => panic!("{e}"),
        },
    )
}

fn crossbeam_pair<const N: usize>(n: u64) -> f64 {
    let (tx, rx) = crossbeam_channel::bounded::<(u32, [u8; N])>(CAPACITY);
    pair(
        n,
        move |i| tx.try_send((0, frame::<N>(i))).is_ok(),
        move || rx.try_recv().ok().map(|(_, f)| seq_of(&f)),
    )
}

fn array_queue_pair<const N: usize>(n: u64) -> f64 {
    let q = Arc::new(ArrayQueue::<(u32, [u8; N])>::new(CAPACITY));
    let tx = q.clone();
    pair(
        n,
        move |i| tx.push((0, frame::<N>(i))).is_ok(),
        move || q.pop().map(|(_, f)| seq_of(&f)),
    )
}

fn rtrb_pair<const N: usize>(n: u64) -> f64 {
    let (mut tx, mut rx) = rtrb::RingBuffer::<(u32, [u8; N])>::new(CAPACITY);
    pair(
        n,
        move |i| tx.push((0, frame::<N>(i))).is_ok(),
        move || rx.pop().ok().map(|(_, f)| seq_of(&f)),
    )
}

/// `producers` threads each sending `per` frames tagged with their number into one queue,
/// one consumer checking each producer's order. Returns total frames per second.
fn many<Q: Send + Sync + 'static>(
    producers: u32,
    per: u64,
    q: Q,
    push: fn(&Q, u32, u64) -> bool,
    pop: fn(&Q) -> Option<(u32, u64)>,
) -> f64 {
    let q = Arc::new(q);
    let start = Arc::new(Barrier::new(producers as usize + 1));
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let (q, start) = (q.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in 0..per {
                    let mut b = Backoff(0);
                    while !push(&q, p, i) {
                        b.miss();
                    }
                }
            })
        })
        .collect();
    start.wait();
    let t0 = Instant::now();
    let mut next = vec![0u64; producers as usize];
    let total = per * u64::from(producers);
    let mut b = Backoff(0);
    let mut got = 0;
    while got < total {
        match pop(&q) {
            Some((p, i)) => {
                assert_eq!(i, next[p as usize], "producer {p}: out of order or lost");
                next[p as usize] += 1;
                got += 1;
            }
            None => b.miss(),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    for h in handles {
        h.join().unwrap();
    }
    total as f64 / secs
}

fn awaitq_many(producers: u32, per: u64) -> f64 {
    many(
        producers,
        per,
        channel(CAPACITY, 8),
        |q, p, i| match q.push(p, &i.to_le_bytes()) {
            Ok(()) => true,
            Err(PushError::Full) => false,
            Err(e) => panic!("{e}"),
        },
        |q| {
            let mut buf = [0u8; 8];
            q.try_recv_into(&mut buf)
                .ok()
                .map(|f| (f.tag, u64::from_le_bytes(buf)))
        },
    )
}

fn crossbeam_many(producers: u32, per: u64) -> f64 {
    many(
        producers,
        per,
        crossbeam_channel::bounded::<(u32, [u8; 8])>(CAPACITY),
        |(tx, _), p, i| tx.try_send((p, i.to_le_bytes())).is_ok(),
        |(_, rx)| rx.try_recv().ok().map(|(p, f)| (p, u64::from_le_bytes(f))),
    )
}

fn array_queue_many(producers: u32, per: u64) -> f64 {
    many(
        producers,
        per,
        ArrayQueue::<(u32, [u8; 8])>::new(CAPACITY),
        |q, p, i| q.push((p, i.to_le_bytes())).is_ok(),
        |q| q.pop().map(|(p, f)| (p, u64::from_le_bytes(f))),
    )
}

/// `pairs` independent producer/consumer pairs at once, each its own queue; `run` is one
/// pair's benchmark (ns per frame). Returns total frames per second.
fn independent_pairs(pairs: usize, n: u64, run: fn(u64) -> f64) -> f64 {
    let start = Arc::new(Barrier::new(pairs));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..pairs)
        .map(|_| {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                run(n)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    (pairs as u64 * n) as f64 / t0.elapsed().as_secs_f64()
}

/// One thread pushes `n` frames of `N` bytes, in batches of a capacity's worth (drained
/// untimed), with `push` (returns frames pushed by one call). Returns ns per frame.
fn push_only<const N: usize>(n: u64, mut push: impl FnMut(&Ch, u64) -> usize) -> f64 {
    const BATCH: usize = 4096;
    let ch = channel(BATCH, N);
    let mut buf = [0u8; N];
    let mut total = 0.0;
    let mut done = 0;
    while done < n {
        let t0 = Instant::now();
        let mut in_batch = 0;
        while in_batch < BATCH {
            in_batch += push(&ch, done + in_batch as u64);
        }
        total += t0.elapsed().as_nanos() as f64;
        done += BATCH as u64;
        while ch.try_recv_into(&mut buf).is_ok() {}
    }
    total / done as f64
}

fn push_one<const N: usize>(ch: &Ch, i: u64) -> usize {
    ch.push(0, black_box(&frame::<N>(i))).unwrap();
    1
}

fn reserve_commit<const N: usize>(ch: &Ch, i: u64) -> usize {
    let mut r = ch.reserve(N).unwrap();
    r.write(0, black_box(&frame::<N>(i)));
    r.commit(0, N).unwrap();
    1
}

fn push_many16<const N: usize>(ch: &Ch, i: u64) -> usize {
    let frames: [[u8; N]; 16] = std::array::from_fn(|k| frame::<N>(i + k as u64));
    let batch: [(u32, &[u8]); 16] = std::array::from_fn(|k| (0, &frames[k][..]));
    let (n, r) = ch.push_many(black_box(&batch));
    r.unwrap();
    n
}

fn row(name: &str, ours: f64, unit: &str, others: &[(&str, f64)], lower_is_better: bool) {
    println!("{name:<34} awaitq {ours:8.1} {unit}");
    for (other, v) in others {
        let ratio = if lower_is_better { ours / v } else { v / ours };
        println!("  {other:<32} {v:8.1} {unit}   awaitq cost ratio {ratio:.2}x");
    }
}

fn main() {
    let quick = std::env::var_os("AWAITQ_BENCH_QUICK").is_some();
    let (n, rounds) = if quick {
        (100_000u64, 3)
    } else {
        (1_000_000u64, 5)
    };
    println!(
        "awaitq-core ring: {n} frames per round, best of {rounds}, capacity {CAPACITY}{} \
         (ratio = awaitq's cost / the other's: below 1 is faster)",
        if quick { " [quick]" } else { "" }
    );

    // Rounds interleave the contenders (round 1 of each, then round 2 of each...) and each
    // keeps its best: on a shared machine a burst of load then hits every contender alike
    // instead of whichever happened to run during it.
    let interleaved =
        |runs: &[(&'static str, &dyn Fn() -> f64)], lower: bool| -> Vec<(&'static str, f64)> {
            let mut best = vec![if lower { f64::INFINITY } else { 0.0 }; runs.len()];
            for _ in 0..rounds {
                for (b, (_, f)) in best.iter_mut().zip(runs) {
                    let v = f();
                    *b = if lower { b.min(v) } else { b.max(v) };
                }
            }
            runs.iter().map(|r| r.0).zip(best).collect()
        };
    let report = |title: &str, unit: &str, results: Vec<(&'static str, f64)>, lower: bool| {
        let (first, rest) = results.split_first().unwrap();
        row(title, first.1, unit, rest, lower);
    };

    println!("\n1 producer thread -> 1 consumer thread, ns/frame");
    report(
        "8-byte frames",
        "ns/frame",
        interleaved(
            &[
                ("awaitq", &|| awaitq_pair::<8>(n)),
                ("std sync_channel", &|| std_pair::<8>(n)),
                ("crossbeam bounded", &|| crossbeam_pair::<8>(n)),
                ("crossbeam ArrayQueue", &|| array_queue_pair::<8>(n)),
                ("rtrb (SPSC)", &|| rtrb_pair::<8>(n)),
            ],
            true,
        ),
        true,
    );
    report(
        "64-byte frames",
        "ns/frame",
        interleaved(
            &[
                ("awaitq", &|| awaitq_pair::<64>(n)),
                ("std sync_channel", &|| std_pair::<64>(n)),
                ("crossbeam bounded", &|| crossbeam_pair::<64>(n)),
                ("crossbeam ArrayQueue", &|| array_queue_pair::<64>(n)),
                ("rtrb (SPSC)", &|| rtrb_pair::<64>(n)),
            ],
            true,
        ),
        true,
    );

    let per = n / 4;
    let m = |v: f64| v / 1e6;
    println!("\n4 producer threads -> 1 consumer, 8-byte frames, M frames/s (ratio: theirs/ours)");
    report(
        "4 producers, one queue",
        "M/s",
        interleaved(
            &[
                ("awaitq", &|| m(awaitq_many(4, per))),
                ("crossbeam bounded", &|| m(crossbeam_many(4, per))),
                ("crossbeam ArrayQueue", &|| m(array_queue_many(4, per))),
            ],
            false,
        ),
        false,
    );
    println!("\n4 independent pairs at once, 8-byte frames, M frames/s (ratio: theirs/ours)");
    report(
        "4 pairs",
        "M/s",
        interleaved(
            &[
                ("awaitq", &|| m(independent_pairs(4, per, awaitq_pair::<8>))),
                ("crossbeam bounded", &|| {
                    m(independent_pairs(4, per, crossbeam_pair::<8>))
                }),
                ("crossbeam ArrayQueue", &|| {
                    m(independent_pairs(4, per, array_queue_pair::<8>))
                }),
            ],
            false,
        ),
        false,
    );

    println!("\none thread, push only (drained untimed), ns/frame: zero-copy and batch producers");
    for (size, push, reserve, many) in [
        (
            8,
            best(rounds, || push_only::<8>(n, push_one::<8>)),
            best(rounds, || push_only::<8>(n, reserve_commit::<8>)),
            best(rounds, || push_only::<8>(n, push_many16::<8>)),
        ),
        (
            64,
            best(rounds, || push_only::<64>(n, push_one::<64>)),
            best(rounds, || push_only::<64>(n, reserve_commit::<64>)),
            best(rounds, || push_only::<64>(n, push_many16::<64>)),
        ),
    ] {
        println!("  {size:>2}-byte push {push:6.1}   reserve+write+commit {reserve:6.1} ({:.2}x)   push_many(16) {many:6.1} ({:.2}x)", reserve / push, many / push);
    }
}
