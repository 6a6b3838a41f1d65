//! The continuation machine against a scripted host: sequencing (yields up, sends down,
//! values carried, run-time ordering, deferred awaits) and every error path.

mod cont_host;

use awaitq_core::{ContError, ContInput, ContPhase, ContStep, Continuation, ExcType};
use cont_host::{ent, exc, send_none, Act, Cb, ErrCb, Ev, Exc, Start, TestHost};
use ContInput::{Send, Throw};

#[test]
fn empty_continuation_returns_its_result_at_once() {
    let cont = Continuation::new();
    let mut host = TestHost::new([]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(None));
    assert_eq!(cont.phase(), ContPhase::Finished);
    assert_eq!(host.take_log(), [Ev::TakeResult]);

    let cont = Continuation::new();
    let mut host = TestHost::new([]);
    host.result = Some(7);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(7)));
}

#[test]
fn yields_pass_up_and_sends_pass_down_unchanged_across_steps() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1)
            .acts([Act::Yield(1), Act::Yield(2), Act::ReturnSent])
            .on_result([Cb::Save]),
        ent(2)
            .acts([Act::Yield(3), Act::Return(5)])
            .on_result([Cb::Save, Cb::SetSum]),
    ]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Yield(Some(1)));
    assert_eq!(cont.phase(), ContPhase::Awaiting);
    assert_eq!(host.resume(&cont, Send(Some(10))), ContStep::Yield(Some(2)));
    // Entry 1 returns what the driver sent; entry 2 starts with None, in the same resume.
    assert_eq!(host.resume(&cont, Send(Some(20))), ContStep::Yield(Some(3)));
    assert_eq!(
        host.resume(&cont, Send(Some(30))),
        ContStep::Return(Some(25))
    );
    assert_eq!(
        host.take_log(),
        [
            Ev::Take(1),
            Ev::Start(1),
            Ev::Send(1, None),
            Ev::Send(1, Some(10)),
            Ev::Send(1, Some(20)),
            Ev::Result(1, Some(20)),
            Ev::Take(2),
            Ev::Start(2),
            Ev::Send(2, None),
            Ev::Send(2, Some(30)),
            Ev::Result(2, Some(5)),
            Ev::TakeResult,
        ]
    );
    assert_eq!(cont.phase(), ContPhase::Finished);
}

#[test]
fn a_callback_queues_the_next_await_and_carries_values() {
    let cont = Continuation::new();
    let third = ent(3)
        .acts([Act::Return(300)])
        .on_result([Cb::Save, Cb::SetSum]);
    let second = ent(2)
        .acts([Act::Return(20)])
        .on_result([Cb::Save, Cb::Add(third)]);
    let mut host = TestHost::new([ent(1)
        .acts([Act::Return(1)])
        .on_result([Cb::Save, Cb::Add(second)])]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(321)));
    assert_eq!(host.saved, [1, 20, 300]);
}

#[test]
fn awaits_added_by_a_callback_run_next_in_order() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1).acts([Act::Return(1)]).on_result([
            Cb::Add(ent(3).acts([Act::Return(3)])),
            Cb::Add(ent(4).acts([Act::Return(4)])),
        ]),
        ent(2).acts([Act::Return(2)]),
    ]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(None));
    let taken: Vec<_> = host
        .take_log()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Take(id) => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(taken, [1, 3, 4, 2]);
}

#[test]
fn a_deferred_await_decides_when_reached_and_its_awaits_run_next() {
    let cont = Continuation::new();
    let decided = vec![
        ent(10).acts([Act::Yield(9), Act::Return(10)]),
        ent(11).acts([Act::Return(11)]),
    ];
    let mut host = TestHost::new([
        ent(1).acts([Act::Return(1)]),
        ent(2).start(Start::Defer(decided)),
        ent(3).acts([Act::Return(3)]),
    ]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Yield(Some(9)));
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(None));
    let log = host.take_log();
    let order: Vec<_> = log
        .iter()
        .filter_map(|e| match e {
            Ev::Take(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(order, [1, 2, 10, 11, 3]);
    // A skipped entry is never sent into and gets no callback.
    assert!(!log
        .iter()
        .any(|e| matches!(e, Ev::Send(2, _) | Ev::Result(2, _) | Ev::Error(2, _))));
}

#[test]
fn the_first_send_must_be_none_and_a_refusal_changes_nothing() {
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).acts([Act::Return(1)]).on_result([Cb::SetResult])]);
    assert_eq!(
        host.resume(&cont, Send(Some(5))),
        ContStep::Refused(ContError::NonNoneStart)
    );
    assert_eq!(cont.phase(), ContPhase::Fresh);
    assert!(host.take_log().is_empty());
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(1)));
}

