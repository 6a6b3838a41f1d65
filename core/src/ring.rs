//! The channel's heart: a bounded many-producer ring of fixed-size slots over atomic words,
//! with per-slot sequence numbers (the family of Vyukov's bounded MPMC queue and crossbeam's
//! `ArrayQueue`), plus the flags of the wake protocol. No lock anywhere on a frame's path.
//!
//! # Layout
//!
//! Slot `i` is `slot_words` [`Word`]s at `i * slot_words`: its sequence word, the tag, the
//! payload length, then the payload packed four bytes a word in native byte order (so a
//! binding's raw byte pointer into a reserved slot sees the payload as contiguous bytes).
//!
//! # Positions and stamps
//!
//! `head` and `tail` are 32-bit *stamps*: the slot index in the low bits, then a `mark` bit
//! (set in `tail` once closed), then a lap counter. `one_lap = 2 * mark` with
//! `mark = (capacity + 1).next_power_of_two()`. A slot's sequence word holds, for the position
//! `p` it belongs to: `p` (free for `p`), `p + 1` (`p`'s frame published), and after the frame
//! left, `p + one_lap` (free for the next lap). The sequence is stored relative to the slot
//! index (`stamp - i`), so all-zero storage is a valid empty ring (`static` channels).
//!
//! # Who owns what
//!
//! - `tail`: producers claim position `p` with a CAS `p -> next(p)` after seeing the slot free
//!   for `p`; the claimer alone writes the slot, then publishes `p + 1` (Release).
//! - `head`: the consumer takes position `h` with a CAS `h -> next(h)` after seeing `h`
//!   published, *then* copies the frame out, then frees the slot (`h + one_lap`, Release).
//!   A `drop_oldest` producer that finds the ring full steals the oldest frame the same way:
//!   CAS on `head`, then frees the slot. Whoever wins the CAS on `head` owns the slot until it
//!   frees it, so a slot's words are only ever touched by one side at a time.
//!
//! # Progress guarantee (the exact statement)
//!
//! - Nobody ever waits for anybody: every loop retries only after observing that another
//!   thread completed a step (a CAS on `head` or `tail` that moved it), so the ring is
//!   lock-free, and every operation is bounded when nothing else moves. No operation spins,
//!   sleeps or takes a lock on the frame path. ISRs may push and receive.
//! - A producer preempted between claim and publish leaves its slot free-but-claimed. The
//!   consumer sees the ring *empty at that position* (`Empty`, or parks) even if later
//!   positions are published: frames leave in claim order. When the producer publishes, it
//!   wakes a parked consumer. `close` does not report `Closed` while such a claim is pending.
//! - While that happens a full lap later, producers reaching that slot get `Full` (both
//!   policies: a `drop_oldest` producer cannot overwrite a frame that is still being written,
//!   so it drops its own and counts it in `dropped`).
//! - A slot being copied out by the consumer (or freed by a `drop_oldest` producer) is not yet
//!   free: a producer that reaches it gets `Full` (counted as dropped) rather than waiting.
//!   Both windows are a bounded copy long unless that thread is preempted.
//! - Counters wrap after 2^32 position steps: a thread would have to be preempted between
//!   reading `head`/`tail` and its CAS while about 2^31 frames pass for a stale CAS to succeed
//!   (the same assumption as crossbeam's queues on 32-bit targets).
//!
//! On targets without compare-and-swap the same code runs with each read-modify-write inside a
//! critical section (the `sync` module): the section then bounds every step, never a frame copy.

//! # Figures
//!
//! `cargo bench -p awaitq-core --bench push_pop` prints ns/frame (or frames/s) next to std's
//! `sync_channel`, crossbeam's bounded channel and `ArrayQueue`, and `rtrb`, rounds
//! interleaved so load bursts hit every contender alike. Three quick runs on this project's
//! 2-core VM while other builds kept its load average at 11 - 12 (so the one-producer figures,
//! which depend on both threads being scheduled at once, swing 10x between runs for every
//! contender; rerun on a quiet machine before trusting a ratio):
//!
//! | measure | awaitq | sync_channel | crossbeam bounded | ArrayQueue | rtrb |
//! |---|---|---|---|---|---|
//! | 1P1C 8 B, ns/frame | 125 - 4359 | 201 - 2967 | 80 - 371 | 239 - 4109 | 40 - 994 |
//! | 1P1C 64 B, ns/frame | 135 - 1000 | 54 - 1317 | 116 - 871 | 43 - 1128 | 30 - 104 |
//! | 4 producers, M frames/s | 15.0 - 15.1 | | 4.0 - 15.4 | 2.9 - 16.2 | |
//! | 4 pairs, M frames/s | 19.2 - 19.3 | | 0.7 - 20.6 | 1.0 - 12.4 | |
//!
//! One thread, push only: `push` 9.6 - 9.9 ns (8 B), 15 - 27 ns (64 B);
//! `reserve` + `write` + `commit` 0.92x - 1.09x of `push` (8 B), 0.64x - 1.20x (64 B, one
//! outlier at 10x); `push_many` in batches of 16 0.63x - 0.65x (8 B), 0.46x - 1.09x (64 B).

