//! State-machine property test: random sequences of pushes, receives (plain and through the
//! awaitable [`RecvOp`]), waiting sends ([`SendOp`]), cancels and closes against a channel of
//! random geometry and policy, each step checked against a `VecDeque` model written from the
//! documented rules (not from the implementation): every result, every delivered byte, the
//! length, the closed flag, the parked flag, the stats and the number of wake-ups.

use std::cell::Cell;
use std::collections::VecDeque;

use awaitq_core::{
    Channel, Config, Frame, Overflow, PushError, RecvError, RecvOp, Resume, SendOp, Stats, Step,
    WakeHook, Word,
};
use proptest::prelude::*;

thread_local! {
    // proptest runs all cases of a test on one thread and the hook is called by the pushing
    // (or closing, or popping) thread, so a thread-local counter is exact.
    static WAKES: Cell<usize> = const { Cell::new(0) };
}

extern "C" fn count_wake(ctx: usize) {
    assert_eq!(ctx, 0xC0FFEE, "the hook gets its ctx back");
    WAKES.with(|w| w.set(w.get() + 1));
}

#[derive(Clone, Debug)]
enum Op {
    /// `Channel::push` of `len` bytes (may exceed max_frame).
    Push {
        tag: u32,
        len: usize,
    },
    /// `try_recv_into` a buffer of `buf` bytes (may be too small).
    TryRecv {
        buf: usize,
    },
    /// Resume the current receive operation with `Send`, into `buf` bytes.
    Recv {
        buf: usize,
    },
    /// Resume the current receive operation as a batch (`resume_batch`) into `buf` bytes,
    /// at most `max` frames.
    RecvBatch {
        buf: usize,
        max: usize,
    },
    /// A second receive operation tries to start while the first may be parked.
    RecvOther,
    /// Throw into (or close) the current receive operation.
    CancelRecv {
        throw: bool,
    },
    /// Resume the current waiting send (its payload is fixed when it is created).
    Send {
        tag: u32,
        len: usize,
    },
    /// Throw into (or close) the current waiting send.
    CancelSend {
        throw: bool,
    },
    Close,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u32>(), 0usize..=16).prop_map(|(tag, len)| Op::Push { tag, len }),
        3 => (0usize..=16).prop_map(|buf| Op::TryRecv { buf }),
        3 => (0usize..=16).prop_map(|buf| Op::Recv { buf }),
        2 => (0usize..=64, 0usize..=4).prop_map(|(buf, max)| Op::RecvBatch { buf, max }),
        1 => Just(Op::RecvOther),
        1 => any::<bool>().prop_map(|throw| Op::CancelRecv { throw }),
        2 => (any::<u32>(), 0usize..=16).prop_map(|(tag, len)| Op::Send { tag, len }),
        1 => any::<bool>().prop_map(|throw| Op::CancelSend { throw }),
        1 => Just(Op::Close),
    ]
}

/// The frames a batch receive took, in order.
type Batch = Vec<(u32, Vec<u8>)>;

/// The expected channel, per the documented rules.
struct Model {
    capacity: usize,
    max_frame: usize,
    overflow: Overflow,
    queue: VecDeque<(u32, Vec<u8>)>,
    closed: bool,
    stats: Stats,
    /// The current receive operation is parked (and so the channel is armed for it, until a
    /// wake-up or its completion disarms it).
    recv_parked: bool,
    recv_armed: bool,
    /// The current waiting send is parked, with the frame it will queue.
    send_parked: Option<(u32, Vec<u8>)>,
    /// A sender parked on this channel and nothing has woken it since.
    space_armed: bool,
    wakes: usize,
}

impl Model {
    fn push_result(&mut self, tag: u32, payload: &[u8]) -> Result<(), PushError> {
        if self.closed {
            return Err(PushError::Closed);
        }
        if payload.len() > self.max_frame {
            self.stats.rejected += 1;
            return Err(PushError::Oversize {
                len: payload.len(),
                max_frame: self.max_frame,
            });
        }
        let was_empty = self.queue.is_empty();
        if self.queue.len() == self.capacity {
            match self.overflow {
                Overflow::Reject => {
                    self.stats.dropped += 1;
                    return Err(PushError::Full);
                }
                Overflow::DropOldest => {
                    self.queue.pop_front();
                    self.stats.overwritten += 1;
                }
            }
        }
        self.queue.push_back((tag, payload.to_vec()));
        self.stats.sent += 1;
        self.stats.high_water = self.stats.high_water.max(self.queue.len() as u64);
        if was_empty && self.recv_armed {
            self.recv_armed = false;
            self.wakes += 1;
        }
        Ok(())
    }

    /// Takes the head frame if `buf` bytes hold it; `None` when empty.
    fn pop(&mut self, buf: usize) -> Option<Result<(u32, Vec<u8>), RecvError>> {
        let (_, head) = self.queue.front()?;
        if head.len() > buf {
            return Some(Err(RecvError::BufferTooSmall {
                needed: head.len(),
                got: buf,
            }));
        }
        let was_full = self.queue.len() == self.capacity;
        let frame = self.queue.pop_front().unwrap();
        self.stats.received += 1;
        if was_full && self.space_armed {
            self.space_armed = false;
            self.wakes += 1;
        }
        Some(Ok(frame))
    }

