//! The awaitable state machine: one pure type per operation that models it the way a
//! coroutine is driven, so each binding only translates [`Step`]s into its own protocol
//! (`am_send`/`tp_iternext` on CPython, `iternext`/`throw` on MicroPython) and never decides
//! anything itself.
//!
//! | phase    | `Resume::Send`                                  | `Throw`            | `Close`             |
//! |----------|-------------------------------------------------|--------------------|---------------------|
//! | Fresh    | attempt: `Ready` / `Pending` (→Parked) / `Failed` | `Rethrow`          | `Returned`          |
//! | Parked   | attempt again (a wake or a spurious resume)     | unpark, `Rethrow`  | unpark, `Returned`  |
//! | Finished | `Exhausted`                                     | `Rethrow`          | `Returned`          |
//!
//! Every outcome but `Pending` finishes the operation. A frame leaves the queue only in the
//! attempt that returns `Ready`: a throw (task cancelled, timeout) or a close never takes one.

use crate::{Channel, Frame, PushError, RecvError};

/// How the driver resumes the awaitable: the three verbs of the coroutine protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// `send(value)` / `__next__()`: run. The value is ignored (wake-ups carry no data).
    Send,
    /// `throw(exc)`: the driver cancels the wait (a task cancel, a timeout).
    Throw,
    /// `close()`: the awaitable is being discarded.
    Close,
}

/// Where an operation is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Created, never resumed.
    #[default]
    Fresh,
    /// Suspended, waiting for the wake hook (or any resume) to re-check.
    Parked,
    /// Completed, failed, thrown into or closed: nothing more will happen.
    Finished,
}

/// What the binding must do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<T, E> {
    /// Complete the await with this value (return it / raise `StopIteration(value)`).
    Ready(T),
    /// Suspend: yield to the driver after making sure a wake-up will resume this operation.
    Pending,
    /// Complete the await by raising this error.
    Failed(E),
    /// Re-raise the exception that was thrown in. Nothing was consumed.
    Rethrow,
    /// `close()` succeeded: return `None`. Nothing was consumed.
    Returned,
    /// Resumed after finishing: raise "cannot reuse an already awaited awaitable".
    Exhausted,
}

/// A step of a receive: the frame landed in the destination buffer.
pub type RecvStep = Step<Frame, RecvError>;
/// A step of a waiting send.
pub type SendStep = Step<(), PushError>;

impl Phase {
    /// The shared lifecycle. `attempt(parked)` returns `Ok(Some(v))` when done, `Ok(None)` when
    /// it parked; `unpark` releases what a parked attempt holds.
    fn drive<T, E>(
        &mut self,
        input: Resume,
        attempt: impl FnOnce(bool) -> Result<Option<T>, E>,
        unpark: impl FnOnce(),
    ) -> Step<T, E> {
        let was = core::mem::replace(self, Phase::Finished);
        match (was, input) {
            (Phase::Finished, Resume::Send) => Step::Exhausted,
            (Phase::Finished, Resume::Throw) => Step::Rethrow,
            (Phase::Finished, Resume::Close) => Step::Returned,
            (phase, Resume::Send) => match attempt(phase == Phase::Parked) {
                Ok(Some(value)) => Step::Ready(value),
                Ok(None) => {
                    *self = Phase::Parked;
                    Step::Pending
                }
                Err(err) => Step::Failed(err),
            },
            (phase, cancel) => {
                if phase == Phase::Parked {
                    unpark();
                }
                if cancel == Resume::Throw {
                    Step::Rethrow
                } else {
                    Step::Returned
                }
            }
        }
    }
}

/// A receive operation (`await ch.recv()` and friends).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvOp {
    phase: Phase,
}

impl RecvOp {
    /// A fresh operation.
    pub const fn new() -> Self {
        Self {
            phase: Phase::Fresh,
        }
    }

    /// Where the operation is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Advances the operation. On `Ready`, the payload is `dest[..frame.len]`. `dest` must
    /// hold `max_frame` bytes, or the frame at the head if smaller (else `BufferTooSmall`,
    /// and the frame stays queued).
    pub fn resume<S: AsRef<[crate::Word]>>(
        &mut self,
        ch: &Channel<S>,
        input: Resume,
        dest: &mut [u8],
    ) -> Step<Frame, RecvError> {
        self.phase.drive(
            input,
            |parked| match ch.recv_or_park(parked, dest) {
                Ok(frame) => Ok(Some(frame)),
                Err(RecvError::Empty) => Ok(None),
                Err(err) => Err(err),
            },
            || ch.unpark(),
        )
    }

    /// Advances the operation as a batch receive (`n = await ch.recv_many_into(buf)`): on
    /// `Ready((frames, bytes))`, `dest[..bytes]` holds `frames` (≥ 1) records packed as
    /// [`Channel::try_recv_batch`] packs them (read them with
    /// [`batch_frames`](crate::batch_frames)): every frame queued at that moment, up to `max`
    /// (0 counts as 1), that fits in `dest`, in order. Otherwise as [`resume`](Self::resume):
    /// it parks while the channel is empty, fails with [`RecvError::Closed`] once closed and
    /// drained, and with [`RecvError::BufferTooSmall`] (`needed` = the head frame's record,
    /// header included) when `dest` cannot hold even the first record — the frame stays
    /// queued. A throw or close consumes nothing, as for a single frame.
    pub fn resume_batch<S: AsRef<[crate::Word]>>(
        &mut self,
        ch: &Channel<S>,
        input: Resume,
        dest: &mut [u8],
        max: usize,
    ) -> Step<(usize, usize), RecvError> {
        self.phase.drive(
            input,
            |parked| match ch.recv_batch_or_park(parked, dest, max) {
                Ok(taken) => Ok(Some(taken)),
                Err(RecvError::Empty) => Ok(None),
                Err(err) => Err(err),
            },
            || ch.unpark(),
        )
    }
}

/// A waiting send (`await ch.send(data)`): waits for room when the policy is `reject`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendOp {
    phase: Phase,
}

impl SendOp {
    /// A fresh operation.
    pub const fn new() -> Self {
        Self {
            phase: Phase::Fresh,
        }
    }

    /// Where the operation is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Advances the operation: queue `payload`, or park until a receive makes room.
    /// Several senders may park at once; each wake-up makes all of them re-check.
    pub fn resume<S: AsRef<[crate::Word]>>(
        &mut self,
        ch: &Channel<S>,
        input: Resume,
        tag: u32,
        payload: &[u8],
    ) -> Step<(), PushError> {
        self.phase.drive(
            input,
            |_| {
                ch.send_or_park(tag, payload)
                    .map(|parked| (!parked).then_some(()))
            },
            // Other senders may still be parked, so the room flag stays armed: at worst one
            // spurious wake-up.
            || {},
        )
    }
}

#[cfg(test)]
mod tests;
