//! [`Channel`]: the public face of the [`ring`](crate::ring). Every method is a few atomic
//! steps plus, at most, one wake hook call after them.

use crate::ring::{Claim, Ring};
use crate::wake::fire;
use crate::{Config, ConfigError, Frame, PushError, RecvError, Stats, WakeHook, Word};

/// A bounded, many-producer / one-consumer channel of tagged byte frames.
///
/// `S` is the storage, atomic 32-bit [`Word`]s: `[Word; N]` for a `static` channel
/// ([`Channel::new_static`]), a `&'static [Word]`, `Box<[Word]>` or `Vec<Word>` for one sized
/// at run time ([`Channel::new`]); [`Config::storage_words`] gives `N`. Frames are copied in by
/// [`push`](Self::push) (or written in place through [`reserve`](Self::reserve)) and out by
/// the receive methods; nothing allocates.
///
/// # Progress guarantee
///
/// Lock-free where the target has compare-and-swap: no operation waits for another thread,
/// spins or takes a lock on a frame's path, so producers may be threads, RTOS tasks and ISRs
/// at once, on any number of cores. A producer never waits for the consumer and the consumer
/// never waits for a producer: a slot still being written or copied out reads as "not ready"
/// (`Empty` for the consumer, `Full` for a producer). The exact statement, and what the
/// consumer sees while a producer is preempted between claiming a slot and publishing it, is
/// in [the ring's docs](crate::ring). Without compare-and-swap (`thumbv6m`, or the
/// `emulate-cas` feature) each read-modify-write is one critical section of a few
/// instructions; then call it from an ISR only where that section masks the ISR.
///
/// The wake hook itself ([`set_wake_hook`](Self::set_wake_hook)) is kept behind the
/// critical section and read only when a parked operation is woken, never per frame.
///
/// ```
/// use awaitq_core::{Channel, Config, Overflow};
/// use awaitq_core::Word;
/// static CH: Channel<[Word; Config::new(4, 8, Overflow::Reject).storage_words()]> =
///     Channel::new_static(Config::new(4, 8, Overflow::Reject));
///
/// CH.push(0x123, b"hello").unwrap();          // from an ISR, a thread, a task
/// let mut buf = [0u8; 8];
/// let frame = CH.try_recv_into(&mut buf).unwrap();
/// assert_eq!((frame.tag, &buf[..frame.len]), (0x123, &b"hello"[..]));
/// ```
pub struct Channel<S> {
    ring: Ring<S>,
}

#[cfg(not(loom))]
impl<const N: usize> Channel<[Word; N]> {
    /// A channel over inline storage, usable in a `static`. Size `N` with
    /// [`Config::storage_words`]; an invalid configuration or a short `N` fails to compile when
    /// used in a `static` (or panics at run time otherwise).
    pub const fn new_static(config: Config) -> Self {
        assert!(
            N >= config.storage_words(),
            "storage too small for this configuration"
        );
        Self {
            ring: Ring::new_unchecked([const { Word::new(0) }; N], config),
        }
    }
}

impl<S: AsRef<[Word]>> Channel<S> {
    /// A channel over `storage`, which must be at least [`Config::storage_words`] words. Its
    /// contents do not matter: the slots are reset.
    pub fn new(storage: S, config: Config) -> Result<Self, ConfigError> {
        Ok(Self {
            ring: Ring::new(storage, config)?,
        })
    }

    /// Queues a frame. Never blocks, never allocates; see the type's progress guarantee.
    /// Safe from any thread or ISR.
    pub fn push(&self, tag: u32, payload: &[u8]) -> Result<(), PushError> {
        fire(self.ring.push(tag, payload)?);
        Ok(())
    }

    /// Queues `frames` in order, claiming runs of free slots with one atomic step each, and
    /// stops at the first frame that cannot be queued. Returns how many were queued and, if
    /// not all, why the next one was not (the same errors and counters as [`push`](Self::push)).
    /// At most one wake hook call for the whole batch.
    pub fn push_many(&self, frames: &[(u32, &[u8])]) -> (usize, Result<(), PushError>) {
        let (n, result, wake) = self.ring.push_many(frames);
        fire(wake);
        (n, result)
    }

