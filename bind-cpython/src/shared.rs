//! [`Shared`]: everything one channel is, behind an `Arc`. The Python `Channel`, its
//! awaitables and every producer handle hold an `Arc<Shared>`, so the storage outlives the last
//! of them; dropping the Python `Channel` closes the core channel, so late producers get
//! `Closed` instead of touching freed memory.

use std::alloc::{alloc_zeroed, Layout};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use awaitq_capi::{RawChannel, Storage};
use awaitq_core::{Config, WakeHook};

use crate::awaitable::cache::AwCache;
use crate::errors::{Failure, Result};
use crate::gil::GilCell;
use crate::staged::Staged;
use crate::wake::park::Consumer;
use crate::wake::waker::WakeSlot;

/// One channel: the core channel over owned storage, where its wake hook points, and the
/// consumer's bookkeeping (GIL side only).
pub struct Shared {
    /// The core channel; `awaitq_channel_t *` points here.
    pub(crate) ch: RawChannel,
    /// The channel's configuration (immutable; a copy saves a critical section per read).
    pub(crate) config: Config,
    /// The hook's target; the hook's `ctx` is this field's address.
    pub(crate) wake: WakeSlot,
    /// The reusable awaitable (attached threads only).
    pub(crate) cache: AwCache,
    /// Frames taken from the core whose Python value is not built yet (see [`Staged`]).
    pub(crate) staged: GilCell<Staged>,
    /// Waiters and per-context caches. Locked only by threads attached to Python, never across
    /// a call into Python (which could switch threads and deadlock).
    consumer: Mutex<Consumer>,
}

impl Shared {
    /// A channel with its wake hook installed.
    pub(crate) fn new(config: Config) -> Result<Arc<Self>> {
        let len = config.validate()?;
        let storage = zeroed_storage(len).ok_or(Failure::NoMemory)?;
        let ch = RawChannel::new(Storage::Owned(storage), config)?;
        let staged = GilCell::new(Staged::new(config.max_frame)?);
        let this = Arc::new(Self {
            ch,
            config,
            wake: WakeSlot::default(),
            cache: AwCache::default(),
            staged,
            consumer: Mutex::default(),
        });
        this.ch.set_wake_hook(Some(WakeHook {
            func: on_wake,
            ctx: &this.wake as *const WakeSlot as usize,
        }));
        Ok(this)
    }

    /// The consumer state. Never hold the guard across a call into Python.
    pub(crate) fn consumer(&self) -> MutexGuard<'_, Consumer> {
        self.consumer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The core's wake hook: runs on whichever thread pushed (or closed), without the GIL.
extern "C" fn on_wake(ctx: usize) {
    // SAFETY: `ctx` is the address of a `Shared::wake`. The core calls the hook only from
    // methods of the channel in the same `Shared`, through a live reference, so that `Shared`
    // (and the slot inside it) is alive for the whole call.
    let slot = unsafe { &*(ctx as *const WakeSlot) };
    slot.fire();
}

/// Zeroed storage, or `None` if the allocation fails (a huge capacity must raise
/// `MemoryError`, not abort). `alloc_zeroed` lets the OS hand out zero pages lazily.
fn zeroed_storage(len: usize) -> Option<Box<[u8]>> {
    if len == 0 {
        return Some(Box::new([]));
    }
    let layout = Layout::array::<u8>(len).ok()?;
    // SAFETY: `layout` has a non-zero size.
    let p = unsafe { alloc_zeroed(layout) };
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is a fresh allocation of `len` initialised (zero) bytes with the layout of a
    // `[u8]` of that length, so a `Box<[u8]>` may own and free it.
    Some(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) })
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
