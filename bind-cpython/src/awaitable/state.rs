//! The Rust state of an awaitable and how it advances: every decision is the core's
//! (`RecvOp`/`SendOp::resume -> Step`); this file turns `Step`s into Python values, errors
//! and yields.

use std::sync::Arc;

use awaitq_core::{record_len, Phase, RecvError, RecvOp, Resume, SendOp, Step};
use pyo3::ffi;
use pyo3::prelude::*;

use super::AwaitObject;
use crate::buffer;
use crate::errors::Failure;
use crate::gil::drop_now;
use crate::shared::Shared;
use crate::staged::Staged;
use crate::wake::park::{self, Parked};

/// Which operation an awaitable performs, and what it returns.
pub(crate) enum Kind {
    /// `recv()`: `bytes`.
    Recv,
    /// `__anext__()`: `bytes`; closed and drained ends the `async for`.
    Next,
    /// `recv_tagged()`: `(tag, bytes)`.
    Tagged,
    /// `recv_into(buf)`: the payload length; the buffer is the object's `arg`.
    Into,
    /// `recv_many(n)`: a list of 1..=n `bytes`.
    Many(usize),
    /// `recv_many_into(buf, max)`: the number of records (1..=max) packed into the buffer,
    /// which is the object's `arg`.
    ManyInto(usize),
    /// `send(data, tag)`: `None` once queued.
    Send { tag: u32, data: Vec<u8> },
}

enum Op {
    Recv(RecvOp),
    Send(SendOp),
}

impl Op {
    fn finished(&self) -> bool {
        let phase = match self {
            Self::Recv(op) => op.phase(),
            Self::Send(op) => op.phase(),
        };
        phase == Phase::Finished
    }

    fn for_kind(kind: &Kind) -> Self {
        match kind {
            Kind::Send { .. } => Self::Send(SendOp::new()),
            _ => Self::Recv(RecvOp::new()),
        }
    }
}

/// What a step gives the driver.
pub(crate) enum Out {
    /// The await completes with this value.
    Return(Py<PyAny>),
    /// The awaitable suspends, yielding this object.
    Yield(Py<PyAny>),
}

/// The awaitable's Rust-only state (the garbage collector never looks here).
pub(crate) struct Inner {
    shared: Arc<Shared>,
    kind: Kind,
    op: Op,
    /// The context this awaitable is registered in as a waiter, while parked.
    ctx: Option<u64>,
}

impl Inner {
    pub(crate) fn new(shared: Arc<Shared>, kind: Kind) -> Self {
        Self {
            op: Op::for_kind(&kind),
            shared,
            kind,
            ctx: None,
        }
    }

    /// Starts a new operation in this finished awaitable (the cache only holds finished
    /// ones, so there is normally nothing to close first).
    pub(crate) fn reset(&mut self, py: Python<'_>, aw: &AwaitObject, kind: Kind) {
        if self.ctx.is_some() || !self.op.finished() {
            self.abandon(py, aw);
        }
        self.op = Op::for_kind(&kind);
        self.kind = kind;
    }

    /// Ends whatever is in flight without consuming anything (`close()` semantics).
    pub(crate) fn abandon(&mut self, py: Python<'_>, aw: &AwaitObject) {
        self.resume(Resume::Close);
        self.finish(py, aw);
    }

    /// Deregisters, drops the future and the argument. Every outcome but `Pending` ends here.
    /// Only a parked awaitable (`ctx` set) has a future, only `recv_into` an argument: the
    /// ready path of the other kinds skips both.
    #[inline]
    fn finish(&mut self, py: Python<'_>, aw: &AwaitObject) {
        if self.ctx.is_some() {
            park::leave(py, &self.shared, &aw.fut, &mut self.ctx);
        }
        if matches!(self.kind, Kind::Into) {
            drop_now(py, aw.arg.take());
        }
    }

    /// `finish`, then offer the object for reuse (not on the dealloc or reset paths).
    fn complete(&mut self, py: Python<'_>, aw: &AwaitObject) {
        self.finish(py, aw);
        self.shared.cache.offer(py, aw);
    }

    /// A throw or close step: the core unparks and never delivers (`Rethrow` / `Returned`).
    fn resume(&mut self, input: Resume) {
        let ch = &self.shared.ch;
        match &mut self.op {
            Op::Recv(op) => drop(op.resume(ch, input, &mut [])),
            Op::Send(op) => drop(op.resume(ch, input, 0, &[])),
        }
    }

