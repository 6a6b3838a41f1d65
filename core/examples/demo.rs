//! Several producer threads, paced like buses (CAN at a few kHz, a slower SPI sensor), push
//! tagged frames into one `static` channel; one consumer waits with the awaitable state machine
//! (`RecvOp`) and really sleeps: on `Pending` it parks its thread, and the channel's wake hook
//! unparks it. After a few seconds the producers stop and the channel is closed; the consumer
//! drains it and ends on `Closed`.
//!
//! `cargo run -p awaitq-core --release --example demo [-- --secs N]` (or AWAITQ_DEMO_SECS=N).
//! Exits non-zero if a frame was lost, duplicated or reordered.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::OnceLock;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use awaitq_core::{
    Channel, Config, Overflow, PushError, RecvError, RecvOp, Resume, Step, WakeHook, Word,
};

const CONFIG: Config = Config::new(256, 8, Overflow::Reject);
/// Firmware-style: the storage is a `static` array sized at compile time; nothing allocates.
static CH: Channel<[Word; CONFIG.storage_words()]> = Channel::new_static(CONFIG);

/// The consumer thread, for the wake hook. Set before any producer starts.
static CONSUMER: OnceLock<Thread> = OnceLock::new();
static WAKES: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// The wake hook: called by a producer (outside the channel's critical section) when it turns
/// the parked consumer's empty channel non-empty, and by `close`. `ctx` is unused: the target
/// is a static. Never blocks, never allocates.
extern "C" fn wake_consumer(_ctx: usize) {
    WAKES.fetch_add(1, SeqCst);
    if let Some(consumer) = CONSUMER.get() {
        consumer.unpark();
    }
}

struct Bus {
    name: &'static str,
    tag: u32,
    rate_hz: u32,
}

const BUSES: [Bus; 4] = [
    Bus {
        name: "can0",
        tag: 0x100,
        rate_hz: 4000,
    },
    Bus {
        name: "can1",
        tag: 0x200,
        rate_hz: 2500,
    },
    Bus {
        name: "can2",
        tag: 0x300,
        rate_hz: 1000,
    },
    Bus {
        name: "spi-imu",
        tag: 0x7A0,
        rate_hz: 800,
    },
];

/// What a producer did: frames queued, and pushes refused because the channel was full.
struct Pushed {
    ok: u64,
    full: u64,
}

/// Pushes frames `seq (u32 LE) ++ microseconds since start (u32 LE)` at `bus.rate_hz`, on a
/// deadline schedule (bursts catch up after a late wake-up, as a bus's FIFO would), until STOP.
fn produce(bus: &Bus, start: Instant) -> Pushed {
    let period = Duration::from_secs(1) / bus.rate_hz;
    let mut next = Instant::now();
    let mut pushed = Pushed { ok: 0, full: 0 };
    let mut seq = 0u32;
    while !STOP.load(SeqCst) {
        let now = Instant::now();
        if now < next {
            thread::sleep(next - now);
            continue;
        }
        next += period;
        let mut frame = [0u8; 8];
        frame[..4].copy_from_slice(&seq.to_le_bytes());
        frame[4..].copy_from_slice(&(start.elapsed().as_micros() as u32).to_le_bytes());
        match CH.push(bus.tag, &frame) {
            Ok(()) => pushed.ok += 1,
            // A bus driver drops the frame when the queue is full, and counts it.
            Err(PushError::Full) => pushed.full += 1,
            Err(err) => panic!("{}: {err}", bus.name),
        }
        seq += 1;
    }
    pushed
}

/// Per-bus view of what the consumer received.
#[derive(Default, Clone)]
struct Received {
    count: u64,
    last_seq: Option<u32>,
    out_of_order: u64,
}

struct Consumed {
    per_bus: Vec<Received>,
    parks: usize,
    latencies_us: Vec<u32>,
}