use crate::sync::{
    add, cas, fence, max, or, set_flag, take_flag, AtomicBool, AtomicCounter, AtomicU32,
    CounterValue, Lock, Ordering::*, Word,
};
use crate::SLOT_HEADER_WORDS;
use crate::{Config, ConfigError, Overflow, PushError, RecvError, Stats, WakeHook};

/// Where a delivered frame landed: its tag and payload length in the destination buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The producer's tag (CAN identifier, chip select, port...).
    pub tag: u32,
    /// Payload length; the payload is `dest[..len]`.
    pub len: usize,
}

/// The length word of a slot whose reservation was aborted: the consumer frees it silently.
const ABORTED: u32 = u32::MAX;

/// Keeps the producers' words and the consumer's words on separate cache lines on hosted
/// targets (no padding on 32-bit MCUs, where RAM matters more than false sharing, nor with the
/// `compact` feature: MicroPython keeps the channel in a GC block that its collector scans
/// word by word, and alignment gaps are bytes never written).
#[cfg_attr(
    all(target_pointer_width = "64", not(feature = "compact")),
    repr(align(128))
)]
struct Side<T>(T);

struct Producers {
    /// Next position to claim; `mark` set once closed.
    tail: AtomicU32,
    /// A recent value of `head` (a lower bound), so `high_water` needs no read of `head` per
    /// push.
    head_seen: AtomicU32,
    sent: AtomicCounter,
}

struct Consumer {
    /// Oldest position not yet taken.
    head: AtomicU32,
    received: AtomicCounter,
    /// A receive operation is parked (between its `Pending` and its completion).
    receiver_parked: AtomicBool,
    /// The parked receiver wants the hook on the next publish.
    armed: AtomicBool,
}

/// A claimed position, owned by the producer that claimed it until it publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    pos: u32,
}

/// The frame at the head, as the consumer saw it before taking it.
enum Head {
    Ready { head: u32, tag: u32, len: u32 },
    Empty,
    Closed,
}

pub(crate) struct Ring<S> {
    storage: S,
    config: Config,
    mark: u32,
    one_lap: u32,
    lap_shift: u32,
    slot_words: usize,
    prod: Side<Producers>,
    cons: Side<Consumer>,
    /// A sender is parked waiting for room; the next freed slot wakes it.
    space_armed: AtomicBool,
    hook: Lock<Option<WakeHook>>,
    dropped: AtomicCounter,
    overwritten: AtomicCounter,
    rejected: AtomicCounter,
    high_water: AtomicCounter,
}

impl<S: AsRef<[Word]>> Ring<S> {
    pub(crate) fn new(storage: S, config: Config) -> Result<Self, ConfigError> {
        let needed = config.validate()?;
        let got = storage.as_ref().len();
        if got < needed {
            return Err(ConfigError::StorageTooSmall { needed, got });
        }
        let ring = Self::new_unchecked(storage, config);
        // Caller storage may be reused: every slot free for its lap-0 position.
        for i in 0..config.capacity {
            ring.words()[i * ring.slot_words].store(0, Relaxed);
        }
        Ok(ring)
    }
}

/// `Relaxed` initialisers in a `const fn`.
macro_rules! counter {
    () => {
        AtomicCounter::new(0)
    };
}

