//! Test support shared by the unit tests: a wake hook that counts its calls.
//!
//! Each [`HookCounter`] owns one slot of a static table and passes the slot's index as the
//! hook's `ctx`, so tests running in parallel never see each other's wake-ups, and a hook
//! called with the wrong `ctx` shows up as a wrong count. No `unsafe` needed.

use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use crate::{WakeHook, Word};

/// `n` zeroed storage words.
pub(crate) fn words(n: usize) -> std::vec::Vec<Word> {
    (0..n).map(|_| Word::new(0)).collect()
}

const SLOTS: usize = 512;
static CALLS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static NEXT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count(ctx: usize) {
    CALLS[ctx].fetch_add(1, SeqCst);
}

/// A wake hook with its own call counter.
pub(crate) struct HookCounter {
    slot: usize,
}

impl HookCounter {
    pub(crate) fn new() -> Self {
        let slot = NEXT.fetch_add(1, SeqCst);
        assert!(slot < SLOTS, "more HookCounters than SLOTS: raise SLOTS");
        Self { slot }
    }

    pub(crate) fn hook(&self) -> WakeHook {
        WakeHook {
            func: count,
            ctx: self.slot,
        }
    }

    /// Calls so far.
    pub(crate) fn calls(&self) -> usize {
        CALLS[self.slot].load(SeqCst)
    }
}