#[test]
fn a_failed_start_goes_to_the_error_callback() {
    // No error callback: raised, the rest is discarded.
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).start(Start::Fail("not awaitable")), ent(2)]);
    assert_eq!(
        send_none(&mut host, &cont),
        ContStep::Raise(exc("not awaitable"))
    );
    assert_eq!(
        host.take_log(),
        [
            Ev::Take(1),
            Ev::Start(1),
            Ev::Error(1, "not awaitable"),
            Ev::Discard(vec![2])
        ]
    );
    assert_eq!(cont.phase(), ContPhase::Finished);

    // Handled: the next entry runs; the failed one was never sent into.
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1)
            .start(Start::Fail("not awaitable"))
            .on_error(ErrCb::Handle(vec![Cb::SetResultTo(-1)])),
        ent(2).acts([Act::Return(2)]),
    ]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(-1)));
    assert!(!host.take_log().contains(&Ev::Send(1, None)));
}

#[test]
fn an_inner_error_is_raised_handled_or_replaced_with_its_context() {
    let raising = || ent(1).acts([Act::Yield(1), Act::Raise("boom")]);

    let cont = Continuation::new();
    let mut host = TestHost::new([raising(), ent(2)]);
    assert_eq!(send_none(&mut host, &cont), ContStep::Yield(Some(1)));
    assert_eq!(send_none(&mut host, &cont), ContStep::Raise(exc("boom")));
    assert_eq!(host.log.last(), Some(&Ev::Discard(vec![2])));

    let cont = Continuation::new();
    let mut host = TestHost::new([
        raising().on_error(ErrCb::Handle(vec![])),
        ent(2).acts([Act::Return(2)]).on_result([Cb::SetResult]),
    ]);
    send_none(&mut host, &cont);
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(2)));

    let cont = Continuation::new();
    let mut host = TestHost::new([raising().on_error(ErrCb::Replace("wrapped")), ent(2)]);
    send_none(&mut host, &cont);
    let raised = Exc {
        msg: "wrapped",
        context: Some(Box::new(exc("boom"))),
    };
    assert_eq!(send_none(&mut host, &cont), ContStep::Raise(raised));
    assert_eq!(host.log.last(), Some(&Ev::Discard(vec![2])));
}

#[test]
fn a_result_callback_error_is_raised_without_the_error_callback() {
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1)
            .acts([Act::Return(1)])
            .on_result([Cb::Fail("cb failed")])
            .on_error(ErrCb::Handle(vec![])),
        ent(2),
    ]);
    assert_eq!(
        send_none(&mut host, &cont),
        ContStep::Raise(exc("cb failed"))
    );
    let log = host.take_log();
    assert!(!log.iter().any(|e| matches!(e, Ev::Error(..))));
    assert_eq!(log.last(), Some(&Ev::Discard(vec![2])));
}

#[test]
fn a_failing_next_entry_finishes_with_its_error() {
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).acts([Act::Return(1)])]);
    host.next_err = Some("future panicked");
    assert_eq!(
        send_none(&mut host, &cont),
        ContStep::Raise(exc("future panicked"))
    );
    assert_eq!(cont.phase(), ContPhase::Finished);
    assert_eq!(host.log.last(), Some(&Ev::Discard(vec![])));
}

