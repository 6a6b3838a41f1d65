//! A Rust future of any type stored in the awaitable object itself: inline when it fits in
//! [`INLINE`] bytes (an `async` block that only moves its captures does), boxed otherwise.
//! The object never moves once allocated, so an inline future stays pinned where it is.

use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, MaybeUninit};
use std::pin::Pin;
use std::task::{Context, Poll};

use pyo3::prelude::*;
use pyo3::Py;

/// The future's output.
pub(crate) type Output = PyResult<Py<PyAny>>;

/// Bytes of inline storage (16-aligned).
const INLINE: usize = 64;

#[repr(C, align(16))]
struct Buf([MaybeUninit<u8>; INLINE]);

/// What to do with the bytes in the buffer.
struct VTable {
    poll: unsafe fn(*mut u8, &mut Context<'_>) -> Poll<Output>,
    drop: unsafe fn(*mut u8),
}

/// Marks an `F` living in the buffer itself.
struct InPlace<F>(PhantomData<F>);
/// Marks an `F` too large (or too aligned) for the buffer: the buffer holds its `Pin<Box>`.
struct Boxed<F>(PhantomData<F>);

trait Stored {
    const VTABLE: VTable;
}

impl<F: Future<Output = Output>> Stored for InPlace<F> {
    const VTABLE: VTable = VTable {
        poll: |p, cx| {
            // SAFETY: `p` holds an `F` (the VTable is chosen with the value) that never moves
            // again (the buffer is inside the awaitable object, which never moves).
            unsafe { Pin::new_unchecked(&mut *p.cast::<F>()) }.poll(cx)
        },
        // SAFETY: `p` holds an `F`, dropped once (the caller forgets the VTable).
        drop: |p| unsafe { p.cast::<F>().drop_in_place() },
    };
}

impl<F: Future<Output = Output>> Stored for Boxed<F> {
    const VTABLE: VTable = VTable {
        // SAFETY: `p` holds a `Pin<Box<F>>`.
        poll: |p, cx| unsafe { &mut *p.cast::<Pin<Box<F>>>() }.as_mut().poll(cx),
        // SAFETY: `p` holds a `Pin<Box<F>>`, dropped once.
        drop: |p| unsafe { p.cast::<Pin<Box<F>>>().drop_in_place() },
    };
}

/// A future of erased type, or nothing (dropped, or finished).
pub(crate) struct ErasedFuture {
    buf: UnsafeCell<Buf>,
    vtable: Cell<Option<&'static VTable>>,
}

impl ErasedFuture {
    pub(crate) fn new<F>(fut: F) -> Self
    where
        F: Future<Output = Output> + Send + 'static,
    {
        let this = Self {
            buf: UnsafeCell::new(Buf([MaybeUninit::uninit(); INLINE])),
            vtable: Cell::new(None),
        };
        let p = this.buf.get().cast::<u8>();
        if size_of::<F>() <= INLINE && align_of::<F>() <= align_of::<Buf>() {
            // SAFETY: the buffer is large and aligned enough for `F` (checked above).
            unsafe { p.cast::<F>().write(fut) };
            this.vtable.set(Some(&<InPlace<F> as Stored>::VTABLE));
        } else {
            // SAFETY: a pointer fits (INLINE >= 8, 16-aligned).
            unsafe { p.cast::<Pin<Box<F>>>().write(Box::pin(fut)) };
            this.vtable.set(Some(&<Boxed<F> as Stored>::VTABLE));
        }
        this
    }

    pub(crate) fn is_live(&self) -> bool {
        self.vtable.get().is_some()
    }

    /// One poll; `None` if there is no future.
    ///
    /// # Safety
    /// `self` does not move from now on (it is inside the awaitable object); not called
    /// re-entrantly, nor while [`drop_future`](Self::drop_future) runs.
    pub(crate) unsafe fn poll(&self, cx: &mut Context<'_>) -> Option<Poll<Output>> {
        let vt = self.vtable.get()?;
        // SAFETY: the VTable matches what the buffer holds; pinning per the contract.
        Some(unsafe { (vt.poll)(self.buf.get().cast(), cx) })
    }

    /// Drops the future in place (a no-op if there is none).
    ///
    /// # Safety
    /// Not while a poll is in progress.
    pub(crate) unsafe fn drop_future(&self) {
        // Taken first: a drop that re-enters finds nothing to drop.
        if let Some(vt) = self.vtable.take() {
            // SAFETY: the VTable matches what the buffer holds; it is dropped once.
            unsafe { (vt.drop)(self.buf.get().cast()) };
        }
    }
}
