//! Property test: random queues of scripted awaits (random starts, inner scripts, callbacks,
//! error callbacks) driven by random sends, throws, closes and native cancels. After every
//! call, the rules of the module's table that hold for any script are checked: refusals change
//! nothing, a finished continuation calls nothing, `Yield` leaves it Awaiting with an inner,
//! every end leaves it Finished with nothing queued, every started inner is first sent `None`,
//! and every await added ends exactly once (result, error, close, discard or skip).

mod cont_host;

use std::collections::HashMap;

use awaitq_core::{ContError, ContInput, ContPhase, ContStep, Continuation};
use cont_host::{ent, exc, Act, Cb, Ent, ErrCb, Ev, Start, TestHost};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Drive {
    SendNone,
    SendValue(i64),
    Throw,
    Close,
    Cancel,
}

fn act_terminal() -> impl Strategy<Value = Act> {
    prop_oneof![(0..100i64).prop_map(Act::Return), Just(Act::Raise("inner")),]
}

/// An inner script valid for any mix of sends and throws: some yields, then an end.
fn acts() -> impl Strategy<Value = Vec<Act>> {
    (
        prop::collection::vec((0..100i64).prop_map(Act::Yield), 0..3),
        act_terminal(),
    )
        .prop_map(|(mut yields, end)| {
            yields.push(end);
            yields
        })
}

fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        6 => Just(Start::Await),
        1 => Just(Start::Skip),
        1 => Just(Start::Fail("start")),
    ]
}

fn err_cb() -> impl Strategy<Value = ErrCb> {
    prop_oneof![
        Just(ErrCb::Missing),
        Just(ErrCb::Handle(vec![])),
        Just(ErrCb::Replace("replaced")),
    ]
}

#[derive(Clone, Debug)]
enum CbKind {
    Save,
    Fail,
    Add,
    Cancel,
}

/// One entry: its start, inner script, result callback, error callback, whether close fails.
type Spec = (Start, Vec<Act>, Vec<CbKind>, ErrCb, bool);

fn spec() -> impl Strategy<Value = Spec> {
    let cb = prop_oneof![
        4 => Just(CbKind::Save),
        1 => Just(CbKind::Fail),
        2 => Just(CbKind::Add),
        1 => Just(CbKind::Cancel),
    ];
    (
        start(),
        acts(),
        prop::collection::vec(cb, 0..3),
        err_cb(),
        any::<bool>(),
    )
}

fn drive() -> impl Strategy<Value = Drive> {
    prop_oneof![
        6 => Just(Drive::SendNone),
        2 => (0..100i64).prop_map(Drive::SendValue),
        2 => Just(Drive::Throw),
        1 => Just(Drive::Close),
        1 => Just(Drive::Cancel),
    ]
}

/// Builds entry `id`; an `Add` callback queues a plain entry numbered from `*next_id`.
fn build(
    id: u32,
    (start, acts, cbs, on_error, close_fails): Spec,
    next_id: &mut u32,
    starts: &mut HashMap<u32, bool>,
) -> Ent {
    starts.insert(id, matches!(start, Start::Skip));
    let cbs = cbs.into_iter().map(|k| match k {
        CbKind::Save => Cb::Save,
        CbKind::Fail => Cb::Fail("callback"),
        CbKind::Cancel => Cb::Cancel,
        CbKind::Add => {
            *next_id += 1;
            starts.insert(*next_id, false);
            Cb::Add(ent(*next_id).acts([Act::Yield(1), Act::Return(2)]))
        }
    });
    let mut e = ent(id)
        .start(start)
        .acts(acts)
        .on_result(cbs)
        .on_error(on_error);
    if close_fails {
        e = e.close_err("close");
    }
    e
}

