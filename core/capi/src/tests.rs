//! The C ABI's contract, called the way C calls it: through raw pointers and the function
//! table. Builds with and without the `alloc` feature (firmware builds have no heap storage).

extern crate std;

use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::boxed::Box;
use std::vec::Vec;

use super::*;
use awaitq_core::{Config, Overflow, RecvOp, Resume, Step, WakeHook};
use awaitq_status_t::*;

/// A channel over heap storage: owned with `alloc`; otherwise borrowed from a leaked box
/// (only the no-`alloc` build does that; Miri runs the `alloc` build).
fn channel(capacity: usize, max_frame: usize) -> RawChannel {
    let cfg = Config::new(capacity, max_frame, Overflow::Reject);
    let words: Box<[Word]> = (0..cfg.storage_words()).map(|_| Word::new(0)).collect();
    #[cfg(feature = "alloc")]
    let storage = Storage::Owned(words);
    #[cfg(not(feature = "alloc"))]
    let storage = Storage::Borrowed(Box::leak(words));
    RawChannel::new(storage, cfg).unwrap()
}

#[test]
fn push_statuses() {
    let ch = channel(1, 4);
    let p = as_c_ptr(&ch);
    // SAFETY: `p` points to `ch`, alive for the whole test; payloads are valid slices.
    unsafe {
        assert_eq!(awaitq_push(p, 1, b"ab".as_ptr(), 2), AWAITQ_OK);
        assert_eq!(awaitq_push(p, 1, b"ab".as_ptr(), 2), AWAITQ_FULL);
        assert_eq!(awaitq_push(p, 1, b"abcde".as_ptr(), 5), AWAITQ_OVERSIZE);
        assert_eq!(awaitq_push(p, 1, ptr::null(), 3), AWAITQ_INVALID);
        assert_eq!(
            awaitq_push(ptr::null(), 1, b"a".as_ptr(), 1),
            AWAITQ_INVALID
        );
        assert_eq!(awaitq_len(p), 1);
        let mut st = Stats::default();
        assert_eq!(awaitq_stats(p, &mut st), AWAITQ_OK);
        assert_eq!((st.sent, st.dropped, st.rejected), (1, 1, 1));
        assert_eq!(awaitq_close(p), AWAITQ_OK);
        assert!(awaitq_is_closed(p));
        assert_eq!((PRODUCER_API.push)(p, 1, ptr::null(), 0), AWAITQ_CLOSED);
    }
}

#[test]
fn the_payload_is_copied_from_the_c_pointer() {
    let ch = channel(2, 8);
    let p = as_c_ptr(&ch);
    let data = [1u8, 2, 3, 4, 5];
    // SAFETY: `p` points to `ch`; `data` holds 5 readable bytes and the (null, 0) payload is
    // the documented empty frame.
    unsafe {
        assert_eq!(
            awaitq_push(p, 0xDEAD_BEEF, data.as_ptr(), data.len()),
            AWAITQ_OK
        );
        assert_eq!(awaitq_push(p, 7, ptr::null(), 0), AWAITQ_OK);
    }
    let mut buf = [0u8; 8];
    let frame = ch.try_recv_into(&mut buf).unwrap();
    assert_eq!((frame.tag, &buf[..frame.len]), (0xDEAD_BEEF, &data[..]));
    let frame = ch.try_recv_into(&mut buf).unwrap();
    assert_eq!((frame.tag, frame.len), (7, 0));
}

#[test]
fn null_channels_are_reported_not_dereferenced() {
    let mut st = Stats::default();
    // SAFETY: null is an allowed argument of every function.
    unsafe {
        assert_eq!(awaitq_close(ptr::null()), AWAITQ_INVALID);
        assert!(awaitq_is_closed(ptr::null()));
        assert_eq!(awaitq_len(ptr::null()), 0);
        assert_eq!(awaitq_stats(ptr::null(), &mut st), AWAITQ_INVALID);
    }
    let ch = channel(1, 4);
    // SAFETY: `ch` is alive; a null `out` is allowed.
    unsafe {
        assert_eq!(awaitq_stats(as_c_ptr(&ch), ptr::null_mut()), AWAITQ_INVALID);
    }
}