impl<S> Ring<S> {
    /// For `const` construction; the caller has checked the configuration and the storage
    /// length, and the storage is all zero.
    #[cfg(not(loom))]
    pub(crate) const fn new_unchecked(storage: S, config: Config) -> Self {
        let mark = (config.capacity as u32 + 1).next_power_of_two();
        Self {
            storage,
            config,
            mark,
            one_lap: mark << 1,
            lap_shift: (mark << 1).trailing_zeros(),
            slot_words: config.slot_words(),
            prod: Side(Producers {
                tail: AtomicU32::new(0),
                head_seen: AtomicU32::new(0),
                sent: counter!(),
            }),
            cons: Side(Consumer {
                head: AtomicU32::new(0),
                received: counter!(),
                receiver_parked: AtomicBool::new(false),
                armed: AtomicBool::new(false),
            }),
            space_armed: AtomicBool::new(false),
            hook: Lock::new(None),
            dropped: counter!(),
            overwritten: counter!(),
            rejected: counter!(),
            high_water: counter!(),
        }
    }

    /// loom's atomics have no `const fn new`.
    #[cfg(loom)]
    pub(crate) fn new_unchecked(storage: S, config: Config) -> Self {
        let mark = (config.capacity as u32 + 1).next_power_of_two();
        Self {
            storage,
            config,
            mark,
            one_lap: mark << 1,
            lap_shift: (mark << 1).trailing_zeros(),
            slot_words: config.slot_words(),
            prod: Side(Producers {
                tail: AtomicU32::new(0),
                head_seen: AtomicU32::new(0),
                sent: counter!(),
            }),
            cons: Side(Consumer {
                head: AtomicU32::new(0),
                received: counter!(),
                receiver_parked: AtomicBool::new(false),
                armed: AtomicBool::new(false),
            }),
            space_armed: AtomicBool::new(false),
            hook: Lock::new(None),
            dropped: counter!(),
            overwritten: counter!(),
            rejected: counter!(),
            high_water: counter!(),
        }
    }

    pub(crate) fn config(&self) -> Config {
        self.config
    }

    pub(crate) fn storage(&self) -> &S {
        &self.storage
    }

    pub(crate) fn set_hook(&self, hook: Option<WakeHook>) {
        self.hook.set(hook);
    }

    /// The hook, if `flag` was set (and clears it). The flag is read first so the common
    /// case (nobody parked) writes nothing.
    fn take_wake(&self, flag: &AtomicBool) -> Option<WakeHook> {
        if flag.load(Relaxed) && take_flag(flag) {
            self.hook.get()
        } else {
            None
        }
    }