    /// Claims a slot for a frame of up to `len` bytes, to be written in place (zero-copy: a
    /// DMA completion, a parser writing straight into the queue) and then
    /// [`commit`](Reservation::commit)ted. Dropping the [`Reservation`] aborts it. Fails as
    /// [`push`](Self::push) would (`Full` counted as dropped, `Oversize` as rejected).
    ///
    /// While reserved, the slot is "claimed, not published": the consumer sees the channel
    /// empty at that position (frames leave in claim order), so commit promptly.
    pub fn reserve(&self, len: usize) -> Result<Reservation<'_, S>, PushError> {
        let (claim, slot) = self.ring.reserve(len)?;
        Ok(Reservation {
            ch: self,
            claim,
            slot,
            len,
        })
    }

    /// The reservation of `slot` (from [`Reservation::into_slot`]) back as a guard, if that
    /// slot is claimed and not yet published; `None` otherwise. For bindings that hand a
    /// reservation to C as a pointer: the slot number is all they keep.
    pub fn reservation(&self, slot: usize) -> Option<Reservation<'_, S>> {
        let claim = self.ring.claimed(slot)?;
        Some(Reservation {
            ch: self,
            claim,
            slot,
            len: self.ring.config().max_frame,
        })
    }

    /// Where slot `slot`'s payload starts in the storage, in words: a binding turns
    /// `storage.as_ptr() + offset` into the byte pointer C writes through.
    pub fn payload_offset(&self, slot: usize) -> usize {
        self.ring.payload_offset(slot)
    }

    /// The slot whose payload starts `offset` words into the storage, if any (the inverse of
    /// [`payload_offset`](Self::payload_offset)).
    pub fn slot_at_payload_offset(&self, offset: usize) -> Option<usize> {
        self.ring.slot_at_payload_offset(offset)
    }

    /// Repairs the channel in a fork() child: a producer or consumer thread of the parent
    /// that was between two steps of an operation when the process forked does not exist in
    /// the child, so its claimed slot would never be published (the consumer would wait for it
    /// forever) or its taken slot never freed. This publishes every such claim as an aborted
    /// record (skipped, nothing delivered) and frees every such slot. Returns how many slots it
    /// fixed. Call it only while no other thread can touch the channel (a binding's
    /// after-fork-in-child hook): a live thread's claim would be aborted under it.
    pub fn recover_after_fork(&self) -> usize {
        self.ring.recover_orphans()
    }

    /// The storage, for a binding that needs its address.
    pub fn storage(&self) -> &S {
        self.ring.storage()
    }

    /// Takes the next frame into `dest` without waiting. The frame stays queued if `dest` is
    /// too small ([`RecvError::BufferTooSmall`]). [`RecvError::Closed`] only once drained.
    pub fn try_recv_into(&self, dest: &mut [u8]) -> Result<Frame, RecvError> {
        let (frame, wake) = self.ring.pop_into(dest)?;
        fire(wake);
        Ok(frame)
    }

    /// Takes up to `max` queued frames at once (a binding's `recv_many`: one call and at most
    /// one wake per batch instead of one per frame). They are packed into `dest` as records,
    /// tag (u32 LE), length (u32 LE), payload, stopping before the first record that does not
    /// fit; read them back with [`batch_frames`](crate::batch_frames). Returns `(frames,
    /// bytes)`. Errors as [`try_recv_into`](Self::try_recv_into) when nothing is taken
    /// (`BufferTooSmall` reports the record length).
    pub fn try_recv_batch(&self, dest: &mut [u8], max: usize) -> Result<(usize, usize), RecvError> {
        let (taken, wake) = self.ring.pop_batch(dest, max)?;
        fire(wake);
        Ok(taken)
    }

    /// One step of a receive operation: deliver, or arm and report [`RecvError::Empty`]
    /// (meaning "parked"). Used by [`RecvOp`](crate::RecvOp); see [`crate::wake`].
    pub(crate) fn recv_or_park(&self, parked: bool, dest: &mut [u8]) -> Result<Frame, RecvError> {
        let (frame, wake) = self.ring.recv_or_park(parked, dest)?;
        fire(wake);
        Ok(frame)
    }

    /// [`recv_or_park`](Self::recv_or_park) delivering a batch: `(frames, bytes)` packed as
    /// [`try_recv_batch`](Self::try_recv_batch) packs them. Used by
    /// [`RecvOp::resume_batch`](crate::RecvOp::resume_batch).
    pub(crate) fn recv_batch_or_park(
        &self,
        parked: bool,
        dest: &mut [u8],
        max: usize,
    ) -> Result<(usize, usize), RecvError> {
        let (taken, wake) = self.ring.recv_batch_or_park(parked, dest, max)?;
        fire(wake);
        Ok(taken)
    }

    /// One step of a waiting send: push, or arm for room and report "parked" when the channel
    /// is full. Used by
    /// [`SendOp`](crate::SendOp). A parked send is not counted as dropped.
    pub(crate) fn send_or_park(&self, tag: u32, payload: &[u8]) -> Result<bool, PushError> {
        match self.ring.send_or_park(tag, payload)? {
            None => Ok(true),
            Some(wake) => {
                fire(wake);
                Ok(false)
            }
        }
    }

    /// Closes the channel. Producers get [`PushError::Closed`] from now on; the consumer
    /// drains what is queued, then gets [`RecvError::Closed`]. Idempotent.
    pub fn close(&self) {
        fire(self.ring.close());
    }

    /// Installs (or removes) the hook called on parked -> ready transitions.
    pub fn set_wake_hook(&self, hook: Option<WakeHook>) {
        self.ring.set_hook(hook);
    }

    /// Leaves the parked state (the receiver was cancelled or dropped). No frame moves.
    pub(crate) fn unpark(&self) {
        self.ring.unpark_receiver();
    }

    /// Frames queued now, counting slots claimed but not yet published (a snapshot: other
    /// threads may move it at once).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// `true` when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// `true` while a receive operation is parked on this channel.
    pub fn has_parked_receiver(&self) -> bool {
        self.ring.receiver_parked()
    }

    /// The channel's configuration.
    pub fn config(&self) -> Config {
        self.ring.config()
    }

    /// A snapshot of the counters. Each counter is exact, but they are read one after the
    /// other while producers may run, so they need not add up at one instant. On targets
    /// without 64-bit atomics they are 32-bit and wrap.
    pub fn stats(&self) -> Stats {
        self.ring.stats()
    }
}

