//! A scripted [`Host`] for the continuation tests: a queue of entries whose inner awaitables
//! follow a script, callbacks that follow a script, and a log of every call the machine makes.
//! It is a real queue host (the [`AddCursor`] rule, discard on demand), as a binding's would be,
//! with Python objects replaced by `Option<i64>` (None is `None`) and [`Exc`].
#![allow(dead_code)] // each test file uses a different part of it

use std::collections::VecDeque;

use awaitq_core::{AddCursor, ContInput, ContStep, Continuation, Host, Inner, Started};

/// A Python value: `None` or an int.
pub type V = Option<i64>;
/// A step as the tests see it.
pub type S = ContStep<V, Exc>;

/// An exception, with the one it was raised while handling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exc {
    pub msg: &'static str,
    pub context: Option<Box<Exc>>,
}

/// The driver's `send(None)`.
pub fn send_none(host: &mut TestHost, cont: &Continuation<Ent>) -> S {
    host.resume(cont, ContInput::Send(None))
}

pub fn exc(msg: &'static str) -> Exc {
    Exc { msg, context: None }
}

/// What the scripted inner does on its next `send`/`throw`.
#[derive(Clone, Debug)]
pub enum Act {
    Yield(i64),
    Return(i64),
    /// Return the value just sent in.
    ReturnSent,
    Raise(&'static str),
    /// Re-raise the exception just thrown in (an inner that does not catch it).
    Reraise,
}

/// What `start` does.
#[derive(Clone, Debug)]
pub enum Start {
    Await,
    Skip,
    Fail(&'static str),
    /// A deferred await: the decision adds these entries, then the entry is skipped.
    Defer(Vec<Ent>),
}

/// One action of a callback.
#[derive(Clone, Debug)]
pub enum Cb {
    /// Keep the value for later callbacks.
    Save,
    /// Set the result to the value received.
    SetResult,
    SetResultTo(i64),
    /// Set the result to the sum of the kept values.
    SetSum,
    Add(Ent),
    Fail(&'static str),
    /// `Continuation::cancel` from inside the callback.
    Cancel,
    /// Resume the continuation from inside the callback (must be refused).
    Reenter,
}

/// The error callback.
#[derive(Clone, Debug)]
pub enum ErrCb {
    /// No error callback: the error propagates.
    Missing,
    Handle(Vec<Cb>),
    /// Raises a new exception while handling (the host chains the original as its context).
    Replace(&'static str),
}

#[derive(Clone, Debug)]
pub struct Ent {
    pub id: u32,
    pub start: Start,
    pub acts: VecDeque<Act>,
    pub on_result: Vec<Cb>,
    pub on_error: ErrCb,
    pub close_err: Option<&'static str>,
    /// Acts that run *inside* the inner's next step (the inner calling back into the
    /// continuation), before it answers.
    pub inner_calls: Vec<Cb>,
}

pub fn ent(id: u32) -> Ent {
    Ent {
        id,
        start: Start::Await,
        acts: VecDeque::new(),
        on_result: Vec::new(),
        on_error: ErrCb::Missing,
        close_err: None,
        inner_calls: Vec::new(),
    }
}

impl Ent {
    pub fn acts(mut self, acts: impl IntoIterator<Item = Act>) -> Self {
        self.acts.extend(acts);
        self
    }
    pub fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }
    pub fn on_result(mut self, cbs: impl IntoIterator<Item = Cb>) -> Self {
        self.on_result.extend(cbs);
        self
    }
    pub fn on_error(mut self, cb: ErrCb) -> Self {
        self.on_error = cb;
        self
    }
    pub fn close_err(mut self, msg: &'static str) -> Self {
        self.close_err = Some(msg);
        self
    }
    /// The scripted inner's answer to a send (`thrown` = None) or a throw.
    pub fn step(&mut self, sent: V, thrown: Option<Exc>) -> Inner<V, Exc> {
        let act = self
            .acts
            .pop_front()
            .unwrap_or_else(|| panic!("entry {}: script ran out", self.id));
        match (act, thrown) {
            (Act::Yield(n), _) => Inner::Yielded(Some(n)),
            (Act::Return(n), _) => Inner::Returned(Some(n)),
            (Act::ReturnSent, None) => Inner::Returned(sent),
            (Act::Raise(msg), None) => Inner::Raised(exc(msg)),
            // Raised while handling the thrown one.
            (Act::Raise(msg), Some(t)) => Inner::Raised(Exc {
                msg,
                context: Some(Box::new(t)),
            }),
            (Act::Reraise, Some(t)) => Inner::Raised(t),
            (act, thrown) => panic!("entry {}: {act:?} cannot answer {thrown:?}", self.id),
        }
    }

    pub fn inner_calls(mut self, cbs: impl IntoIterator<Item = Cb>) -> Self {
        self.inner_calls.extend(cbs);
        self
    }
}

/// Every call the machine made, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    Take(u32),
    Start(u32),
    Send(u32, V),
    Throw(u32, &'static str),
    Close(u32),
    Result(u32, V),
    Error(u32, &'static str),
    /// `discard_pending`, with the ids it dropped.
    Discard(Vec<u32>),
    TakeResult,
    /// What a re-entrant resume from inside host code returned.
    Reentered(S),
}

pub struct TestHost<'c> {
    pub queue: VecDeque<Ent>,
    pub cursor: AddCursor,
    pub result: V,
    pub saved: Vec<i64>,
    pub log: Vec<Ev>,
    /// For callbacks that call back into the continuation.
    pub cont: Option<&'c Continuation<Ent>>,
    /// Log only discards and results (the long runs).
    pub quiet: bool,
    /// `next_entry` fails with this once the queue is empty.
    pub next_err: Option<&'static str>,
    /// Counts for the quiet runs.
    pub results: u64,
}

impl<'c> TestHost<'c> {
    pub fn new(entries: impl IntoIterator<Item = Ent>) -> Self {
        let mut host = Self {
            queue: VecDeque::new(),
            cursor: AddCursor::new(),
            result: None,
            saved: Vec::new(),
            log: Vec::new(),
            cont: None,
            quiet: false,
            next_err: None,
            results: 0,
        };
        for e in entries {
            host.add(e);
        }
        host
    }