#[test]
fn a_throw_is_forwarded_into_the_inner_which_may_catch_it() {
    // Caught: the inner keeps yielding, then returns; the result callback sees it.
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1)
        .acts([Act::Yield(1), Act::Yield(2), Act::Return(3)])
        .on_result([Cb::SetResult])]);
    send_none(&mut host, &cont);
    assert_eq!(
        host.resume(&cont, Throw(exc("Cancelled"))),
        ContStep::Yield(Some(2))
    );
    assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(3)));
    assert!(host.log.contains(&Ev::Throw(1, "Cancelled")));

    // Caught and returned at once.
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1)
        .acts([Act::Yield(1), Act::Return(4)])
        .on_result([Cb::SetResult])]);
    send_none(&mut host, &cont);
    assert_eq!(
        host.resume(&cont, Throw(exc("Cancelled"))),
        ContStep::Return(Some(4))
    );
}

#[test]
fn a_thrown_exception_the_inner_reraises_reaches_the_error_callback() {
    // No error callback: the very exception thrown comes back out; the rest is discarded.
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).acts([Act::Yield(1), Act::Reraise]), ent(2)]);
    send_none(&mut host, &cont);
    assert_eq!(
        host.resume(&cont, Throw(exc("Cancelled"))),
        ContStep::Raise(exc("Cancelled"))
    );
    assert_eq!(
        host.take_log()[3..],
        [
            Ev::Throw(1, "Cancelled"),
            Ev::Error(1, "Cancelled"),
            Ev::Discard(vec![2])
        ]
    );

    // The error callback handles the cancellation: the continuation carries on.
    let cont = Continuation::new();
    let mut host = TestHost::new([
        ent(1)
            .acts([Act::Yield(1), Act::Reraise])
            .on_error(ErrCb::Handle(vec![])),
        ent(2).acts([Act::Yield(5), Act::Return(2)]),
    ]);
    send_none(&mut host, &cont);
    assert_eq!(
        host.resume(&cont, Throw(exc("Cancelled"))),
        ContStep::Yield(Some(5))
    );

    // The inner raises something else while handling it: the context is kept.
    let cont = Continuation::new();
    let mut host = TestHost::new([ent(1).acts([Act::Yield(1), Act::Raise("cleanup failed")])]);
    send_none(&mut host, &cont);
    let ContStep::Raise(e) = host.resume(&cont, Throw(exc("Cancelled"))) else {
        panic!("expected a raise")
    };
    assert_eq!(
        (e.msg, e.context),
        ("cleanup failed", Some(Box::new(exc("Cancelled"))))
    );
}

#[test]
fn errors_have_fixed_texts_and_exception_types() {
    let cases = [
        (
            ContError::NonNoneStart,
            ExcType::TypeError,
            "can't send non-None value to a just-started awaitable",
        ),
        (
            ContError::Running,
            ExcType::ValueError,
            "awaitable already executing",
        ),
        (
            ContError::Exhausted,
            ExcType::RuntimeError,
            "cannot reuse already awaited awaitable",
        ),
        (
            ContError::Finished,
            ExcType::RuntimeError,
            "awaitable has finished: nothing more can be added",
        ),
        (
            ContError::NotAwaitable,
            ExcType::TypeError,
            "object can't be used in 'await' expression",
        ),
        (
            ContError::NotAsyncContextManager,
            ExcType::TypeError,
            "object does not support the asynchronous context manager protocol",
        ),
        (
            ContError::NoException,
            ExcType::SystemError,
            "callback returned -1 without raising an exception",
        ),
        (
            ContError::TooFewValues {
                saved: 1,
                wanted: 3,
            },
            ExcType::SystemError,
            "cannot unpack 3 values: only 1 saved",
        ),
        (
            ContError::NullArgument,
            ExcType::SystemError,
            "NULL argument to an awaitq C API function",
        ),
        (
            ContError::NotNativeAwaitable,
            ExcType::TypeError,
            "expected an awaitq native awaitable",
        ),
        (
            ContError::OneAwaitAtATime,
            ExcType::RuntimeError,
            "a Rust future can await one Python awaitable at a time",
        ),
        (
            ContError::NotInFuture,
            ExcType::RuntimeError,
            "a Python awaitable can only be awaited inside a Rust future that awaitq runs",
        ),
    ];
    for (err, ty, text) in cases {
        assert_eq!((err.exc_type(), err.to_string().as_str()), (ty, text));
    }
}