    /// `send(value)` / `__next__` / `am_send`: `value` matters only to a trio park (an
    /// `outcome`; a cancel arrives as one and ends the wait like a `throw`).
    pub(crate) fn send(
        &mut self,
        py: Python<'_>,
        aw: &AwaitObject,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Out> {
        if self.ctx.is_some() {
            park::check_driver(py, &aw.fut, self.ctx)?;
            let sent = park::outcome(py, self.ctx, value);
            park::resumed(py, &self.shared, &aw.fut, self.ctx);
            if let Err(e) = sent {
                self.throw(py, aw);
                return Err(e);
            }
        }
        loop {
            let step = self.attempt(py, aw);
            match step {
                Ok(Step::Pending) => match park::park(py, &self.shared, &aw.fut, &mut self.ctx) {
                    Ok(Parked::Yield(obj)) => return Ok(Out::Yield(obj)),
                    Ok(Parked::Recheck) => continue,
                    Err(e) => {
                        self.resume(Resume::Close);
                        self.complete(py, aw);
                        return Err(e);
                    }
                },
                Ok(Step::Ready(value)) => {
                    self.complete(py, aw);
                    return Ok(Out::Return(value));
                }
                Ok(Step::Failed(f)) => {
                    self.complete(py, aw);
                    return Err(f.into());
                }
                Ok(_) => return Err(Failure::Exhausted.into()),
                Err(e) => {
                    // A Python error while building the value (memory exhaustion): the frame
                    // stays staged for the next receive; end the operation without holding
                    // the receiver slot.
                    self.resume(Resume::Close);
                    self.complete(py, aw);
                    return Err(e);
                }
            }
        }
    }

    /// `throw(exc)`: the driver cancels the wait; nothing is consumed.
    pub(crate) fn throw(&mut self, py: Python<'_>, aw: &AwaitObject) {
        self.resume(Resume::Throw);
        self.complete(py, aw);
    }

    /// `close()`: the driver discards the wait; nothing is consumed.
    pub(crate) fn close(&mut self, py: Python<'_>, aw: &AwaitObject) {
        self.resume(Resume::Close);
        self.complete(py, aw);
    }

    /// One attempt of the operation, as a core `Step` whose `Ready` carries the Python value.
    ///
    /// Receives go through the channel's [`Staged`] records: a frame taken from the core stays
    /// staged until its Python value exists, so a failed allocation (`MemoryError`) leaves it
    /// for the next receive instead of losing it. Containers (a tuple, a list) are made before
    /// anything is taken: they are tracked by the garbage collector, whose collection may run
    /// Python code, which must not happen while the staging cell is held.
    fn attempt(&mut self, py: Python<'_>, aw: &AwaitObject) -> PyResult<Step<Py<PyAny>, Failure>> {
        let ch = &self.shared.ch;
        let op = match &mut self.op {
            Op::Recv(op) => op,
            Op::Send(op) => {
                let Kind::Send { tag, data } = &self.kind else {
                    return Ok(Step::Exhausted); // never: a send op always has a send kind
                };
                return Ok(
                    match ready(op.resume(ch, Resume::Send, *tag, data), Failure::Push) {
                        Ok(()) => Step::Ready(py.None()),
                        Err(step) => step,
                    },
                );
            }
        };
        if let Kind::Into | Kind::ManyInto(_) = self.kind {
            let Some(buf) = aw.arg.take() else {
                return Ok(Step::Exhausted);
            };
            let (shared, kind) = (&self.shared, &self.kind);
            let r = buffer::with_writable(buf.bind(py), "buf", |dest| {
                shared.staged.with(py, |st| match *kind {
                    Kind::ManyInto(max) => recv_many_into(py, shared, op, st, dest, max),
                    _ => recv_into(py, shared, op, st, dest),
                })
            });
            drop_now(py, aw.arg.replace(Some(buf)));
            return match r {
                Ok(r) => r,
                Err(f) => {
                    // The buffer is no longer usable (released, resized away): the operation
                    // fails without consuming, and must release the receiver slot it holds.
                    let _ = op.resume(ch, Resume::Close, &mut []);
                    Ok(Step::Failed(f))
                }
            };
        }
        let container = match self.kind {
            // SAFETY: attached; PyTuple_New returns a new reference or NULL with an error.
            Kind::Tagged => Some(unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(2))? }),
            // SAFETY: as above, for PyList_New.
            Kind::Many(_) => Some(unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(0))? }),
            _ => None,
        };
        let next = matches!(self.kind, Kind::Next);
        let want = match self.kind {
            Kind::Many(n) => n,
            _ => 1,
        };
        let tagged = matches!(self.kind, Kind::Tagged);
        let shared = &self.shared;
        shared.staged.with(py, |st| {
            if st.is_empty() {
                match op.resume(ch, Resume::Send, st.landing()) {
                    // `recv()` / `__anext__`: the bytes straight from the landing area; the
                    // frame is staged (its record header written) only if they cannot be made.
                    Step::Ready(frame) if container.is_none() => {
                        return match new_bytes(py, st.landed_payload(frame.len)) {
                            Ok(value) => Ok(Step::Ready(value.unbind())),
                            Err(e) => {
                                st.landed(frame.tag, frame.len);
                                Err(e)
                            }
                        };
                    }
                    Step::Ready(frame) => st.landed(frame.tag, frame.len),
                    // Closed by a native reader's error: raised, even from `async for`.
                    Step::Failed(e @ RecvError::Closed) if shared.has_close_error() => {
                        return Ok(Step::Failed(shared.recv_failure(e)));
                    }
                    Step::Failed(RecvError::Closed) if next => {
                        return Ok(Step::Failed(Failure::EndOfStream));
                    }
                    step => {
                        return Ok(match ready(step, |e| shared.recv_failure(e)) {
                            Ok(_) => Step::Exhausted, // never: Ready is handled above
                            Err(step) => step,
                        });
                    }
                }
                // `recv_many`: what else is queued, up to `want` in all, one batch per section.
                let mut more = want - 1;
                while more > 0 {
                    // Empty, or closed and drained: deliver what we have; the next call
                    // reports it.
                    let Ok((frames, used)) = ch.try_recv_batch(st.tail(), more) else {
                        break;
                    };
                    st.extended(used);
                    more -= frames;
                }
            } else {
                // Frames staged by an earlier failure come first; this operation ends
                // without taking anything from the core (unparking if it was parked).
                let _ = op.resume(ch, Resume::Close, &mut []);
            }
            let delivered = match &container {
                Some(c) if tagged => {
                    let (tag, payload) = st.iter().next().expect("staged");
                    let tag = new_int(py, tag as usize)?;
                    let payload = new_bytes(py, payload)?;
                    // SAFETY: a fresh 2-tuple of ours; SetItem steals the references.
                    unsafe {
                        ffi::PyTuple_SetItem(c.as_ptr(), 0, tag.into_ptr());
                        ffi::PyTuple_SetItem(c.as_ptr(), 1, payload.into_ptr());
                    }
                    1
                }
                Some(list) => {
                    let mut n = 0;
                    for (_, payload) in st.iter().take(want) {
                        // A failure after the first frame delivers what was built; the rest
                        // stays staged.
                        let item = match new_bytes(py, payload) {
                            Ok(item) => item,
                            Err(e) if n == 0 => return Err(e),
                            Err(_) => break,
                        };
                        // SAFETY: a list of ours and a live item; Append adds a reference.
                        if unsafe { ffi::PyList_Append(list.as_ptr(), item.as_ptr()) } != 0 {
                            let e = PyErr::fetch(py);
                            if n == 0 {
                                return Err(e);
                            }
                            break;
                        }
                        n += 1;
                    }
                    n
                }
                None => {
                    let (_, payload) = st.iter().next().expect("staged");
                    let value = new_bytes(py, payload)?;
                    st.consume(1);
                    return Ok(Step::Ready(value.into_any().unbind()));
                }
            };
            st.consume(delivered);
            Ok(Step::Ready(container.clone().expect("container").unbind()))
        })
    }
}