    fn try_recv(&mut self, buf: usize) -> Result<(u32, Vec<u8>), RecvError> {
        match self.pop(buf) {
            Some(result) => result,
            None if self.closed => Err(RecvError::Closed),
            None => Err(RecvError::Empty),
        }
    }

    /// `None` means Pending.
    fn recv(&mut self, buf: usize) -> Option<Result<(u32, Vec<u8>), RecvError>> {
        let result = self.try_recv(buf);
        if result == Err(RecvError::Empty) {
            self.recv_parked = true;
            self.recv_armed = true;
            return None;
        }
        self.recv_parked = false;
        self.recv_armed = false;
        Some(result)
    }

    /// A batch receive: `None` means Pending; else the frames taken (records of `8 + len`
    /// bytes, at most `max` of them, 0 counting as 1, stopping before one that does not fit).
    fn recv_batch(&mut self, buf: usize, max: usize) -> Option<Result<Batch, RecvError>> {
        let first = match self.queue.front() {
            Some((_, head)) if 8 + head.len() > buf => Err(RecvError::BufferTooSmall {
                needed: 8 + head.len(),
                got: buf,
            }),
            Some(_) => Ok(()),
            None if self.closed => Err(RecvError::Closed),
            None => {
                self.recv_parked = true;
                self.recv_armed = true;
                return None;
            }
        };
        self.recv_parked = false;
        self.recv_armed = false;
        if let Err(e) = first {
            return Some(Err(e));
        }
        let (mut taken, mut used) = (Vec::new(), 0);
        while let Some((_, head)) = self.queue.front() {
            if taken.len() == max.max(1) || used + 8 + head.len() > buf {
                break;
            }
            used += 8 + head.len();
            taken.push(self.pop(usize::MAX).unwrap().unwrap());
        }
        Some(Ok(taken))
    }

    fn close(&mut self) {
        self.closed = true;
        // One call of the (shared) hook wakes whatever was parked.
        if std::mem::take(&mut self.recv_armed) | std::mem::take(&mut self.space_armed) {
            self.wakes += 1;
        }
    }
}

fn payload(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add(i as u32) as u8)
        .collect()
}

