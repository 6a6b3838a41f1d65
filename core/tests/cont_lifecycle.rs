//! The continuation's life after it starts: close, cancel from native code, a throw with no
//! inner, the finished state, re-entry, panics, and what the binding may inspect.

mod cont_host;

use awaitq_core::{ContError, ContInput, ContPhase, ContStep, Continuation};
use cont_host::{ent, exc, send_none, Act, Cb, Ent, ErrCb, Ev, TestHost};
use ContInput::{Close, Send, Throw};

#[test]
fn a_throw_with_no_inner_is_raised_as_is_and_runs_no_callback() {
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).on_error(ErrCb::Handle(vec![])), ent(2)]);
    assert_eq!(
        host.resume(&cont, Throw(exc("Cancelled"))),
        ContStep::Raise(exc("Cancelled"))
    );
    assert_eq!(host.take_log(), [Ev::Discard(vec![1, 2])]);
    assert_eq!(cont.phase(), ContPhase::Finished);
}

#[test]
fn close_while_awaiting_closes_the_inner_and_discards_the_rest() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1).acts([Act::Yield(1)]).on_error(ErrCb::Handle(vec![])),
        ent(2),
        ent(3),
    ]);
    send_none(&mut host, &cont);
    host.take_log();
    assert_eq!(host.resume(&cont, Close), ContStep::Closed);
    // No callback runs on close.
    assert_eq!(host.take_log(), [Ev::Close(1), Ev::Discard(vec![2, 3])]);
    assert_eq!(cont.phase(), ContPhase::Finished);

    // The inner's close raising comes out; the rest is still discarded.
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1).acts([Act::Yield(1)]).close_err("finally raised"),
        ent(2),
    ]);
    send_none(&mut host, &cont);
    assert_eq!(
        host.resume(&cont, Close),
        ContStep::Raise(exc("finally raised"))
    );
    assert_eq!(host.log.last(), Some(&Ev::Discard(vec![2])));
    assert_eq!(cont.phase(), ContPhase::Finished);
}

#[test]
fn close_when_fresh_discards_without_starting() {
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1), ent(2)]);
    assert_eq!(host.resume(&cont, Close), ContStep::Closed);
    assert_eq!(host.take_log(), [Ev::Discard(vec![1, 2])]);
    assert_eq!(cont.phase(), ContPhase::Finished);
}

#[test]
fn after_finishing_send_is_exhausted_throw_reraises_close_is_a_no_op() {
    for (entries, last) in [
        (vec![ent(1).acts([Act::Return(1)])], ContStep::Return(None)),
        (
            vec![ent(1).acts([Act::Raise("x")])],
            ContStep::Raise(exc("x")),
        ),
    ] {
        let cont = Continuation::new();
        let mut host = TestHost::new(entries);
        assert_eq!(send_none(&mut host, &cont), last);
        host.take_log();
        assert_eq!(
            send_none(&mut host, &cont),
            ContStep::Refused(ContError::Exhausted)
        );
        assert_eq!(
            host.resume(&cont, Throw(exc("late"))),
            ContStep::Raise(exc("late"))
        );
        assert_eq!(host.resume(&cont, Close), ContStep::Closed);
        assert!(
            host.take_log().is_empty(),
            "a finished continuation calls nothing"
        );
        assert_eq!(cont.check_open(), Err(ContError::Finished));
    }
}

#[test]
fn cancel_while_awaiting_closes_the_inner_then_the_next_send_returns_the_result() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1).acts([Act::Yield(1)]).on_result([Cb::SetResultTo(9)]),
        ent(2),
    ]);
    host.result = Some(42);
    send_none(&mut host, &cont);
    host.take_log();
    assert_eq!(cont.cancel(&mut host), Ok(()));
    assert_eq!(host.take_log(), [Ev::Close(1), Ev::Discard(vec![2])]);
    assert_eq!(cont.phase(), ContPhase::Cancelled);
    assert_eq!(cont.check_open(), Ok(()));
    // The driver's wake-up carries a value meant for the closed inner: dropped.
    assert_eq!(
        host.resume(&cont, Send(Some(99))),
        ContStep::Return(Some(42))
    );
    assert_eq!(host.take_log(), [Ev::TakeResult]);
}