/// `recv_into`: a staged frame first, else one from the core straight into `dest`. The
/// result (the length, an `int`) is made before the frame is dropped from staging, and a
/// frame whose result cannot be made is staged again (copied back from `dest`).
fn recv_into(
    py: Python<'_>,
    shared: &Shared,
    op: &mut RecvOp,
    st: &mut Staged,
    dest: &mut [u8],
) -> PyResult<Step<Py<PyAny>, Failure>> {
    let ch = &shared.ch;
    if !st.is_empty() {
        let _ = op.resume(ch, Resume::Close, &mut []);
        let (_, payload) = st.iter().next().expect("staged");
        if payload.len() > dest.len() {
            return Ok(Step::Failed(Failure::Recv(RecvError::BufferTooSmall {
                needed: payload.len(),
                got: dest.len(),
            })));
        }
        let len = payload.len();
        dest[..len].copy_from_slice(payload);
        let value = new_int(py, len)?;
        st.consume(1);
        return Ok(Step::Ready(value.unbind()));
    }
    match ready(op.resume(ch, Resume::Send, dest), |e| {
        shared.recv_failure(e)
    }) {
        Ok(frame) => match new_int(py, frame.len) {
            Ok(v) => Ok(Step::Ready(v.unbind())),
            Err(e) => {
                st.put_back(frame.tag, &dest[..frame.len]);
                Err(e)
            }
        },
        Err(step) => Ok(step),
    }
}