    pub fn with_cont(mut self, cont: &'c Continuation<Ent>) -> Self {
        self.cont = Some(cont);
        self
    }

    /// The C API's `add_await`: where the [`AddCursor`] says.
    pub fn add(&mut self, e: Ent) {
        let at = self.cursor.insert_index(self.queue.len());
        self.queue.insert(at, e);
    }

    fn log(&mut self, ev: Ev) {
        if !self.quiet {
            self.log.push(ev);
        }
    }

    /// Drives `cont` like the binding does: one call, one step.
    pub fn resume(&mut self, cont: &Continuation<Ent>, input: ContInput<V, Exc>) -> S {
        cont.resume(self, input)
    }

    pub fn take_log(&mut self) -> Vec<Ev> {
        std::mem::take(&mut self.log)
    }

    fn run_cbs(&mut self, cbs: Vec<Cb>, value: V) -> Result<(), Exc> {
        for cb in cbs {
            match cb {
                Cb::Save => self.saved.push(value.expect("Save needs an int")),
                Cb::SetResult => self.result = value,
                Cb::SetResultTo(n) => self.result = Some(n),
                Cb::SetSum => self.result = Some(self.saved.iter().sum()),
                Cb::Add(e) => self.add(e),
                Cb::Fail(msg) => return Err(exc(msg)),
                Cb::Cancel => {
                    let cont = self.cont.expect("Cancel needs with_cont");
                    cont.cancel(self)?;
                }
                Cb::Reenter => {
                    let cont = self.cont.expect("Reenter needs with_cont");
                    let step = cont.resume(self, ContInput::Send(None));
                    self.log(Ev::Reentered(step));
                }
            }
        }
        Ok(())
    }

    /// The scripted inner's answer to a send (`thrown` = None) or a throw.
    fn answer(&mut self, entry: &mut Ent, sent: V, thrown: Option<Exc>) -> Inner<V, Exc> {
        let calls = std::mem::take(&mut entry.inner_calls);
        if let Err(e) = self.run_cbs(calls, None) {
            return Inner::Raised(e);
        }
        entry.step(sent, thrown)
    }
}

impl Host for TestHost<'_> {
    type Value = V;
    type Error = Exc;
    type Entry = Ent;

    fn next_entry(&mut self) -> Result<Option<Ent>, Exc> {
        self.cursor.reset();
        match self.queue.pop_front() {
            Some(e) => {
                self.log(Ev::Take(e.id));
                Ok(Some(e))
            }
            None => match self.next_err.take() {
                Some(msg) => Err(exc(msg)),
                None => Ok(None),
            },
        }
    }

    fn start(&mut self, entry: &mut Ent) -> Result<Started, Exc> {
        self.log(Ev::Start(entry.id));
        match std::mem::replace(&mut entry.start, Start::Await) {
            Start::Await => Ok(Started::Awaiting),
            Start::Skip => Ok(Started::Skipped),
            Start::Fail(msg) => Err(exc(msg)),
            Start::Defer(adds) => {
                for e in adds {
                    self.add(e);
                }
                Ok(Started::Skipped)
            }
        }
    }

    fn send(&mut self, entry: &mut Ent, value: V) -> Inner<V, Exc> {
        self.log(Ev::Send(entry.id, value));
        self.answer(entry, value, None)
    }

    fn throw(&mut self, entry: &mut Ent, error: Exc) -> Inner<V, Exc> {
        self.log(Ev::Throw(entry.id, error.msg));
        self.answer(entry, None, Some(error))
    }

    fn close_inner(&mut self, entry: Ent) -> Result<(), Exc> {
        self.log(Ev::Close(entry.id));
        let calls = entry.inner_calls.clone();
        self.run_cbs(calls, None)?;
        entry.close_err.map_or(Ok(()), |msg| Err(exc(msg)))
    }

    fn on_result(&mut self, entry: Ent, value: V) -> Result<(), Exc> {
        self.results += 1;
        self.log(Ev::Result(entry.id, value));
        self.run_cbs(entry.on_result, value)
    }

    fn on_error(&mut self, entry: Ent, error: Exc) -> Result<(), Exc> {
        self.log(Ev::Error(entry.id, error.msg));
        match entry.on_error {
            ErrCb::Missing => Err(error),
            ErrCb::Handle(cbs) => self.run_cbs(cbs, None),
            ErrCb::Replace(msg) => Err(Exc {
                msg,
                context: Some(Box::new(error)),
            }),
        }
    }

    fn discard_pending(&mut self) {
        self.cursor.reset();
        let ids = self.queue.drain(..).map(|e| e.id).collect();
        self.log.push(Ev::Discard(ids));
    }

    fn take_result(&mut self) -> V {
        self.log(Ev::TakeResult);
        self.result.take()
    }

    fn none(&self) -> V {
        None
    }

    fn is_none(&self, value: &V) -> bool {
        value.is_none()
    }
}
