//! The channel's state: a ring of fixed-size slots over byte storage, plus the flags of the
//! wake protocol. Plain `&mut self` methods with no locking and no calls out, so the rules can
//! be unit-tested without threads; [`Channel`](crate::Channel) puts this behind the lock.
//!
//! Slot `i` starts at byte `i * (SLOT_HEADER + max_frame)`: tag (u32 LE), length (u32 LE),
//! payload. Ownership: every field is owned by whoever holds the lock; nothing is read outside.

use crate::{Config, ConfigError, Overflow, PushError, RecvError, Stats, WakeHook, SLOT_HEADER};

/// Where a delivered frame landed: its tag and payload length in the destination buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The producer's tag (CAN identifier, chip select, port...).
    pub tag: u32,
    /// Payload length; the payload is `dest[..len]`.
    pub len: usize,
}

pub(crate) struct State<S> {
    storage: S,
    config: Config,
    head: usize,
    len: usize,
    closed: bool,
    /// A receive operation is parked (between its `Pending` and its completion).
    pub(crate) receiver_parked: bool,
    /// The parked receiver wants the hook called on the next empty -> non-empty transition.
    armed: bool,
    /// A sender is parked waiting for room; the next full -> not-full transition wakes it.
    space_armed: bool,
    hook: Option<WakeHook>,
    stats: Stats,
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> State<S> {
    pub(crate) fn new(storage: S, config: Config) -> Result<Self, ConfigError> {
        let needed = config.validate()?;
        let got = storage.as_ref().len();
        if got < needed {
            return Err(ConfigError::StorageTooSmall { needed, got });
        }
        Ok(Self::new_unchecked(storage, config))
    }
}

impl<S> State<S> {
    /// For `const` construction; the caller has checked the storage length.
    pub(crate) const fn new_unchecked(storage: S, config: Config) -> Self {
        Self {
            storage,
            config,
            head: 0,
            len: 0,
            closed: false,
            receiver_parked: false,
            armed: false,
            space_armed: false,
            hook: None,
            stats: Stats {
                sent: 0,
                received: 0,
                dropped: 0,
                overwritten: 0,
                rejected: 0,
                high_water: 0,
            },
        }
    }