/// Receives until the channel is closed and drained, parking the thread on every `Pending`.
fn consume(start: Instant) -> Consumed {
    let mut out = Consumed {
        per_bus: vec![Received::default(); BUSES.len()],
        parks: 0,
        latencies_us: Vec::with_capacity(1 << 16),
    };
    let mut buf = [0u8; 8];
    let mut op = RecvOp::new();
    loop {
        match op.resume(&CH, Resume::Send, &mut buf) {
            Step::Pending => {
                out.parks += 1;
                // May return spuriously: the next resume simply re-checks (and re-arms).
                thread::park();
            }
            Step::Ready(frame) => {
                op = RecvOp::new();
                let bus = BUSES
                    .iter()
                    .position(|b| b.tag == frame.tag)
                    .expect("known tag");
                let seq = u32::from_le_bytes(buf[..4].try_into().unwrap());
                let sent_us = u32::from_le_bytes(buf[4..8].try_into().unwrap());
                let now_us = start.elapsed().as_micros() as u32;
                out.latencies_us.push(now_us.saturating_sub(sent_us));
                let r = &mut out.per_bus[bus];
                r.count += 1;
                if r.last_seq.is_some_and(|last| seq <= last) {
                    r.out_of_order += 1;
                }
                r.last_seq = Some(seq);
            }
            Step::Failed(RecvError::Closed) => return out,
            other => panic!("unexpected step {other:?}"),
        }
    }
}

fn seconds() -> f64 {
    let mut args = std::env::args().skip(1);
    let from_args = match (args.next().as_deref(), args.next()) {
        (Some("--secs"), Some(n)) => Some(n),
        _ => None,
    };
    from_args
        .or_else(|| std::env::var("AWAITQ_DEMO_SECS").ok())
        .map(|s| {
            s.parse()
                .expect("--secs / AWAITQ_DEMO_SECS must be a number")
        })
        .unwrap_or(3.0)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> ExitCode {
    let secs = seconds();
    println!(
        "awaitq demo: {} producer threads -> 1 parked consumer for {secs} s (capacity {}, max_frame {}, overflow {})",
        BUSES.len(),
        CONFIG.capacity,
        CONFIG.max_frame,
        CONFIG.overflow.name()
    );
    // The consumer is this thread; register it before anything can wake it.
    CONSUMER.set(thread::current()).unwrap();
    CH.set_wake_hook(Some(WakeHook {
        func: wake_consumer,
        ctx: 0,
    }));

    let start = Instant::now();
    let producers: Vec<_> = BUSES
        .iter()
        .map(|bus| thread::spawn(move || produce(bus, start)))
        .collect();
    // The closer: after `secs`, stop the producers, wait for their last push, then close.
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_secs_f64(secs));
        STOP.store(true, SeqCst);
        let pushed: Vec<Pushed> = producers.into_iter().map(|p| p.join().unwrap()).collect();
        CH.close();
        pushed
    });

    let consumed = consume(start);
    let elapsed = start.elapsed().as_secs_f64();
    let pushed = closer.join().unwrap();

    println!(
        "  {:<16} {:>8} {:>9} {:>6} {:>9}  order",
        "producer", "rate", "pushed", "full", "received"
    );
    let mut ok = true;
    for ((bus, p), r) in BUSES.iter().zip(&pushed).zip(&consumed.per_bus) {
        let intact = r.count == p.ok && r.out_of_order == 0;
        ok &= intact;
        println!(
            "  {:<16} {:>6}/s {:>9} {:>6} {:>9}  {}",
            format!("{} (0x{:03X})", bus.name, bus.tag),
            bus.rate_hz,
            p.ok,
            p.full,
            r.count,
            if intact {
                "complete, in order"
            } else {
                "LOST, DUPLICATED OR REORDERED"
            }
        );
    }
    let total: u64 = consumed.per_bus.iter().map(|r| r.count).sum();
    let wakes = WAKES.load(SeqCst);
    println!(
        "  {total} frames in {elapsed:.2} s = {:.0} frames/s; consumer parked {} times, woken {wakes} times by the hook ({:.2} wake-ups per frame)",
        total as f64 / elapsed,
        consumed.parks,
        wakes as f64 / total.max(1) as f64
    );
    let mut lat = consumed.latencies_us;
    lat.sort_unstable();
    println!(
        "  push -> consumer latency: p50 {} us, p99 {} us, max {} us",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0)
    );
    let stats: Vec<String> = CH
        .stats()
        .fields()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("  stats: {}", stats.join(" "));

    // The hook fires at most once per park (a park that ends spuriously is not woken).
    ok &= wakes <= consumed.parks;
    ok &= CH.stats().received == total && !CH.has_parked_receiver();
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("demo: delivery check FAILED");
        ExitCode::FAILURE
    }
}