#[test]
fn close_is_idempotent_and_seen_by_the_consumer() {
    let ch = channel(2, 4);
    let p = as_c_ptr(&ch);
    // SAFETY: `p` points to `ch`, alive for the whole test.
    unsafe {
        assert!(!awaitq_is_closed(p));
        assert_eq!(awaitq_push(p, 1, b"a".as_ptr(), 1), AWAITQ_OK);
        assert_eq!(awaitq_close(p), AWAITQ_OK);
        assert_eq!(awaitq_close(p), AWAITQ_OK);
        assert!(awaitq_is_closed(p));
        assert_eq!(awaitq_push(p, 1, b"b".as_ptr(), 1), AWAITQ_CLOSED);
    }
    assert!(ch.is_closed());
    let mut buf = [0u8; 4];
    assert!(
        ch.try_recv_into(&mut buf).is_ok(),
        "queued frames still drain"
    );
    assert_eq!(
        ch.try_recv_into(&mut buf),
        Err(awaitq_core::RecvError::Closed)
    );
}

static WAKES: AtomicUsize = AtomicUsize::new(0);
extern "C" fn count_wake(ctx: usize) {
    assert_eq!(ctx, 42);
    WAKES.fetch_add(1, SeqCst);
}

#[test]
fn a_c_push_wakes_a_parked_receiver_once() {
    let ch = channel(2, 4);
    ch.set_wake_hook(Some(WakeHook {
        func: count_wake,
        ctx: 42,
    }));
    let mut op = RecvOp::new();
    let mut buf = [0u8; 4];
    assert_eq!(op.resume(&ch, Resume::Send, &mut buf), Step::Pending);
    let p = as_c_ptr(&ch);
    // SAFETY: `p` points to `ch`, alive for the whole test.
    unsafe {
        assert_eq!(awaitq_push(p, 1, b"a".as_ptr(), 1), AWAITQ_OK);
        assert_eq!(awaitq_push(p, 2, b"b".as_ptr(), 1), AWAITQ_OK);
    }
    assert_eq!(WAKES.load(SeqCst), 1);
    assert!(matches!(
        op.resume(&ch, Resume::Send, &mut buf),
        Step::Ready(_)
    ));
}

#[test]
fn the_table_points_at_the_functions() {
    assert_eq!(PRODUCER_API.version, AWAITQ_API_VERSION);
    let table = &PRODUCER_API;
    assert_eq!(table.push as *const (), awaitq_push as *const ());
    assert_eq!(table.close as *const (), awaitq_close as *const ());
    assert_eq!(table.is_closed as *const (), awaitq_is_closed as *const ());
    assert_eq!(table.len as *const (), awaitq_len as *const ());
    assert_eq!(table.stats as *const (), awaitq_stats as *const ());
    let ext = &PRODUCER_EXT_API;
    assert_eq!(ext.version, AWAITQ_EXT_API_VERSION);
    assert_eq!(ext.push_many as *const (), awaitq_push_many as *const ());
    assert_eq!(ext.reserve as *const (), awaitq_reserve as *const ());
    assert_eq!(ext.commit as *const (), awaitq_commit as *const ());
    assert_eq!(ext.abort as *const (), awaitq_abort as *const ());
    let ch = channel(2, 4);
    let p = as_c_ptr(&ch);
    let mut st = Stats::default();
    // SAFETY: `p` points to `ch`, alive for the whole test.
    unsafe {
        assert_eq!((table.push)(p, 3, b"abc".as_ptr(), 3), AWAITQ_OK);
        assert_eq!((table.len)(p), 1);
        assert_eq!((table.stats)(p, &mut st), AWAITQ_OK);
        assert_eq!((table.close)(p), AWAITQ_OK);
        assert!((table.is_closed)(p));
    }
    assert_eq!(st.sent, 1);
}

#[test]
fn statuses_map_every_push_error() {
    assert_eq!(awaitq_status_t::from(PushError::Full), AWAITQ_FULL);
    assert_eq!(awaitq_status_t::from(PushError::Closed), AWAITQ_CLOSED);
    let oversize = PushError::Oversize {
        len: 9,
        max_frame: 8,
    };
    assert_eq!(awaitq_status_t::from(oversize), AWAITQ_OVERSIZE);
}

