//! [`Channel`]: the state behind the lock. Every method is one critical section plus, at most,
//! one wake hook call after it.

use crate::state::State;
use crate::sync::Lock;
use crate::wake::fire;
use crate::{Config, ConfigError, Frame, PushError, RecvError, Stats, WakeHook};

/// A bounded, many-producer / one-consumer channel of tagged byte frames.
///
/// `S` is the storage: `[u8; N]` for a `static` channel ([`Channel::new_static`]), a
/// `&'static mut [u8]` or a `Vec<u8>` for one sized at run time ([`Channel::new`]). Frames are
/// copied in by [`push`](Self::push) and out by the receive methods; nothing allocates.
///
/// # Progress guarantee
///
/// Every operation is one critical section that copies at most one frame (`max_frame` bytes)
/// and updates a few words (except [`try_recv_batch`](Self::try_recv_batch), which copies at
/// most its destination buffer): bounded time, no allocation, no loop that depends on other threads.
/// Whether that is wait-free depends on the critical-section implementation: on a single-core
/// MCU (interrupts masked) it is; on a hosted OS it is a mutex, so a producer can be delayed
/// by another thread holding the section for one frame copy. It is **not lock-free**; call it
/// from an ISR only where the critical section masks that ISR.
///
/// ```
/// use awaitq_core::{Channel, Config, Overflow};
/// static CH: Channel<[u8; Config::new(4, 8, Overflow::Reject).storage_len()]> =
///     Channel::new_static(Config::new(4, 8, Overflow::Reject));
///
/// CH.push(0x123, b"hello").unwrap();          // from an ISR, a thread, a task
/// let mut buf = [0u8; 8];
/// let frame = CH.try_recv_into(&mut buf).unwrap();
/// assert_eq!((frame.tag, &buf[..frame.len]), (0x123, &b"hello"[..]));
/// ```
pub struct Channel<S> {
    state: Lock<State<S>>,
}

#[cfg(not(loom))]
impl<const N: usize> Channel<[u8; N]> {
    /// A channel over inline storage, usable in a `static`. Size `N` with
    /// [`Config::storage_len`]; an invalid configuration or a short `N` fails to compile when
    /// used in a `static` (or panics at run time otherwise).
    pub const fn new_static(config: Config) -> Self {
        assert!(
            N >= config.storage_len(),
            "storage too small for this configuration"
        );
        Self {
            state: Lock::new(State::new_unchecked([0; N], config)),
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Channel<S> {
    /// A channel over `storage`, which must be at least [`Config::storage_len`] bytes.
    pub fn new(storage: S, config: Config) -> Result<Self, ConfigError> {
        Ok(Self {
            state: Lock::new(State::new(storage, config)?),
        })
    }

    /// Queues a frame. Never blocks beyond the critical section, never allocates; see the
    /// type's progress guarantee. Safe from any thread or ISR.
    pub fn push(&self, tag: u32, payload: &[u8]) -> Result<(), PushError> {
        let wake = self.state.with(|s| s.push(tag, payload))?;
        fire(wake);
        Ok(())
    }

    /// Takes the next frame into `dest` without waiting. The frame stays queued if `dest` is
    /// too small ([`RecvError::BufferTooSmall`]). [`RecvError::Closed`] only once drained.
    pub fn try_recv_into(&self, dest: &mut [u8]) -> Result<Frame, RecvError> {
        let (frame, wake) = self.state.with(|s| s.pop_into(dest))?;
        fire(wake);
        Ok(frame)
    }

    /// Takes up to `max` queued frames in one critical section (a binding's `recv_many`: one
    /// section per batch instead of one per frame). They are packed into `dest` as records,
    /// tag (u32 LE), length (u32 LE), payload, stopping before the first record that does not
    /// fit; read them back with [`batch_frames`](crate::batch_frames). Returns `(frames,
    /// bytes)`. Errors as [`try_recv_into`](Self::try_recv_into) when nothing is taken
    /// (`BufferTooSmall` reports the record length). The section copies up to `dest.len()`
    /// bytes: keep `dest` small where interrupt latency matters.
    pub fn try_recv_batch(&self, dest: &mut [u8], max: usize) -> Result<(usize, usize), RecvError> {
        let (taken, wake) = self.state.with(|s| s.pop_batch(dest, max))?;
        fire(wake);
        Ok(taken)
    }

    /// One step of a receive operation: deliver, or arm and report [`RecvError::Empty`]
    /// (meaning "parked"). Used by [`RecvOp`](crate::RecvOp); see [`crate::wake`].
    pub(crate) fn recv_or_park(&self, parked: bool, dest: &mut [u8]) -> Result<Frame, RecvError> {
        let (frame, wake) = self.state.with(|s| s.recv_or_park(parked, dest))?;
        fire(wake);
        Ok(frame)
    }

    /// One step of a waiting send: push, or arm for room and report [`PushError::Full`]
    /// (meaning "parked") when the policy rejects and the channel is full. Used by
    /// [`SendOp`](crate::SendOp). A parked send is not counted as dropped.
    pub(crate) fn send_or_park(&self, tag: u32, payload: &[u8]) -> Result<bool, PushError> {
        match self.state.with(|s| s.send_or_park(tag, payload))? {
            None => Ok(true),
            Some(wake) => {
                fire(wake);
                Ok(false)
            }
        }
    }
}

impl<S> Channel<S> {
    /// Closes the channel. Producers get [`PushError::Closed`] from now on; the consumer
    /// drains what is queued, then gets [`RecvError::Closed`]. Idempotent.
    pub fn close(&self) {
        fire(self.state.with(|s| s.close()));
    }

    /// Installs (or removes) the hook called on parked -> ready transitions.
    pub fn set_wake_hook(&self, hook: Option<WakeHook>) {
        self.state.with(|s| s.set_hook(hook));
    }

    /// Leaves the parked state (the receiver was cancelled or dropped). No frame moves.
    pub(crate) fn unpark(&self) {
        self.state.with(|s| s.unpark_receiver());
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        self.state.with(|s| s.len())
    }

    /// `true` when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.with(|s| s.is_closed())
    }

    /// `true` while a receive operation is parked on this channel.
    pub fn has_parked_receiver(&self) -> bool {
        self.state.with(|s| s.receiver_parked)
    }

    /// The channel's configuration.
    pub fn config(&self) -> Config {
        self.state.with(|s| s.config())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.with(|s| s.stats())
    }
}