    /// The position after `p`.
    #[inline]
    fn next(&self, p: u32) -> u32 {
        if (p & (self.mark - 1)) + 1 < self.config.capacity as u32 {
            p.wrapping_add(1)
        } else {
            (p & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    #[inline]
    fn index(&self, p: u32) -> usize {
        (p & (self.mark - 1)) as usize
    }

    /// Positions from `from` to `to`, if `to` is not before `from` (within the counters'
    /// wrap-around range); huge when it is.
    fn raw_distance(&self, from: u32, to: u32) -> usize {
        let laps = (to >> self.lap_shift).wrapping_sub(from >> self.lap_shift)
            & (u32::MAX >> self.lap_shift);
        (laps as usize)
            .saturating_mul(self.config.capacity)
            .saturating_add(self.index(to))
            .saturating_sub(self.index(from))
    }

    /// [`Self::raw_distance`] clamped to the capacity (racy reads of `head` and `tail`).
    fn distance(&self, from: u32, to: u32) -> usize {
        self.raw_distance(from, to).min(self.config.capacity)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.prod.0.tail.load(Acquire) & self.mark != 0
    }

    pub(crate) fn receiver_parked(&self) -> bool {
        self.cons.0.receiver_parked.load(Acquire)
    }

    /// Closes the channel: no claim succeeds from now on. Everything parked must re-check,
    /// so both flags fire (one hook call).
    pub(crate) fn close(&self) -> Option<WakeHook> {
        or(&self.prod.0.tail, self.mark);
        // Pairs with the fence between a receiver's (or sender's) arming and its re-check.
        fence(SeqCst);
        let recv = self.take_wake(&self.cons.0.armed);
        let send = self.take_wake(&self.space_armed);
        recv.or(send)
    }

    /// Leaves the parked state: the receiver was cancelled, closed or dropped.
    pub(crate) fn unpark_receiver(&self) {
        set_flag(&self.cons.0.receiver_parked, false);
        set_flag(&self.cons.0.armed, false);
    }

    pub(crate) fn len(&self) -> usize {
        // `head` first: read the other way round, a pop in between could make `len` exceed
        // the truth by a frame or more.
        let head = self.cons.0.head.load(Acquire);
        let tail = self.prod.0.tail.load(Acquire) & !self.mark;
        self.distance(head, tail)
    }

    pub(crate) fn stats(&self) -> Stats {
        // A no-op where counters are 64-bit; widens the 32-bit ones elsewhere.
        #[allow(clippy::useless_conversion)]
        let get = |c: &AtomicCounter| u64::from(c.load(Relaxed));
        Stats {
            sent: get(&self.prod.0.sent),
            received: get(&self.cons.0.received),
            dropped: get(&self.dropped),
            overwritten: get(&self.overwritten),
            rejected: get(&self.rejected),
            high_water: get(&self.high_water),
        }
    }
}

impl<S: AsRef<[Word]>> Ring<S> {
    #[inline]
    fn words(&self) -> &[Word] {
        self.storage.as_ref()
    }

    #[inline]
    fn slot(&self, index: usize) -> &[Word] {
        let at = index * self.slot_words;
        &self.words()[at..at + self.slot_words]
    }

    #[inline]
    fn seq(&self, index: usize, order: crate::sync::Ordering) -> u32 {
        self.slot(index)[0].load(order).wrapping_add(index as u32)
    }

    #[inline]
    fn set_seq(&self, index: usize, stamp: u32) {
        self.slot(index)[0].store(stamp.wrapping_sub(index as u32), Release);
    }

    /// The payload words of slot `index`, for a reservation.
    pub(crate) fn payload_words(&self, index: usize) -> &[Word] {
        &self.slot(index)[SLOT_HEADER_WORDS..]
    }

    /// Where slot `index`'s payload starts in the storage, in words.
    pub(crate) fn payload_offset(&self, index: usize) -> usize {
        index * self.slot_words + SLOT_HEADER_WORDS
    }

    /// The slot whose payload starts at word `offset`, if any.
    pub(crate) fn slot_at_payload_offset(&self, offset: usize) -> Option<usize> {
        let index = offset.checked_sub(SLOT_HEADER_WORDS)? / self.slot_words;
        (index < self.config.capacity && self.payload_offset(index) == offset).then_some(index)
    }

    /// Counts a refused oversize payload and reports it.
    pub(crate) fn oversize(&self, len: usize) -> PushError {
        add(&self.rejected, 1);
        PushError::Oversize {
            len,
            max_frame: self.config.max_frame,
        }
    }

    /// Claims the next position, or reports why not. `count_full`: a `Full` is counted as
    /// dropped (not for a waiting send, which parks instead).
    fn claim(&self, count_full: bool) -> Result<Claim, PushError> {
        let tail_word = &self.prod.0.tail;
        let mut tail = tail_word.load(Relaxed);
        loop {
            if tail & self.mark != 0 {
                return Err(PushError::Closed);
            }
            let index = self.index(tail);
            let stamp = self.seq(index, Acquire);
            if stamp == tail {
                match cas(tail_word, tail, self.next(tail)) {
                    Ok(_) => return Ok(Claim { pos: tail }),
                    Err(now) => {
                        tail = now;
                        continue;
                    }
                }
            }
            let full = stamp.wrapping_add(self.one_lap) == tail.wrapping_add(1);
            let in_flight = stamp.wrapping_add(self.one_lap) == tail;
            if full && self.config.overflow == Overflow::DropOldest {
                match self.steal(tail) {
                    Steal::Stolen | Steal::Moved => {
                        tail = tail_word.load(Relaxed);
                        continue;
                    }
                    Steal::Busy => {}
                }
            }
            if full || in_flight {
                let now = tail_word.load(Relaxed);
                if now == tail {
                    if count_full {
                        add(&self.dropped, 1);
                    }
                    return Err(PushError::Full);
                }
                tail = now;
                continue;
            }
            // Our `tail` is stale: others claimed meanwhile. Read it with a read-modify-write,
            // which sees the latest value, so this retries once per claim made by others
            // (a plain load could legally keep returning the stale value for a while).
            tail = or(tail_word, 0);
        }
    }

    /// `drop_oldest` on a full ring: takes the oldest frame (position `tail - one_lap`, in
    /// the slot `tail` wants) away from the consumer and frees its slot.
    fn steal(&self, tail: u32) -> Steal {
        let head_word = &self.cons.0.head;
        let head = head_word.load(Acquire);
        if head.wrapping_add(self.one_lap) != tail {
            // The oldest frame in this slot was already taken; its taker has not freed it.
            return Steal::Busy;
        }
        let index = self.index(head);
        let aborted = self.slot(index)[2].load(Relaxed) == ABORTED;
        if cas(head_word, head, self.next(head)).is_err() {
            return Steal::Moved;
        }
        self.set_seq(index, tail);
        if !aborted {
            add(&self.overwritten, 1);
        }
        Steal::Stolen
    }

    /// Writes the header and publishes a claimed slot. Returns the hook to call if a parked
    /// receiver was waiting.
    fn publish(&self, claim: Claim, tag: u32, len: u32) -> Option<WakeHook> {
        let index = self.index(claim.pos);
        let slot = self.slot(index);
        slot[1].store(tag, Relaxed);
        slot[2].store(len, Relaxed);
        self.set_seq(index, claim.pos.wrapping_add(1));
        if len != ABORTED {
            add(&self.prod.0.sent, 1);
            self.note_len(self.next(claim.pos));
        }
        // Pairs with the fence between a receiver's arming and its re-check: either it sees
        // this frame, or this sees it armed.
        fence(SeqCst);
        self.take_wake(&self.cons.0.armed)
    }

    /// Raises `high_water` if `tail` makes the ring longer than ever. Reads `head` only when
    /// the cached `head_seen` cannot rule it out.
    fn note_len(&self, tail: u32) {
        let hw = self.high_water.load(Relaxed);
        if hw >= self.config.capacity as CounterValue {
            return;
        }
        let seen = self.prod.0.head_seen.load(Relaxed);
        if (self.distance(seen, tail) as CounterValue) <= hw {
            return;
        }
        let head = self.cons.0.head.load(Relaxed);
        self.prod.0.head_seen.store(head, Relaxed);
        let len = self.distance(head, tail) as CounterValue;
        if len > hw {
            max(&self.high_water, len);
        }
    }

    /// Copies `payload` into slot `index` (four bytes a word, native order).
    fn write_payload(&self, index: usize, payload: &[u8]) {
        let words = self.payload_words(index);
        let mut chunks = payload.chunks_exact(4);
        for (w, c) in words.iter().zip(&mut chunks) {
            w.store(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]), Relaxed);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 4];
            last[..rest.len()].copy_from_slice(rest);
            words[payload.len() / 4].store(u32::from_ne_bytes(last), Relaxed);
        }
    }

