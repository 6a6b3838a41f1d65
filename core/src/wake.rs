//! The wake hook: how the core tells a binding "something you parked on changed".
//!
//! # The protocol (on atomics, no lock)
//!
//! 1. A receiver that finds the head slot not ready sets `parked` and `armed`, issues a
//!    `SeqCst` fence, and *re-checks* the head slot ([`RecvOp::resume`](crate::RecvOp::resume)).
//!    If the re-check finds a frame it disarms with a swap and takes it; if the swap finds the
//!    flag already taken, a producer's wake is on its way, so it stays parked and lets that
//!    wake deliver (one wake per park, none spent on a receiver that did not park).
//! 2. A producer publishes its slot (Release), issues a `SeqCst` fence, then reads `armed`; if
//!    set, it clears it with a swap, and only the producer whose swap saw `true` calls the hook.
//!    The two fences order "arm, re-check" against "publish, read `armed`": either the receiver
//!    sees the frame or the producer sees the flag (both may; the swap picks one). No wake is
//!    lost and each park is woken at most once.
//! 3. [`close`](crate::Channel::close) sets the closed bit in `tail` (no claim succeeds after
//!    it), fences, and fires the hook if anything is armed. A receive that frees a slot fences
//!    and wakes a parked sender the same way (`space_armed`); a parked sender armed, fenced
//!    and retried its claim before parking.
//!
//! Races, all safely handled:
//! - A producer preempted between claiming a slot and publishing it: the receiver sees the
//!   head not ready and parks, even if later producers published behind it. A later
//!   producer's publish may wake it (it re-checks, finds the head still not ready, parks
//!   again: a spurious wake); the stalled producer's publish wakes it for real.
//! - The hook runs with no lock held, possibly after the receiver was resumed for another
//!   reason (a timeout, a cancel, a spurious resume). It is only a hint: the binding resumes
//!   the receiver, which re-runs step 1. A spurious wake costs one re-check; a lost wake
//!   cannot happen.
//! - A cancelled receiver disarms ([`Channel::unpark`](crate::Channel)). A push racing the
//!   cancel either takes the flag first (and wakes a receiver that is gone: spurious, harmless)
//!   or finds it clear. The frame stays queued either way: a frame leaves the queue only in the
//!   step that delivers it.
//! - The hook may be called concurrently from several producer threads for *different* parks
//!   (each park is woken at most once), and concurrently with the consumer. It must be
//!   reentrant, ISR-safe, allocation-free and non-blocking: write an eventfd, set a flag and
//!   send an event, give a semaphore from ISR.
//! - The hook itself (a function pointer and its context) sits behind the critical section and
//!   is read only on a wake, never per frame. Replacing it
//!   ([`set_wake_hook`](crate::Channel::set_wake_hook)) does not wait for a call already in
//!   flight: the binding keeps `ctx` valid for as long as the channel lives.

/// A function the core calls, with no lock held, on a parked -> ready transition.
/// `ctx` is the binding's own value (typically a pointer cast to `usize`).
#[derive(Clone, Copy, Debug)]
pub struct WakeHook {
    /// Called with `ctx`. Must be ISR-safe: no allocation, no blocking, no unwinding.
    pub func: extern "C" fn(ctx: usize),
    /// Passed back to `func`.
    pub ctx: usize,
}

impl WakeHook {
    /// Calls the hook.
    #[inline]
    pub fn call(self) {
        (self.func)(self.ctx)
    }
}

/// Calls the hook a state transition produced, if any.
#[inline]
pub(crate) fn fire(hook: Option<WakeHook>) {
    if let Some(hook) = hook {
        hook.call();
    }
}