/// A claimed slot being written in place ([`Channel::reserve`]). Commit it with
/// [`commit`](Self::commit); dropping it aborts (the slot is released as an empty record the
/// consumer skips, so the claim is never lost and nothing is delivered).
#[must_use = "a reservation is aborted when dropped"]
pub struct Reservation<'a, S: AsRef<[Word]>> {
    ch: &'a Channel<S>,
    claim: Claim,
    slot: usize,
    len: usize,
}

impl<'a, S: AsRef<[Word]>> Reservation<'a, S> {
    /// The slot's payload words (`max_frame` bytes rounded up, four bytes a word in native
    /// byte order). Only this reservation writes them until it commits or aborts.
    pub fn words(&self) -> &'a [Word] {
        self.ch.ring.payload_words(self.slot)
    }

    /// Copies `bytes` into the payload at byte `offset` (a multiple of 4, or the end of the
    /// bytes written so far when that is word-aligned). Returns `false`, writing nothing, if it
    /// would run past the reserved length or `offset` is not a multiple of 4.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) -> bool {
        let fits = offset
            .checked_add(bytes.len())
            .is_some_and(|end| end <= self.len);
        if !fits || offset % 4 != 0 {
            return false;
        }
        let words = &self.words()[offset / 4..];
        let mut chunks = bytes.chunks_exact(4);
        for (w, c) in words.iter().zip(&mut chunks) {
            w.store(
                u32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
                core::sync::atomic::Ordering::Relaxed,
            );
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 4];
            last[..rest.len()].copy_from_slice(rest);
            words[bytes.len() / 4].store(
                u32::from_ne_bytes(last),
                core::sync::atomic::Ordering::Relaxed,
            );
        }
        true
    }

    /// The slot number, for [`Channel::reservation`] and [`Channel::payload_offset`].
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// The longest payload this reservation may commit.
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Publishes the frame: `tag` and the first `len` payload bytes. `len` above
    /// [`capacity`](Self::capacity) is refused with `Oversize` (counted as rejected) and the
    /// reservation is aborted.
    pub fn commit(self, tag: u32, len: usize) -> Result<(), PushError> {
        if len > self.len {
            let err = self.ch.ring.oversize(len);
            drop(self);
            return Err(err);
        }
        let this = core::mem::ManuallyDrop::new(self);
        fire(this.ch.ring.commit(this.claim, tag, len));
        Ok(())
    }

    /// Gives the reservation up without dropping it: the slot stays claimed until
    /// [`Channel::reservation`] gets it back (a binding that hands the slot to C).
    pub fn into_slot(self) -> usize {
        core::mem::ManuallyDrop::new(self).slot
    }
}

impl<S: AsRef<[Word]>> Drop for Reservation<'_, S> {
    fn drop(&mut self) {
        fire(self.ch.ring.abort(self.claim));
    }
}