/// Runs `ops` against a fresh channel and the model, checking every step.
fn run(capacity: usize, max_frame: usize, overflow: Overflow, ops: &[Op]) {
    let cfg = Config::new(capacity, max_frame, overflow);
    let ch = Channel::new(
        (0..cfg.storage_words())
            .map(|_| Word::new(0))
            .collect::<Vec<Word>>(),
        cfg,
    )
    .unwrap();
    WAKES.with(|w| w.set(0));
    ch.set_wake_hook(Some(WakeHook {
        func: count_wake,
        ctx: 0xC0FFEE,
    }));
    let mut m = Model {
        capacity,
        max_frame,
        overflow,
        queue: VecDeque::new(),
        closed: false,
        stats: Stats::default(),
        recv_parked: false,
        recv_armed: false,
        send_parked: None,
        space_armed: false,
        wakes: 0,
    };
    let mut recv_op = RecvOp::new();
    let mut send_op = SendOp::new();
    // A distinct payload per operation, so a frame delivered twice or mixed up shows.
    let mut seq = 0u32;

    for (i, op) in ops.iter().enumerate() {
        seq += 1;
        match *op {
            Op::Push { tag, len } => {
                let data = payload(seq, len);
                let expected = m.push_result(tag, &data);
                assert_eq!(ch.push(tag, &data), expected, "step {i}: {op:?}");
            }
            Op::TryRecv { buf } => {
                let mut dest = vec![0u8; buf];
                let got = ch
                    .try_recv_into(&mut dest)
                    .map(|f| (f.tag, dest[..f.len].to_vec()));
                assert_eq!(got, m.try_recv(buf), "step {i}: {op:?}");
            }
            Op::Recv { buf } => {
                let mut dest = vec![0u8; buf];
                let step = recv_op.resume(&ch, Resume::Send, &mut dest);
                let expected = match m.recv(buf) {
                    None => Step::Pending,
                    Some(Ok((tag, data))) => {
                        assert_eq!(&dest[..data.len()], &data[..], "step {i}: payload");
                        Step::Ready(Frame {
                            tag,
                            len: data.len(),
                        })
                    }
                    Some(Err(err)) => Step::Failed(err),
                };
                assert_eq!(step, expected, "step {i}: {op:?}");
                if step != Step::Pending {
                    recv_op = RecvOp::new();
                }
            }
            Op::RecvBatch { buf, max } => {
                let mut dest = vec![0u8; buf];
                let step = recv_op.resume_batch(&ch, Resume::Send, &mut dest, max);
                let expected = match m.recv_batch(buf, max) {
                    None => Step::Pending,
                    Some(Ok(frames)) => {
                        let used = frames.iter().map(|(_, d)| 8 + d.len()).sum();
                        let got: Vec<_> = awaitq_core::batch_frames(&dest[..used])
                            .map(|(t, p)| (t, p.to_vec()))
                            .collect();
                        assert_eq!(got, frames, "step {i}: records");
                        Step::Ready((frames.len(), used))
                    }
                    Some(Err(err)) => Step::Failed(err),
                };
                assert_eq!(step, expected, "step {i}: {op:?}");
                if step != Step::Pending {
                    recv_op = RecvOp::new();
                }
            }
            Op::RecvOther => {
                // Only meaningful while the current one is parked: a second waiter is refused
                // and takes nothing, even when a frame is queued.
                if m.recv_parked {
                    let step = RecvOp::new().resume(&ch, Resume::Send, &mut [0u8; 16]);
                    assert_eq!(step, Step::Failed(RecvError::Busy), "step {i}");
                }
            }
            Op::CancelRecv { throw } => {
                let (input, expected) = if throw {
                    (Resume::Throw, Step::Rethrow)
                } else {
                    (Resume::Close, Step::Returned)
                };
                assert_eq!(recv_op.resume(&ch, input, &mut []), expected, "step {i}");
                m.recv_parked = false;
                m.recv_armed = false;
                recv_op = RecvOp::new();
            }
            Op::Send { tag, len } => {
                // A parked send is resumed with the frame it was created with.
                let (tag, data) = m
                    .send_parked
                    .take()
                    .unwrap_or_else(|| (tag, payload(seq, len)));
                let step = send_op.resume(&ch, Resume::Send, tag, &data);
                let parks = !m.closed
                    && data.len() <= m.max_frame
                    && m.queue.len() == m.capacity
                    && m.overflow == Overflow::Reject;
                let expected = if parks {
                    m.space_armed = true;
                    m.send_parked = Some((tag, data));
                    Step::Pending
                } else {
                    match m.push_result(tag, &data) {
                        Ok(()) => Step::Ready(()),
                        Err(err) => Step::Failed(err),
                    }
                };
                assert_eq!(step, expected, "step {i}: {op:?}");
                if step != Step::Pending {
                    send_op = SendOp::new();
                }
            }
            Op::CancelSend { throw } => {
                let (input, expected) = if throw {
                    (Resume::Throw, Step::Rethrow)
                } else {
                    (Resume::Close, Step::Returned)
                };
                assert_eq!(send_op.resume(&ch, input, 0, &[]), expected, "step {i}");
                // Documented: the room flag stays armed (other senders may still wait).
                m.send_parked = None;
                send_op = SendOp::new();
            }
            Op::Close => {
                m.close();
                ch.close();
            }
        }
        assert_eq!(ch.len(), m.queue.len(), "step {i}: len after {op:?}");
        assert_eq!(ch.is_empty(), m.queue.is_empty(), "step {i}");
        assert_eq!(ch.is_closed(), m.closed, "step {i}");
        assert_eq!(ch.has_parked_receiver(), m.recv_parked, "step {i}");
        assert_eq!(ch.stats(), m.stats, "step {i}: stats after {op:?}");
        assert_eq!(
            WAKES.with(Cell::get),
            m.wakes,
            "step {i}: wakes after {op:?}"
        );
    }

    // Whatever is left drains in order, then the channel reports its state once more.
    let mut dest = vec![0u8; max_frame];
    while let Some(expected) = m.pop(max_frame) {
        let f = ch.try_recv_into(&mut dest).unwrap();
        assert_eq!(Ok((f.tag, dest[..f.len].to_vec())), expected);
    }
    let end = if m.closed {
        RecvError::Closed
    } else {
        RecvError::Empty
    };
    assert_eq!(ch.try_recv_into(&mut dest), Err(end));
    assert_eq!(ch.stats(), m.stats);
}

// Miri interprets every step, so it gets a handful of short sequences; natively, the default.
const CASES: u32 = if cfg!(miri) { 4 } else { 512 };
const MAX_OPS: usize = if cfg!(miri) { 24 } else { 96 };

fn config() -> ProptestConfig {
    // PROPTEST_CASES (ci/test-core.sh's bounded `fuzz` round) overrides the default.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .filter(|_| !cfg!(miri))
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    let mut config = ProptestConfig::with_cases(cases);
    if cfg!(miri) {
        // No regression files: Miri's isolation forbids the file system.
        config.failure_persistence = None;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn channel_matches_the_model(
        capacity in 1usize..=6,
        max_frame in 1usize..=12,
        drop_oldest in any::<bool>(),
        ops in proptest::collection::vec(op_strategy(), 0..MAX_OPS),
    ) {
        let overflow = if drop_oldest { Overflow::DropOldest } else { Overflow::Reject };
        run(capacity, max_frame, overflow, &ops);
    }
}