    pub(crate) fn config(&self) -> Config {
        self.config
    }
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }
    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }
    pub(crate) fn set_hook(&mut self, hook: Option<WakeHook>) {
        self.hook = hook;
    }

    /// The hook to call after the lock is released, if `flag` was set (and clears it).
    fn take_wake(flag: &mut bool, hook: Option<WakeHook>) -> Option<WakeHook> {
        core::mem::take(flag).then_some(hook).flatten()
    }

    /// Closes the channel. Everything parked must re-check, so both flags fire.
    pub(crate) fn close(&mut self) -> Option<WakeHook> {
        self.closed = true;
        let recv = Self::take_wake(&mut self.armed, self.hook);
        let send = Self::take_wake(&mut self.space_armed, self.hook);
        recv.or(send)
    }

    /// Leaves the parked state: the receiver was cancelled, closed or dropped.
    pub(crate) fn unpark_receiver(&mut self) {
        self.receiver_parked = false;
        self.armed = false;
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> State<S> {
    /// `index` reduced into the ring. Every index the state forms is `head + k` with
    /// `head < capacity` and `k <= capacity`, so one conditional subtraction does what `%`
    /// does, without a division (tens of cycles each, three per frame before).
    fn wrap(&self, index: usize) -> usize {
        let cap = self.config.capacity;
        debug_assert!(index < 2 * cap);
        if index >= cap {
            index - cap
        } else {
            index
        }
    }

    fn slot_offset(&self, index: usize) -> usize {
        self.wrap(index) * self.config.slot_len()
    }

    /// Drops the head slot from the queue (its bytes stay until overwritten).
    fn advance_head(&mut self) {
        self.head = self.wrap(self.head + 1);
        self.len -= 1;
    }

    /// Queues one frame. On success returns the hook to call once the lock is released, if
    /// this push turned an armed, empty channel non-empty (and disarms it).
    pub(crate) fn push(&mut self, tag: u32, payload: &[u8]) -> Result<Option<WakeHook>, PushError> {
        if self.closed {
            return Err(PushError::Closed);
        }
        let max_frame = self.config.max_frame;
        if payload.len() > max_frame {
            self.stats.rejected += 1;
            return Err(PushError::Oversize {
                len: payload.len(),
                max_frame,
            });
        }
        if self.len == self.config.capacity {
            match self.config.overflow {
                Overflow::Reject => {
                    self.stats.dropped += 1;
                    return Err(PushError::Full);
                }
                Overflow::DropOldest => {
                    self.advance_head();
                    self.stats.overwritten += 1;
                }
            }
        }
        let at = self.slot_offset(self.head + self.len);
        let slot = &mut self.storage.as_mut()[at..at + SLOT_HEADER + payload.len()];
        slot[..4].copy_from_slice(&tag.to_le_bytes());
        // max_frame <= MAX_FRAME_LIMIT, so the length always fits in a u32.
        slot[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        slot[SLOT_HEADER..].copy_from_slice(payload);
        self.len += 1;
        self.stats.sent += 1;
        self.stats.high_water = self.stats.high_water.max(self.len as u64);
        // Only the empty -> non-empty edge wakes: later pushes find `armed` already cleared.
        Ok(if self.len == 1 {
            Self::take_wake(&mut self.armed, self.hook)
        } else {
            None
        })
    }

    /// The waiting send's step: queue the frame, or, when the channel is full and its policy
    /// rejects, arm for room and return `Ok(None)` ("parked") instead of dropping. A parked
    /// send is not counted as dropped. `Ok(Some(wake))` when queued.
    pub(crate) fn send_or_park(
        &mut self,
        tag: u32,
        payload: &[u8],
    ) -> Result<Option<Option<WakeHook>>, PushError> {
        let full = self.len == self.config.capacity;
        let fits = payload.len() <= self.config.max_frame;
        if full && fits && !self.closed && self.config.overflow == Overflow::Reject {
            self.space_armed = true;
            return Ok(None);
        }
        self.push(tag, payload).map(Some)
    }

    /// The head frame's tag and length, and where its slot starts, if any.
    fn head_frame(&self) -> Option<(Frame, usize)> {
        if self.len == 0 {
            return None;
        }
        let at = self.slot_offset(self.head);
        // One bounds check for the whole header, not one per byte.
        let header: &[u8; SLOT_HEADER] = self.storage.as_ref()[at..at + SLOT_HEADER]
            .try_into()
            .expect("a slot starts with its header");
        let [t0, t1, t2, t3, l0, l1, l2, l3] = *header;
        let frame = Frame {
            tag: u32::from_le_bytes([t0, t1, t2, t3]),
            len: u32::from_le_bytes([l0, l1, l2, l3]) as usize,
        };
        Some((frame, at))
    }

    /// Takes the head frame into `dest` (which must hold it; otherwise the frame stays).
    /// Returns the frame and the hook to call after unlocking if a parked sender now has room.
    /// `Empty` / `Closed` when there is nothing; `Closed` only once drained.
    pub(crate) fn pop_into(
        &mut self,
        dest: &mut [u8],
    ) -> Result<(Frame, Option<WakeHook>), RecvError> {
        let Some((frame, at)) = self.head_frame() else {
            return Err(if self.closed {
                RecvError::Closed
            } else {
                RecvError::Empty
            });
        };
        if dest.len() < frame.len {
            return Err(RecvError::BufferTooSmall {
                needed: frame.len,
                got: dest.len(),
            });
        }
        let at = at + SLOT_HEADER;
        dest[..frame.len].copy_from_slice(&self.storage.as_ref()[at..at + frame.len]);
        let was_full = self.len == self.config.capacity;
        self.advance_head();
        self.stats.received += 1;
        let wake = if was_full {
            Self::take_wake(&mut self.space_armed, self.hook)
        } else {
            None
        };
        Ok((frame, wake))
    }

    /// Takes up to `max` queued frames into `dest` as packed records, each exactly as the
    /// slot stores it (tag u32 LE, length u32 LE, payload), stopping before the first that
    /// does not fit. Returns `(frames, bytes)` and the hook to call after unlocking if a parked
    /// sender now has room. With nothing taken: `Empty` / `Closed` as [`Self::pop_into`], or
    /// `BufferTooSmall` (record length) if the head frame does not fit; frames stay queued.
    pub(crate) fn pop_batch(
        &mut self,
        dest: &mut [u8],
        max: usize,
    ) -> Result<((usize, usize), Option<WakeHook>), RecvError> {
        let was_full = self.len == self.config.capacity;
        let (mut frames, mut used) = (0, 0);
        while frames < max {
            let Some((frame, at)) = self.head_frame() else {
                break;
            };
            let record = SLOT_HEADER + frame.len;
            if dest.len() - used < record {
                if frames == 0 {
                    return Err(RecvError::BufferTooSmall {
                        needed: record,
                        got: dest.len(),
                    });
                }
                break;
            }
            dest[used..used + record].copy_from_slice(&self.storage.as_ref()[at..at + record]);
            used += record;
            frames += 1;
            self.advance_head();
        }
        if frames == 0 {
            return Err(if self.closed {
                RecvError::Closed
            } else {
                RecvError::Empty
            });
        }
        self.stats.received += frames as u64;
        let wake = if was_full {
            Self::take_wake(&mut self.space_armed, self.hook)
        } else {
            None
        };
        Ok(((frames, used), wake))
    }

    /// The receive step of the wake protocol, atomically: take a frame if one is queued,
    /// otherwise report closed, otherwise arm and park. `parked` says whether the caller is
    /// the receiver already parked here (a re-check after a wake-up) or a new one.
    pub(crate) fn recv_or_park(
        &mut self,
        parked: bool,
        dest: &mut [u8],
    ) -> Result<(Frame, Option<WakeHook>), RecvError> {
        if !parked && self.receiver_parked {
            return Err(RecvError::Busy);
        }
        match self.pop_into(dest) {
            Err(RecvError::Empty) => {
                // Register, in the same critical section as the check: no push can slip
                // between "saw empty" and "armed", so no wake-up is lost.
                self.receiver_parked = true;
                self.armed = true;
                Err(RecvError::Empty)
            }
            other => {
                self.unpark_receiver();
                other
            }
        }
    }
}

#[cfg(test)]
mod tests;