#[test]
fn the_abi_layout_the_header_promises() {
    // The header (ports/include/awaitq.h) is generated from these; C code compiled against an
    // older header must keep working, so the values and the layout are part of the ABI.
    let codes = [
        AWAITQ_OK,
        AWAITQ_FULL,
        AWAITQ_CLOSED,
        AWAITQ_OVERSIZE,
        AWAITQ_INVALID,
    ];
    for (value, status) in codes.into_iter().enumerate() {
        assert_eq!(status as u32 as usize, value);
    }
    assert_eq!(core::mem::size_of::<awaitq_status_t>(), 4);
    assert_eq!(core::mem::size_of::<Stats>(), 6 * 8);
    assert_eq!(core::mem::offset_of!(Stats, high_water), 5 * 8);
    assert_eq!(
        core::mem::size_of::<awaitq_producer_api_t>(),
        6 * core::mem::size_of::<usize>()
    );
    assert_eq!(
        core::mem::size_of::<awaitq_producer_ext_api_t>(),
        5 * core::mem::size_of::<usize>()
    );
    assert_eq!(
        core::mem::size_of::<awaitq_frame_t>(),
        3 * core::mem::size_of::<usize>()
    );
}

#[test]
fn borrowed_storage_is_only_borrowed() {
    // How firmware and MicroPython hand the channel memory they keep alive themselves.
    let cfg = Config::new(2, 4, Overflow::Reject);
    let words: Box<[Word]> = (0..cfg.storage_words()).map(|_| Word::new(0)).collect();
    let storage: &'static [Word] = Box::leak(words);
    {
        let ch = RawChannel::new(Storage::Borrowed(storage), cfg).unwrap();
        // SAFETY: `ch` is alive.
        unsafe {
            assert_eq!(
                awaitq_push(as_c_ptr(&ch), 1, b"abcd".as_ptr(), 4),
                AWAITQ_OK
            );
        }
        let mut buf = [0u8; 4];
        assert_eq!(ch.try_recv_into(&mut buf).unwrap().len, 4);
    }
    // The frame was written into the borrowed memory: sequence, tag, length, payload.
    let w: Vec<u32> = storage[..4].iter().map(|w| w.load(SeqCst)).collect();
    assert_eq!(&w[1..], &[1, 4, u32::from_ne_bytes(*b"abcd")]);
    // SAFETY: the only borrow went with `ch`; reclaim the leaked box.
    drop(unsafe { Box::from_raw(core::ptr::from_ref(storage).cast_mut()) });
}

#[test]
fn reserve_writes_in_place_and_commit_publishes() {
    let ch = channel(2, 8);
    let p = as_c_ptr(&ch);
    let mut st = AWAITQ_INVALID;
    // SAFETY: `p` points to `ch`; the slots are used within their `max_frame` bytes and each
    // is given back exactly once.
    unsafe {
        let a = awaitq_reserve(p, 8, &mut st);
        assert_eq!(st, AWAITQ_OK);
        assert!(!a.is_null() && a as usize % 4 == 0);
        let b = awaitq_reserve(p, 5, ptr::null_mut());
        assert!(!b.is_null());
        assert!(awaitq_reserve(p, 1, &mut st).is_null());
        assert_eq!(st, AWAITQ_FULL);
        assert!(awaitq_reserve(p, 9, &mut st).is_null());
        assert_eq!(st, AWAITQ_OVERSIZE);
        // Written the way DMA or C code would: through the byte pointer.
        ptr::copy_nonoverlapping(b"zero-cpy".as_ptr(), a, 8);
        ptr::copy_nonoverlapping(b"hello".as_ptr(), b, 5);
        // Out of order: b is committed first, but frames leave in claim order.
        assert_eq!(awaitq_commit(p, b, 2, 5), AWAITQ_OK);
        let mut buf = [0u8; 8];
        assert_eq!(
            ch.try_recv_into(&mut buf),
            Err(awaitq_core::RecvError::Empty)
        );
        assert_eq!(awaitq_commit(p, a, 1, 8), AWAITQ_OK);
        assert_eq!(
            awaitq_commit(p, a, 1, 8),
            AWAITQ_INVALID,
            "given back twice"
        );
        let f = ch.try_recv_into(&mut buf).unwrap();
        assert_eq!((f.tag, &buf[..f.len]), (1, &b"zero-cpy"[..]));
        let f = ch.try_recv_into(&mut buf).unwrap();
        assert_eq!((f.tag, &buf[..f.len]), (2, &b"hello"[..]));
        assert_eq!(awaitq_commit(p, a.add(1), 1, 1), AWAITQ_INVALID);
        assert_eq!(awaitq_abort(ptr::null(), a), AWAITQ_INVALID);
    }
    assert_eq!(ch.stats().sent, 2);
    assert_eq!(ch.stats().dropped, 1);
    assert_eq!(ch.stats().rejected, 1);
}

