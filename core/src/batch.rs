//! Reading back the records [`Channel::try_recv_batch`](crate::Channel::try_recv_batch)
//! packs: tag (u32 LE), length (u32 LE), payload, one after the other.

use crate::SLOT_HEADER;

/// The `(tag, payload)` of each record in `records` (the `bytes` part that
/// [`Channel::try_recv_batch`](crate::Channel::try_recv_batch) filled). Stops at a truncated
/// record, which `try_recv_batch` never produces.
pub fn batch_frames(records: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut rest = records;
    core::iter::from_fn(move || {
        let (header, tail) = rest.split_at_checked(SLOT_HEADER)?;
        let word =
            |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
        let (payload, next) = tail.split_at_checked(word(4) as usize)?;
        rest = next;
        Some((word(0), payload))
    })
}
