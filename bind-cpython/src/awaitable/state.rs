//! The Rust state of an awaitable and how it advances: every decision is the core's
//! (`RecvOp`/`SendOp::resume -> Step`); this file turns `Step`s into Python values, errors
//! and yields.

use std::sync::Arc;

use awaitq_core::{batch_frames, Phase, RecvError, RecvOp, Resume, SendOp, Step, SLOT_HEADER};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use super::AwaitObject;
use crate::buffer;
use crate::errors::Failure;
use crate::shared::Shared;
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
    /// Where a frame lands before it becomes `bytes` (`max_frame` long).
    scratch: Box<[u8]>,
    /// Where `recv_many` lands a batch of frames (made on first use).
    batch: Vec<u8>,
}

impl Inner {
    pub(crate) fn new(shared: Arc<Shared>, kind: Kind) -> Self {
        let max_frame = shared.config.max_frame;
        Self {
            op: Op::for_kind(&kind),
            shared,
            kind,
            ctx: None,
            scratch: vec![0; max_frame].into_boxed_slice(),
            batch: Vec::new(),
        }
    }

    /// Starts a new operation in this finished awaitable (the cache only holds finished
    /// ones, so there is normally nothing to close first).
    pub(crate) fn reset(&mut self, aw: &AwaitObject, kind: Kind) {
        if self.ctx.is_some() || !self.op.finished() {
            self.abandon(aw);
        }
        self.op = Op::for_kind(&kind);
        self.kind = kind;
    }

    /// Ends whatever is in flight without consuming anything (`close()` semantics).
    pub(crate) fn abandon(&mut self, aw: &AwaitObject) {
        self.resume(Resume::Close);
        self.finish(aw);
    }

    /// Deregisters, drops the future and the argument. Every outcome but `Pending` ends here.
    fn finish(&mut self, aw: &AwaitObject) {
        park::leave(&self.shared, &aw.fut, &mut self.ctx);
        drop(aw.arg.take());
    }

    /// `finish`, then offer the object for reuse (not on the dealloc or reset paths).
    fn complete(&mut self, py: Python<'_>, aw: &AwaitObject) {
        self.finish(aw);
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

    /// `send(None)` / `__next__` / `am_send`.
    pub(crate) fn send(&mut self, py: Python<'_>, aw: &AwaitObject) -> PyResult<Out> {
        if self.ctx.is_some() {
            park::check_driver(py, &aw.fut)?;
            park::resumed(&self.shared, &aw.fut, self.ctx);
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
                    // A Python error while building the value: the frame was taken, but we
                    // cannot deliver it (memory exhaustion); end the operation cleanly.
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
        if let Kind::ManyInto(max) = self.kind {
            let Some(buf) = aw.arg.take() else {
                return Ok(Step::Exhausted);
            };
            let r = buffer::with_writable(buf.bind(py), "buf", |dest| {
                op.resume_batch(ch, Resume::Send, dest, max)
            });
            aw.arg.set(Some(buf));
            return Ok(match r.map(|step| ready(step, Failure::Recv)) {
                Ok(Ok((frames, _))) => Step::Ready(frames.into_pyobject(py)?.into_any().unbind()),
                Ok(Err(step)) => step,
                Err(f) => Step::Failed(f),
            });
        }
        if let Kind::Into = self.kind {
            let Some(buf) = aw.arg.take() else {
                return Ok(Step::Exhausted);
            };
            let r = buffer::with_writable(buf.bind(py), "buf", |dest| {
                op.resume(ch, Resume::Send, dest)
            });
            aw.arg.set(Some(buf));
            return Ok(match r.map(|step| ready(step, Failure::Recv)) {
                Ok(Ok(frame)) => Step::Ready(frame.len.into_pyobject(py)?.into_any().unbind()),
                Ok(Err(step)) => step,
                Err(f) => Step::Failed(f),
            });
        }
        let frame = match op.resume(ch, Resume::Send, &mut self.scratch) {
            Step::Failed(RecvError::Closed) if matches!(self.kind, Kind::Next) => {
                return Ok(Step::Failed(Failure::EndOfStream));
            }
            step => match ready(step, Failure::Recv) {
                Ok(frame) => frame,
                Err(step) => return Ok(step),
            },
        };
        let payload = PyBytes::new(py, &self.scratch[..frame.len]);
        let value = match self.kind {
            Kind::Tagged => {
                let tag = frame.tag.into_pyobject(py)?.into_any();
                PyTuple::new(py, [tag, payload.into_any()])?
                    .into_any()
                    .unbind()
            }
            Kind::Many(n) => self.drain_more(py, payload, n)?,
            _ => payload.into_any().unbind(),
        };
        Ok(Step::Ready(value))
    }

    /// `recv_many`: after the first frame, take what else is queued, up to `n` in all, a
    /// batch per core call.
    fn drain_more(
        &mut self,
        py: Python<'_>,
        first: Bound<'_, PyBytes>,
        n: usize,
    ) -> PyResult<Py<PyAny>> {
        let mut items = vec![first];
        let mut want = n - 1;
        if want > 0 && self.batch.is_empty() {
            let record = SLOT_HEADER + self.shared.config.max_frame;
            self.batch = vec![0; (BATCH_BYTES / record).max(1) * record];
        }
        while want > 0 {
            // Empty, or closed and drained: deliver what we have; the next call reports it.
            let Ok((frames, used)) = self.shared.ch.try_recv_batch(&mut self.batch, want) else {
                break;
            };
            items.extend(batch_frames(&self.batch[..used]).map(|(_, p)| PyBytes::new(py, p)));
            want -= frames;
        }
        // Built at its final size (no appends growing it).
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
}

/// How many bytes of frames `recv_many` takes per core call (at least one frame).
const BATCH_BYTES: usize = 8 * 1024;

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