fn run(specs: Vec<Spec>, drives: Vec<Drive>) {
    let mut next_id = 1000;
    let mut starts = HashMap::new();
    let entries: Vec<Ent> = specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| build(i as u32, s, &mut next_id, &mut starts))
        .collect();
    let cont = Continuation::new();
    let mut host = TestHost::new(entries).with_cont(&cont);

    for d in drives {
        let before_phase = cont.phase();
        let before_log = host.log.len();
        let step = match d {
            Drive::SendNone => host.resume(&cont, ContInput::Send(None)),
            Drive::SendValue(v) => host.resume(&cont, ContInput::Send(Some(v))),
            Drive::Throw => host.resume(&cont, ContInput::Throw(exc("thrown"))),
            Drive::Close => host.resume(&cont, ContInput::Close),
            Drive::Cancel => {
                let _ = cont.cancel(&mut host);
                let expect = match before_phase {
                    ContPhase::Fresh => ContPhase::Fresh,
                    ContPhase::Finished => ContPhase::Finished,
                    _ => ContPhase::Cancelled,
                };
                assert_eq!(cont.phase(), expect);
                assert!(host.queue.is_empty(), "cancel drops every queued await");
                continue;
            }
        };
        if before_phase == ContPhase::Finished {
            assert_eq!(
                host.log.len(),
                before_log,
                "a finished continuation calls nothing"
            );
        }
        // The cells of the table that do not depend on the script.
        let fixed = match (before_phase, &d) {
            (ContPhase::Fresh, Drive::SendValue(_)) => {
                Some(ContStep::Refused(ContError::NonNoneStart))
            }
            (ContPhase::Finished, Drive::SendNone | Drive::SendValue(_)) => {
                Some(ContStep::Refused(ContError::Exhausted))
            }
            (ContPhase::Fresh | ContPhase::Cancelled | ContPhase::Finished, Drive::Throw) => {
                Some(ContStep::Raise(exc("thrown")))
            }
            (ContPhase::Fresh | ContPhase::Cancelled | ContPhase::Finished, Drive::Close) => {
                Some(ContStep::Closed)
            }
            _ => None,
        };
        if let Some(fixed) = fixed {
            assert_eq!(step, fixed, "{d:?} in {before_phase:?}");
        }
        match &step {
            ContStep::Refused(err) => {
                assert_eq!(host.log.len(), before_log, "a refusal calls nothing");
                assert_eq!(cont.phase(), before_phase, "a refusal changes nothing");
                let expected = match before_phase {
                    ContPhase::Fresh => ContError::NonNoneStart,
                    ContPhase::Finished => ContError::Exhausted,
                    other => panic!("refused {err:?} in {other:?}"),
                };
                assert_eq!(*err, expected);
            }
            ContStep::Yield(_) => {
                assert_eq!(cont.phase(), ContPhase::Awaiting);
                assert!(cont.with_current(|c| c.is_some()));
            }
            ContStep::Return(_) | ContStep::Raise(_) | ContStep::Closed => {
                assert_eq!(cont.phase(), ContPhase::Finished);
                assert!(host.queue.is_empty(), "nothing stays queued after the end");
            }
        }
    }

    // Every started inner was first sent None.
    let mut fresh: HashMap<u32, bool> = HashMap::new();
    for ev in &host.log {
        match ev {
            Ev::Start(id) => {
                fresh.insert(*id, true);
            }
            Ev::Send(id, v) if fresh.insert(*id, false) == Some(true) => {
                assert_eq!(*v, None, "entry {id} started with a value");
            }
            _ => {}
        }
    }

    // Every await added ended exactly once, or is still current or queued.
    let mut ends: HashMap<u32, usize> = HashMap::new();
    let mut started = std::collections::HashSet::new();
    for ev in &host.log {
        match ev {
            Ev::Result(id, _) | Ev::Error(id, _) | Ev::Close(id) => {
                *ends.entry(*id).or_default() += 1
            }
            Ev::Discard(ids) => ids.iter().for_each(|id| *ends.entry(*id).or_default() += 1),
            Ev::Start(id) => {
                started.insert(*id);
            }
            _ => {}
        }
    }
    let current = cont.with_current(|c| c.map(|e| e.id));
    let queued: Vec<u32> = host.queue.iter().map(|e| e.id).collect();
    for (id, skips) in starts {
        let n = ends.get(&id).copied().unwrap_or(0);
        let added = id < 1000 || started.contains(&id) || n > 0 || queued.contains(&id);
        if !added {
            continue; // its Add callback never ran
        }
        let pending = usize::from(current == Some(id) || queued.contains(&id));
        let skipped = usize::from(skips && started.contains(&id) && n == 0);
        assert_eq!(
            n + pending + skipped,
            1,
            "entry {id} ended {n} times, log {:?}",
            host.log
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_script_keeps_the_table_rules(
        specs in prop::collection::vec(spec(), 0..6),
        drives in prop::collection::vec(drive(), 1..12),
    ) {
        run(specs, drives);
    }
}
