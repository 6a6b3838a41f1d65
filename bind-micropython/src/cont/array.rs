//! A growable array of plain values in one GC block (saved values and pointers): grown with
//! MicroPython's non-raising realloc, so a failed allocation changes nothing.

use core::cell::Cell;
use core::mem::size_of;
use core::ptr;

use crate::ffi;

pub(crate) struct Array<T: Copy> {
    /// The start of the GC block (null while empty and never grown).
    buf: Cell<*mut T>,
    len: Cell<usize>,
    cap: Cell<usize>,
}

impl<T: Copy> Array<T> {
    pub(crate) const fn new() -> Self {
        Self {
            buf: Cell::new(ptr::null_mut()),
            len: Cell::new(0),
            cap: Cell::new(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    /// Appends all of `items`, or nothing (`Err` when the heap is exhausted).
    pub(crate) fn extend(&self, items: &[T]) -> Result<(), ()> {
        let (len, cap) = (self.len.get(), self.cap.get());
        let need = len.checked_add(items.len()).ok_or(())?;
        if need > cap {
            let new_cap = need.max(cap.saturating_mul(2)).max(4);
            let bytes = new_cap.checked_mul(size_of::<T>()).ok_or(())?;
            // SAFETY: `buf` is null or the start of our block of `cap` elements; realloc
            // never raises and keeps the block intact when it fails.
            let p = unsafe {
                ffi::awaitq_mp_sys_realloc(self.buf.get().cast(), cap * size_of::<T>(), bytes)
            };
            if p.is_null() {
                return Err(());
            }
            self.buf.set(p.cast());
            self.cap.set(new_cap);
        }
        // SAFETY: capacity for `need` elements; `items` cannot overlap our block (a caller's
        // array).
        unsafe { ptr::copy_nonoverlapping(items.as_ptr(), self.buf.get().add(len), items.len()) };
        self.len.set(need);
        Ok(())
    }

    pub(crate) fn get(&self, index: usize) -> Option<T> {
        if index < self.len.get() {
            // SAFETY: in bounds of the initialised part of our block.
            Some(unsafe { *self.buf.get().add(index) })
        } else {
            None
        }
    }

    /// Replaces element `index`; false if out of range.
    pub(crate) fn set(&self, index: usize, v: T) -> bool {
        if index < self.len.get() {
            // SAFETY: in bounds.
            unsafe { *self.buf.get().add(index) = v };
            true
        } else {
            false
        }
    }
}