    /// Copies `dest.len()` payload bytes out of slot `index`.
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn read_payload(&self, index: usize, dest: &mut [u8]) {
        let words = self.payload_words(index);
        let len = dest.len();
        let mut chunks = dest.chunks_exact_mut(4);
        for (c, w) in (&mut chunks).zip(words) {
            c.copy_from_slice(&w.load(Relaxed).to_ne_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let last = words[len / 4].load(Relaxed).to_ne_bytes();
            rest.copy_from_slice(&last[..rest.len()]);
        }
    }

    /// Queues one frame. Returns the hook to call if this push readied a parked receiver.
    pub(crate) fn push(&self, tag: u32, payload: &[u8]) -> Result<Option<WakeHook>, PushError> {
        if payload.len() > self.config.max_frame {
            if self.is_closed() {
                return Err(PushError::Closed);
            }
            return Err(self.oversize(payload.len()));
        }
        let claim = self.claim(true)?;
        self.write_payload(self.index(claim.pos), payload);
        // max_frame <= MAX_FRAME_LIMIT, so the length always fits in a u32.
        Ok(self.publish(claim, tag, payload.len() as u32))
    }

    /// Queues frames in order with as few claims as possible; stops at the first that cannot
    /// be queued. Returns how many were queued, the first error, and the hook to call.
    pub(crate) fn push_many(
        &self,
        frames: &[(u32, &[u8])],
    ) -> (usize, Result<(), PushError>, Option<WakeHook>) {
        let mut done = 0;
        let mut wake = None;
        while done < frames.len() {
            let (tag, payload) = frames[done];
            if payload.len() > self.config.max_frame {
                let err = if self.is_closed() {
                    PushError::Closed
                } else {
                    self.oversize(payload.len())
                };
                return (done, Err(err), wake);
            }
            // Claim a run of free slots with one CAS, up to the next oversize frame.
            let want = frames[done..]
                .iter()
                .take_while(|(_, p)| p.len() <= self.config.max_frame)
                .count();
            let (first, n) = match self.claim_run(want) {
                Some(run) => run,
                None => match self.claim(true) {
                    Ok(c) => (c.pos, 1),
                    Err(e) => return (done, Err(e), wake),
                },
            };
            let mut pos = first;
            for &(tag, payload) in &frames[done..done + n] {
                self.write_payload(self.index(pos), payload);
                let index = self.index(pos);
                let slot = self.slot(index);
                slot[1].store(tag, Relaxed);
                slot[2].store(payload.len() as u32, Relaxed);
                self.set_seq(index, pos.wrapping_add(1));
                pos = self.next(pos);
            }
            let _ = tag;
            add(&self.prod.0.sent, n as CounterValue);
            self.note_len(pos);
            fence(SeqCst);
            wake = wake.or(self.take_wake(&self.cons.0.armed));
            done += n;
        }
        (done, Ok(()), wake)
    }

    /// Claims up to `want` consecutive free positions with one CAS: `(first, count)`, or
    /// `None` when the slot at the tail is not free (the caller falls back to [`Self::claim`],
    /// which handles full, closed and `drop_oldest`).
    fn claim_run(&self, want: usize) -> Option<(u32, usize)> {
        let tail_word = &self.prod.0.tail;
        let mut tail = tail_word.load(Relaxed);
        loop {
            if tail & self.mark != 0 {
                return None;
            }
            let (mut end, mut n) = (tail, 0);
            while n < want && self.seq(self.index(end), Acquire) == end {
                end = self.next(end);
                n += 1;
            }
            if n == 0 {
                return None;
            }
            match cas(tail_word, tail, end) {
                Ok(_) => return Some((tail, n)),
                Err(now) => tail = now,
            }
        }
    }

    /// Claims a slot for a frame of up to `len` bytes that the caller writes in place.
    pub(crate) fn reserve(&self, len: usize) -> Result<(Claim, usize), PushError> {
        if len > self.config.max_frame {
            if self.is_closed() {
                return Err(PushError::Closed);
            }
            return Err(self.oversize(len));
        }
        let claim = self.claim(true)?;
        Ok((claim, self.index(claim.pos)))
    }

    /// The claim on slot `index`, if that slot is claimed and not yet published (a
    /// reservation handed to C as a pointer and given back).
    pub(crate) fn claimed(&self, index: usize) -> Option<Claim> {
        if index >= self.config.capacity {
            return None;
        }
        let pos = self.seq(index, Acquire);
        let tail = self.prod.0.tail.load(Acquire) & !self.mark;
        // Free-but-claimed: the slot waits for position `pos`, and the tail is past it.
        let behind = self.raw_distance(pos, tail);
        (self.index(pos) == index && (1..=self.config.capacity).contains(&behind))
            .then_some(Claim { pos })
    }

    /// Publishes a reservation of `len` bytes (already written in place).
    pub(crate) fn commit(&self, claim: Claim, tag: u32, len: usize) -> Option<WakeHook> {
        debug_assert!(len <= self.config.max_frame);
        self.publish(claim, tag, len as u32)
    }

    /// Gives a reservation up. If it is still the latest claim, the claim is undone (a CAS
    /// `tail: next(pos) -> pos`); otherwise the slot is published as an aborted record that
    /// the consumer frees without delivering, so an abort never blocks the ring. Until the
    /// consumer passes it, an aborted record holds its slot (and counts in `len`).
    pub(crate) fn abort(&self, claim: Claim) -> Option<WakeHook> {
        // The latest claim (nobody claimed after it, not closed since) is simply undone.
        if cas(&self.prod.0.tail, self.next(claim.pos), claim.pos).is_ok() {
            return None;
        }
        // Otherwise a parked receiver may be woken and find nothing at first: a spurious
        // wake, which the protocol allows.
        self.publish(claim, 0, ABORTED)
    }

    /// Finishes what vanished threads left half done: every position claimed but not
    /// published is published as an aborted record, and every slot taken (by the consumer or a
    /// `drop_oldest` steal) but not freed is freed. Correct only while no other thread touches
    /// the ring: in a fork() child, whose other threads are gone. Returns the slots fixed.
    pub(crate) fn recover_orphans(&self) -> usize {
        let head = self.cons.0.head.load(Acquire);
        let tail = self.prod.0.tail.load(Acquire) & !self.mark;
        let mut fixed = 0;
        let mut pos = head;
        for _ in 0..self.config.capacity {
            let index = self.index(pos);
            let stamp = self.seq(index, Acquire);
            let claimed = self.raw_distance(head, tail) > self.raw_distance(head, pos);
            if claimed && stamp == pos {
                // Claimed, never published: skip it as an aborted record.
                let slot = self.slot(index);
                slot[1].store(0, Relaxed);
                slot[2].store(ABORTED, Relaxed);
                self.set_seq(index, pos.wrapping_add(1));
                fixed += 1;
            } else if !claimed && stamp.wrapping_add(self.one_lap) == pos.wrapping_add(1) {
                // Last lap's frame was taken (head is past it) but its slot never freed.
                self.set_seq(index, pos);
                fixed += 1;
            }
            pos = self.next(pos);
        }
        fixed
    }

    /// The frame at the head, without taking it.
    // Forced inline, with `take` and `read_payload`: the ready receive path (`pop_into` inside
    // `take_or_park`) saves ~46 of ~1,250 instructions per CPython receive (bench/instr.py).
    // Not in `compact` (firmware) builds, where the size-optimised text has a 16 KiB cap.
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn peek(&self) -> Head {
        let head_word = &self.cons.0.head;
        let mut head = head_word.load(Acquire);
        loop {
            let index = self.index(head);
            if self.seq(index, Acquire) == head.wrapping_add(1) {
                let slot = self.slot(index);
                let (tag, len) = (slot[1].load(Relaxed), slot[2].load(Relaxed));
                return Head::Ready { head, tag, len };
            }
            let now = head_word.load(Acquire);
            if now == head {
                // Not published: empty, or a claim still being written.
                let tail = self.prod.0.tail.load(Acquire);
                return if tail == head | self.mark {
                    Head::Closed
                } else {
                    Head::Empty
                };
            }
            // A drop_oldest producer took the head frame meanwhile.
            head = now;
        }
    }

    /// Takes position `head` (seen published) into `dest[..len]`; `false` if a `drop_oldest`
    /// producer took it first. Frees the slot after copying.
    #[cfg_attr(not(feature = "compact"), inline(always))]
    fn take(&self, head: u32, dest: &mut [u8]) -> bool {
        if cas(&self.cons.0.head, head, self.next(head)).is_err() {
            return false;
        }
        let index = self.index(head);
        self.read_payload(index, dest);
        self.set_seq(index, head.wrapping_add(self.one_lap));
        true
    }

    /// Frees an aborted reservation's slot without delivering anything; wakes a parked
    /// sender for the room (the caller may return an error, which carries no hook).
    fn skip(&self, head: u32) {
        if self.take(head, &mut []) {
            crate::wake::fire(self.room_wake());
        }
    }

    /// After freeing slots: the hook, if a sender was parked waiting for room.
    fn room_wake(&self) -> Option<WakeHook> {
        // Pairs with the fence between a sender's arming and its retry.
        fence(SeqCst);
        self.take_wake(&self.space_armed)
    }

    /// Takes the head frame into `dest` (which must hold it; otherwise the frame stays).
    pub(crate) fn pop_into(&self, dest: &mut [u8]) -> Result<(Frame, Option<WakeHook>), RecvError> {
        loop {
            match self.peek() {
                Head::Empty => return Err(RecvError::Empty),
                Head::Closed => return Err(RecvError::Closed),
                Head::Ready { head, len, .. } if len == ABORTED => self.skip(head),
                Head::Ready { head, tag, len } => {
                    let len = len as usize;
                    let Some(dest) = dest.get_mut(..len) else {
                        return Err(RecvError::BufferTooSmall {
                            needed: len,
                            got: dest.len(),
                        });
                    };
                    if self.take(head, dest) {
                        add(&self.cons.0.received, 1);
                        return Ok((Frame { tag, len }, self.room_wake()));
                    }
                }
            }
        }
    }

    /// Takes up to `max` frames into `dest` as packed records (tag u32 LE, length u32 LE,
    /// payload), stopping before the first that does not fit.
    pub(crate) fn pop_batch(
        &self,
        dest: &mut [u8],
        max: usize,
    ) -> Result<((usize, usize), Option<WakeHook>), RecvError> {
        let (mut frames, mut used) = (0, 0);
        let stop = loop {
            if frames == max {
                break None;
            }
            match self.peek() {
                Head::Empty => break Some(RecvError::Empty),
                Head::Closed => break Some(RecvError::Closed),
                Head::Ready { head, len, .. } if len == ABORTED => self.skip(head),
                Head::Ready { head, tag, len } => {
                    let record = crate::batch::record_len(len as usize);
                    let Some(out) = dest.get_mut(used..used + record) else {
                        if frames == 0 {
                            return Err(RecvError::BufferTooSmall {
                                needed: record,
                                got: dest.len(),
                            });
                        }
                        break None;
                    };
                    let (header, payload) = out.split_at_mut(crate::batch::RECORD_HEADER);
                    if self.take(head, payload) {
                        crate::batch::write_header(header, tag, len);
                        used += record;
                        frames += 1;
                    }
                }
            }
        };
        if frames == 0 {
            return Err(stop.unwrap_or(RecvError::Empty));
        }
        add(&self.cons.0.received, frames as CounterValue);
        Ok(((frames, used), self.room_wake()))
    }

    /// The receive step of the wake protocol: take a frame if one is ready, else report
    /// closed, else arm, re-check, and park. `parked` says whether the caller is the receiver
    /// already parked here (a re-check after a wake-up) or a new one.
    pub(crate) fn recv_or_park(
        &self,
        parked: bool,
        dest: &mut [u8],
    ) -> Result<(Frame, Option<WakeHook>), RecvError> {
        self.take_or_park(parked, || self.pop_into(dest))
    }

    /// [`recv_or_park`](Self::recv_or_park) delivering a batch: up to `max` frames as packed
    /// records (see [`pop_batch`](Self::pop_batch)); at least one, or it parks.
    pub(crate) fn recv_batch_or_park(
        &self,
        parked: bool,
        dest: &mut [u8],
        max: usize,
    ) -> Result<((usize, usize), Option<WakeHook>), RecvError> {
        // `max == 0` would take nothing and park for ever: one frame at least.
        let max = max.max(1);
        self.take_or_park(parked, || self.pop_batch(dest, max))
    }

    /// The wake protocol around a taking step (`pop_into` or `pop_batch`), which either takes
    /// something or reports `Empty` / an error without taking anything.
    fn take_or_park<T>(
        &self,
        parked: bool,
        mut pop: impl FnMut() -> Result<(T, Option<WakeHook>), RecvError>,
    ) -> Result<(T, Option<WakeHook>), RecvError> {
        if !parked && self.receiver_parked() {
            return Err(RecvError::Busy);
        }
        match pop() {
            Err(RecvError::Empty) => {
                set_flag(&self.cons.0.receiver_parked, true);
                loop {
                    set_flag(&self.cons.0.armed, true);
                    // Register, then re-check: a publish after the fence sees `armed`; one
                    // before it is seen by the re-check. Pairs with the fence in `publish` and
                    // `close`.
                    fence(SeqCst);
                    if let Head::Empty = self.peek() {
                        return Err(RecvError::Empty);
                    }
                    // Something is there. Disarm before taking it: if a producer already took
                    // the flag, its wake is on the way, so stay parked and let that wake
                    // deliver (one wake per park, none spent on a receiver that did not park).
                    if !take_flag(&self.cons.0.armed) {
                        return Err(RecvError::Empty);
                    }
                    match pop() {
                        // A drop_oldest producer took the frame meanwhile: arm again.
                        Err(RecvError::Empty) => continue,
                        other => {
                            self.unpark_receiver();
                            return other;
                        }
                    }
                }
            }
            other => {
                if parked {
                    self.unpark_receiver();
                }
                other
            }
        }
    }

    /// The waiting send's step: queue the frame, or, when the ring is full, arm for room and
    /// return `Ok(None)` ("parked") instead of dropping. A parked send is not counted as
    /// dropped. `Ok(Some(wake))` when queued.
    pub(crate) fn send_or_park(
        &self,
        tag: u32,
        payload: &[u8],
    ) -> Result<Option<Option<WakeHook>>, PushError> {
        if payload.len() > self.config.max_frame {
            return self.push(tag, payload).map(Some);
        }
        let claim = match self.claim(false) {
            Err(PushError::Full) => {
                set_flag(&self.space_armed, true);
                // Register, then retry: pairs with the fence in `room_wake` and `close`.
                fence(SeqCst);
                match self.claim(false) {
                    Err(PushError::Full) => return Ok(None),
                    other => other?,
                }
            }
            other => other?,
        };
        self.write_payload(self.index(claim.pos), payload);
        Ok(Some(self.publish(claim, tag, payload.len() as u32)))
    }
}

enum Steal {
    /// The oldest frame was discarded and its slot freed: retry the claim.
    Stolen,
    /// `head` moved meanwhile: retry the claim.
    Moved,
    /// The slot is still being emptied by whoever took its frame: do not wait.
    Busy,
}

#[cfg(test)]
mod tests;
