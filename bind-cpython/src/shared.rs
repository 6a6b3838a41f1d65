//! [`Shared`]: everything one channel is, behind an `Arc`. The Python `Channel`, its
//! awaitables and every producer handle hold an `Arc<Shared>`, so the storage outlives the last
//! of them; dropping the Python `Channel` closes the core channel, so late producers get
//! `Closed` instead of touching freed memory.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use awaitq_capi::{zeroed_storage, RawChannel, Storage};
use awaitq_core::{Config, WakeHook};

use crate::awaitable::cache::AwCache;
use crate::errors::{Failure, Result};
use crate::wake::park::Consumer;
use crate::wake::waker::WakeSlot;

/// One channel: the core channel over owned storage, where its wake hook points, and the
/// consumer's bookkeeping (GIL side only).
pub struct Shared {
    /// The core channel; `awaitq_channel_t *` points here.
    pub(crate) ch: RawChannel,
    /// The channel's configuration (immutable; a copy saves a call into the core per read).
    pub(crate) config: Config,
    /// The hook's target; the hook's `ctx` is this field's address.
    pub(crate) wake: WakeSlot,
    /// The reusable awaitable (attached threads only).
    pub(crate) cache: AwCache,
    /// Waiters and per-context caches. Locked only by threads attached to Python, never across
    /// a call into Python (which could switch threads and deadlock).
    consumer: Mutex<Consumer>,
}

impl Shared {
    /// A channel with its wake hook installed.
    pub(crate) fn new(config: Config) -> Result<Arc<Self>> {
        let words = config.validate()?;
        let storage = zeroed_storage(words).ok_or(Failure::NoMemory)?;
        let ch = RawChannel::new(Storage::Owned(storage), config)?;
        let this = Arc::new(Self {
            ch,
            config,
            wake: WakeSlot::default(),
            cache: AwCache::default(),
            consumer: Mutex::default(),
        });
        this.ch.set_wake_hook(Some(WakeHook {
            func: on_wake,
            ctx: &this.wake as *const WakeSlot as usize,
        }));
        let mut all = live_channels();
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&this));
        Ok(this)
    }

    /// The consumer state. Never hold the guard across a call into Python.
    pub(crate) fn consumer(&self) -> MutexGuard<'_, Consumer> {
        self.consumer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every channel alive, so a fork child can repair them all. Locked only by threads attached
/// to Python (channel creation, the after-fork hook), so the thread that forks (which holds
/// the GIL) never inherits it locked.
fn live_channels() -> MutexGuard<'static, Vec<Weak<Shared>>> {
    static ALL: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
    ALL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// In a fork child (single-threaded, GIL held): finish the operations that the parent's
/// vanished producer threads were in the middle of, on every channel (core
/// `Channel::recover_after_fork`). Returns the slots repaired.
pub(crate) fn recover_after_fork() -> usize {
    let all = live_channels();
    all.iter()
        .filter_map(Weak::upgrade)
        .map(|sh| sh.ch.recover_after_fork())
        .sum()
}

/// The core's wake hook: runs on whichever thread pushed (or closed), without the GIL.
extern "C" fn on_wake(ctx: usize) {
    // SAFETY: `ctx` is the address of a `Shared::wake`. The core calls the hook only from
    // methods of the channel in the same `Shared`, through a live reference, so that `Shared`
    // (and the slot inside it) is alive for the whole call.
    let slot = unsafe { &*(ctx as *const WakeSlot) };
    slot.fire();
}

#[cfg(test)]
mod tests {
    use super::*;
    use awaitq_core::Overflow;

    #[test]
    fn huge_storage_fails_cleanly() {
        assert!(zeroed_storage(usize::MAX / 2).is_none());
        assert_eq!(zeroed_storage(16).unwrap().len(), 16);
    }

    #[test]
    fn push_without_target_is_harmless() {
        let sh = Shared::new(Config::new(2, 4, Overflow::Reject)).unwrap();
        sh.ch.push(1, b"ab").unwrap();
        assert_eq!(sh.ch.len(), 1);
    }
}