#[test]
fn abort_and_oversize_commit_free_the_slot_and_deliver_nothing() {
    let ch = channel(1, 4);
    let p = as_c_ptr(&ch);
    // SAFETY: `p` points to `ch`; each slot is given back once.
    unsafe {
        // The latest claim is undone at once.
        let a = awaitq_reserve(p, 4, ptr::null_mut());
        assert_eq!(awaitq_abort(p, a), AWAITQ_OK);
        assert_eq!(awaitq_abort(p, a), AWAITQ_INVALID);
        assert_eq!(awaitq_len(p), 0);
        let b = awaitq_reserve(p, 4, ptr::null_mut());
        assert!(!b.is_null());
        assert_eq!(awaitq_commit(p, b, 1, 5), AWAITQ_OVERSIZE);
        assert_eq!(awaitq_push(p, 7, b"ok".as_ptr(), 2), AWAITQ_OK);
    }
    let mut buf = [0u8; 4];
    let f = ch.try_recv_into(&mut buf).unwrap();
    assert_eq!((f.tag, &buf[..f.len]), (7, &b"ok"[..]));
    assert_eq!(ch.stats().sent, 1);
    assert_eq!(ch.stats().rejected, 1);
}

#[test]
fn push_many_queues_in_order_and_reports_the_first_failure() {
    let ch = channel(3, 4);
    let p = as_c_ptr(&ch);
    let frame = |tag: u32, data: &'static [u8]| awaitq_frame_t {
        tag,
        data: data.as_ptr(),
        len: data.len(),
    };
    let frames = [
        frame(1, b"a"),
        frame(2, b"bb"),
        frame(3, b"toolong"),
        frame(4, b"d"),
    ];
    let mut pushed = 99;
    // SAFETY: `p` points to `ch`; `frames` holds 4 valid frames.
    unsafe {
        assert_eq!(
            awaitq_push_many(p, frames.as_ptr(), 4, &mut pushed),
            AWAITQ_OVERSIZE
        );
        assert_eq!(pushed, 2);
        assert_eq!(
            awaitq_push_many(p, frames[3..].as_ptr(), 1, &mut pushed),
            AWAITQ_OK
        );
        assert_eq!(pushed, 1);
        assert_eq!(
            awaitq_push_many(p, frames.as_ptr(), 1, &mut pushed),
            AWAITQ_FULL
        );
        assert_eq!(pushed, 0);
        assert_eq!(
            awaitq_push_many(p, ptr::null(), 0, ptr::null_mut()),
            AWAITQ_OK
        );
        assert_eq!(
            awaitq_push_many(p, ptr::null(), 1, ptr::null_mut()),
            AWAITQ_INVALID
        );
    }
    let mut buf = [0u8; 4];
    for (tag, data) in [(1, &b"a"[..]), (2, b"bb"), (4, b"d")] {
        let f = ch.try_recv_into(&mut buf).unwrap();
        assert_eq!((f.tag, &buf[..f.len]), (tag, data));
    }
}

#[test]
fn an_abort_behind_later_claims_is_skipped_by_the_consumer() {
    let ch = channel(2, 4);
    let p = as_c_ptr(&ch);
    // SAFETY: `p` points to `ch`; each slot is given back once.
    unsafe {
        let a = awaitq_reserve(p, 4, ptr::null_mut());
        let b = awaitq_reserve(p, 4, ptr::null_mut());
        assert_eq!(awaitq_abort(p, a), AWAITQ_OK);
        assert_eq!(
            awaitq_len(p),
            2,
            "the aborted slot holds its place until skipped"
        );
        assert!(awaitq_reserve(p, 1, ptr::null_mut()).is_null());
        ptr::copy_nonoverlapping(b"b".as_ptr(), b, 1);
        assert_eq!(awaitq_commit(p, b, 2, 1), AWAITQ_OK);
    }
    let mut buf = [0u8; 4];
    let f = ch.try_recv_into(&mut buf).unwrap();
    assert_eq!((f.tag, &buf[..f.len]), (2, &b"b"[..]));
    assert_eq!(ch.len(), 0);
    assert_eq!(ch.stats().sent, 1);
}
