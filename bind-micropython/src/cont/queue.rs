//! The queue of a native awaitable: a singly linked list of entry nodes, in core's
//! [`AddCursor`] order (awaits added by a callback run next, in the order added). The list is
//! walked only to find where to insert; the node last inserted is remembered, so the usual
//! inserts (right after the previous one) and pops cost O(1).

use core::cell::Cell;
use core::ptr::{self, NonNull};

use awaitq_core::AddCursor;

use super::entry::{Entry, Node};

pub(crate) struct Queue {
    head: Cell<*mut Node>,
    len: Cell<usize>,
    cursor: Cell<AddCursor>,
    /// The node last inserted and its index (null when unknown).
    last: Cell<(usize, *mut Node)>,
}

impl Queue {
    pub(crate) const fn new() -> Self {
        Self {
            head: Cell::new(ptr::null_mut()),
            len: Cell::new(0),
            cursor: Cell::new(AddCursor::new()),
            last: Cell::new((0, ptr::null_mut())),
        }
    }

    /// Inserts where core's cursor says.
    pub(crate) fn insert(&self, entry: Entry) {
        let mut cursor = self.cursor.get();
        let at = cursor.insert_index(self.len.get());
        self.cursor.set(cursor);
        let new = entry.as_ptr();
        // SAFETY: every pointer in the list is a live node owned by this queue (their blocks
        // are reachable from the awaitable); nothing else runs while the links change.
        unsafe {
            let link = if at == 0 {
                &self.head
            } else {
                &(*self.node_at(at - 1)).next
            };
            (*new).next.set(link.get());
            link.set(new);
        }
        self.last.set((at, new));
        self.len.set(self.len.get() + 1);
    }

    /// The node at `index` (< len).
    ///
    /// # Safety
    /// `index < len`.
    unsafe fn node_at(&self, index: usize) -> *mut Node {
        let (at, node) = self.last.get();
        if at == index && !node.is_null() {
            return node;
        }
        let mut p = self.head.get();
        for _ in 0..index {
            // SAFETY: index < len, so the first `index` nodes exist.
            p = unsafe { (*p).next.get() };
        }
        p
    }

    /// Takes the first entry (core's `next_entry` for a queue).
    pub(crate) fn pop(&self) -> Option<Entry> {
        let p = NonNull::new(self.head.get())?;
        // SAFETY: a live node of this queue; unlinked here, so the handle is its only owner.
        unsafe {
            self.head.set(p.as_ref().next.replace(ptr::null_mut()));
            self.forget_position();
            self.len.set(self.len.get() - 1);
            Some(Entry::from_ptr(p))
        }
    }

    /// Empties the queue and returns its entries, in order (`discard_pending`: taken out
    /// first, so closing them may add to or cancel this awaitable).
    pub(crate) fn take_all(&self) -> Drain {
        let head = self.head.replace(ptr::null_mut());
        self.len.set(0);
        self.forget_position();
        Drain(head)
    }

    fn forget_position(&self) {
        self.cursor.set(AddCursor::new());
        self.last.set((0, ptr::null_mut()));
    }
}

/// The entries [`Queue::take_all`] took out.
pub(crate) struct Drain(*mut Node);

impl Iterator for Drain {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        let p = NonNull::new(self.0)?;
        // SAFETY: the nodes were unlinked from their queue as one chain; each is taken once.
        unsafe {
            self.0 = p.as_ref().next.replace(ptr::null_mut());
            Some(Entry::from_ptr(p))
        }
    }
}
