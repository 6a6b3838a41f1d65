//! The wake hook: how the core tells a binding "something you parked on changed".
//!
//! # The protocol
//!
//! 1. A receiver that finds the channel empty *arms* it and parks, in the same critical
//!    section as the emptiness check ([`RecvOp::resume`](crate::RecvOp::resume)). Because check
//!    and registration are one atomic step, a push cannot land between them: "register, then
//!    re-check" collapses into one step and no wake-up is lost.
//! 2. A push that turns an armed, empty channel non-empty *disarms* it and takes a copy of the
//!    hook, inside the critical section; it calls the hook after leaving it. Later pushes find
//!    the channel disarmed (or non-empty) and call nothing: one wake per park, never two.
//! 3. [`close`](crate::Channel::close) fires the hook if anything is armed; a pop that turns a
//!    full channel not-full fires it for a parked sender.
//!
//! Races, all safely handled:
//! - The hook runs *after* the lock is released, so by the time it runs the receiver may
//!   already have been resumed for another reason (a timeout, a cancel, a spurious resume) and
//!   taken the frame or left. The hook is only a hint: the binding's callback resumes the
//!   receiver, which re-runs step 1 and either gets a frame or parks again. A spurious wake
//!   costs one re-check; a lost wake cannot happen.
//! - A cancelled receiver disarms under the lock ([`Channel::unpark`](crate::Channel)). A push
//!   racing with the cancel either sees it armed (and wakes a receiver that is gone: spurious,
//!   harmless) or disarmed (and wakes nobody). The frame stays queued either way: a frame
//!   leaves the queue only in the step that delivers it.
//! - The hook may be called concurrently from several producer threads for *different* parks
//!   (each park is woken at most once), and concurrently with the consumer. It must be
//!   reentrant, ISR-safe, allocation-free and non-blocking: write an eventfd, set a flag and
//!   send an event, give a semaphore from ISR.
//! - Replacing the hook ([`set_wake_hook`](crate::Channel::set_wake_hook)) does not wait for a
//!   call already in flight: the binding keeps `ctx` valid for as long as the channel lives.

/// A function the core calls, outside its critical section, on a parked -> ready transition.
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
