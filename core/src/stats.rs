//! Channel counters. Updated inside the critical section, so they are exact.

/// A snapshot of a channel's counters. `#[repr(C)]` because the C ABI hands it out as is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Stats {
    /// Frames queued by a push.
    pub sent: u64,
    /// Frames delivered to the consumer.
    pub received: u64,
    /// Pushes refused because the channel was full (policy `reject`).
    pub dropped: u64,
    /// Queued frames discarded to make room (policy `drop_oldest`).
    pub overwritten: u64,
    /// Pushes refused because the payload exceeded `max_frame`.
    pub rejected: u64,
    /// The most frames ever queued at once.
    pub high_water: u64,
}

impl Stats {
    /// The counters as `(name, value)` pairs, in a fixed order. Both bindings build their
    /// `stats()` dict from this, so the keys cannot drift apart.
    pub const fn fields(&self) -> [(&'static str, u64); 6] {
        [
            ("sent", self.sent),
            ("received", self.received),
            ("dropped", self.dropped),
            ("overwritten", self.overwritten),
            ("rejected", self.rejected),
            ("high_water", self.high_water),
        ]
    }
}