/// Most frames one `recv_many_into` delivers: its count is then one of CPython's preallocated
/// small ints (-5..=256, documented for `PyLong_FromLong`), so making the result cannot fail
/// once the frames left the channel, and a batch never needs staging back.
pub(crate) const MANY_INTO_MAX: usize = 256;

/// `recv_many_into`: frames staged by an earlier failed delivery first (copied into `dest` as
/// records; this operation then takes nothing from the core), else a batch from the core
/// straight into `dest`.
fn recv_many_into(
    py: Python<'_>,
    shared: &Shared,
    op: &mut RecvOp,
    st: &mut Staged,
    dest: &mut [u8],
    max: usize,
) -> PyResult<Step<Py<PyAny>, Failure>> {
    let ch = &shared.ch;
    let max = max.clamp(1, MANY_INTO_MAX);
    if !st.is_empty() {
        let _ = op.resume(ch, Resume::Close, &mut []);
        let (mut used, mut n) = (0, 0);
        for (tag, payload) in st.iter().take(max) {
            match awaitq_core::write_record(&mut dest[used..], tag, payload) {
                Some(k) => (used, n) = (used + k, n + 1),
                None => break,
            }
        }
        if n == 0 {
            let needed = st.iter().next().map_or(0, |(_, p)| record_len(p.len()));
            return Ok(Step::Failed(Failure::Recv(RecvError::BufferTooSmall {
                needed,
                got: dest.len(),
            })));
        }
        let value = new_int(py, n)?;
        st.consume(n);
        return Ok(Step::Ready(value.unbind()));
    }
    match ready(op.resume_batch(ch, Resume::Send, dest, max), |e| {
        shared.recv_failure(e)
    }) {
        Ok((frames, _)) => Ok(Step::Ready(new_int(py, frames)?.unbind())),
        Err(step) => Ok(step),
    }
}

/// `bytes(payload)`, or `MemoryError` (never a panic).
/// One CPython call that copies `payload` (`PyBytes::new_with` would also zero the buffer and
/// look it up with `PyBytes_AsString` first; `PyBytes::new` panics on failure).
pub(crate) fn new_bytes<'py>(py: Python<'py>, payload: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // A slice is never longer than isize::MAX bytes, so the length fits a Py_ssize_t.
    let len = payload.len() as ffi::Py_ssize_t;
    // SAFETY: attached; `payload` is valid for `len` bytes, which CPython copies before
    // returning; the result is a new reference or NULL with an error set.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyBytes_FromStringAndSize(payload.as_ptr().cast(), len),
        )
    }
}

/// `int(n)`, or `MemoryError` (never a panic).
fn new_int(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: attached; a new reference or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromSize_t(n)) }
}

/// Splits a core step into its `Ready` value (`Ok`) or the step to report, error mapped.
fn ready<T, U, E>(step: Step<T, E>, err: impl FnOnce(E) -> Failure) -> Result<T, Step<U, Failure>> {
    match step {
        Step::Ready(v) => Ok(v),
        Step::Pending => Err(Step::Pending),
        Step::Failed(e) => Err(Step::Failed(err(e))),
        Step::Rethrow => Err(Step::Rethrow),
        Step::Returned => Err(Step::Returned),
        Step::Exhausted => Err(Step::Exhausted),
    }
}