#[test]
fn cancel_reports_a_failing_close_and_still_cancels() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1).acts([Act::Yield(1)]).close_err("finally raised"),
        ent(2),
    ]);
    send_none(&mut host, &cont);
    assert_eq!(cont.cancel(&mut host), Err(exc("finally raised")));
    assert_eq!(cont.phase(), ContPhase::Cancelled);
    assert!(host.queue.is_empty());
    // Nothing to forward a throw into any more.
    assert_eq!(
        host.resume(&cont, Throw(exc("Cancelled"))),
        ContStep::Raise(exc("Cancelled"))
    );
    assert_eq!(cont.phase(), ContPhase::Finished);
}

#[test]
fn cancel_when_fresh_drops_the_queue_and_the_awaitable_returns_its_result() {
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1), ent(2)]);
    assert_eq!(cont.cancel(&mut host), Ok(()));
    assert_eq!(host.take_log(), [Ev::Discard(vec![1, 2])]);
    assert_eq!(cont.phase(), ContPhase::Fresh);
    // Still a just-started awaitable.
    assert_eq!(
        host.resume(&cont, Send(Some(1))),
        ContStep::Refused(ContError::NonNoneStart)
    );
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(None));
    // Finished: nothing to do.
    assert_eq!(cont.cancel(&mut host), Ok(()));
    assert_eq!(cont.phase(), ContPhase::Finished);
}

#[test]
fn cancel_from_a_callback_drops_what_is_queued_and_the_step_completes() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1)
            .acts([Act::Return(1)])
            .on_result([Cb::Cancel, Cb::SetResultTo(7)]),
        ent(2),
        ent(3),
    ])
    .with_cont(&cont);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(7)));
    assert_eq!(
        host.take_log(),
        [
            Ev::Take(1),
            Ev::Start(1),
            Ev::Send(1, None),
            Ev::Result(1, Some(1)),
            Ev::Discard(vec![2, 3]),
            Ev::TakeResult,
        ]
    );

    // Awaits added after the cancel, in the same callback, still run.
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1).acts([Act::Return(1)]).on_result([
            Cb::Cancel,
            Cb::Add(ent(4).acts([Act::Return(4)]).on_result([Cb::SetResult])),
        ]),
        ent(2),
    ])
    .with_cont(&cont);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(4)));
}

#[test]
fn reentry_from_a_callback_or_the_inner_is_refused() {
    let running = ContStep::Refused(ContError::Running);
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1)
        .acts([Act::Yield(1), Act::Return(1)])
        .inner_calls([Cb::Reenter])
        .on_result([Cb::Reenter, Cb::SetResult])])
    .with_cont(&cont);
    assert_eq!(send_none(&mut host, &cont), ContStep::Yield(Some(1)));
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(1)));
    let reentered: Vec<_> = host
        .take_log()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Reentered(step) => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(reentered, [running.clone(), running]);
}

#[test]
fn a_panicking_host_leaves_the_continuation_finished() {
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).acts([])]); // the inner's script runs out: panics
    let hit =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| send_none(&mut host, &cont)));
    assert!(hit.is_err());
    assert_eq!(cont.phase(), ContPhase::Finished);
    assert_eq!(
        send_none(&mut host, &cont),
        ContStep::Refused(ContError::Exhausted)
    );
}

#[test]
fn the_binding_can_see_and_clear_the_current_entry() {
    let cont = Continuation::<Ent>::new();
    let mut host = TestHost::new([ent(1).acts([Act::Yield(1)])]);
    assert_eq!(cont.with_current(|e| e.map(|e| e.id)), None);
    send_none(&mut host, &cont);
    assert_eq!(cont.with_current(|e| e.map(|e| e.id)), Some(1));
    assert_eq!(
        cont.with_current(|e| e.map(|e| e.id)),
        Some(1),
        "given back"
    );
    assert_eq!(cont.clear().map(|e| e.id), Some(1));
    assert_eq!(cont.phase(), ContPhase::Finished);
    assert_eq!(
        send_none(&mut host, &cont),
        ContStep::Refused(ContError::Exhausted)
    );
}
