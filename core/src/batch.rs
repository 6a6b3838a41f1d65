//! The batch record format, once: what [`Channel::try_recv_batch`](crate::Channel::try_recv_batch)
//! and [`RecvOp::resume_batch`](crate::RecvOp::resume_batch) pack into a buffer, and how to
//! read it back. Each record is tag (u32 LE), length (u32 LE), then `length` payload bytes;
//! records follow one another with no padding. A batch always holds at least one record.

/// Bytes of a record's header (tag and length).
pub const RECORD_HEADER: usize = 8;

/// Bytes a record of a `len`-byte payload takes in a batch buffer.
pub const fn record_len(len: usize) -> usize {
    RECORD_HEADER + len
}

/// Writes a record's header into `header` (exactly [`RECORD_HEADER`] bytes).
pub(crate) fn write_header(header: &mut [u8], tag: u32, len: u32) {
    header[..4].copy_from_slice(&tag.to_le_bytes());
    header[4..RECORD_HEADER].copy_from_slice(&len.to_le_bytes());
}

/// Writes one record (header, then `payload`) at the start of `dest`: the bytes written, or
/// `None` if it does not fit (nothing written). For a binding that delivers a frame it holds
/// (one staged after a failed delivery) in the batch format. `payload` is at most
/// [`MAX_FRAME_LIMIT`](crate::MAX_FRAME_LIMIT) long, so its length fits the `u32` field.
pub fn write_record(dest: &mut [u8], tag: u32, payload: &[u8]) -> Option<usize> {
    let len = u32::try_from(payload.len()).ok()?;
    let record = dest.get_mut(..record_len(payload.len()))?;
    let (header, body) = record.split_at_mut(RECORD_HEADER);
    write_header(header, tag, len);
    body.copy_from_slice(payload);
    Some(record_len(payload.len()))
}

/// The `(tag, payload)` of each record in `records` (the `bytes` part that
/// [`Channel::try_recv_batch`](crate::Channel::try_recv_batch) filled). Stops at a truncated
/// record, which `try_recv_batch` never produces.
pub fn batch_frames(records: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    batch_records(records).map(|(tag, start, len)| (tag, &records[start..start + len]))
}

/// The records of `records` as `(tag, payload offset, payload length)`: for a binding that
/// hands out views of the buffer instead of slices. Stops at a truncated record (a buffer
/// the caller filled some other way, or a frame count larger than the batch).
pub fn batch_records(records: &[u8]) -> impl Iterator<Item = (u32, usize, usize)> + '_ {
    let mut at = 0usize;
    core::iter::from_fn(move || {
        let header = records.get(at..at.checked_add(RECORD_HEADER)?)?;
        let word =
            |o: usize| u32::from_le_bytes([header[o], header[o + 1], header[o + 2], header[o + 3]]);
        let (tag, len) = (word(0), word(4) as usize);
        let start = at + RECORD_HEADER;
        let end = start.checked_add(len).filter(|&e| e <= records.len())?;
        at = end;
        Some((tag, start, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_record_reads_back_and_one_that_does_not_fit_writes_nothing() {
        let mut buf = [0xAAu8; 16];
        assert_eq!(write_record(&mut buf, 7, b"abcd"), Some(12));
        assert_eq!(
            batch_frames(&buf[..12]).collect::<Vec<_>>(),
            [(7, &b"abcd"[..])]
        );
        let mut small = [0xAAu8; 11];
        assert_eq!(write_record(&mut small, 7, b"abcd"), None);
        assert_eq!(small, [0xAA; 11]);
    }
}
