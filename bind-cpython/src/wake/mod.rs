//! Waking a parked consumer without the GIL: see [`waker`] for the producer side (the core's
//! hook), [`loops`] for the per-event-loop reader, [`park`] for what an awaitable yields.

pub(crate) mod fd;
pub(crate) mod loops;
pub(crate) mod park;
pub(crate) mod waker;
