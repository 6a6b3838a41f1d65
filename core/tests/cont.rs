//! The continuation machine against a scripted host: every cell of the module's table, the
//! callbacks' error paths, cancellation, re-entry, ordering, and constant stack.

mod cont_host;

use awaitq_core::{ContError, ContInput, ContPhase, ContStep, Continuation, ExcType};
use cont_host::{ent, exc, Act, Cb, Ent, ErrCb, Ev, Exc, Start, TestHost, S};
use ContInput::{Close, Send, Throw};

fn send_none(host: &mut TestHost, cont: &Continuation<Ent>) -> S {
    host.resume(cont, Send(None))
}

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

/// Runs `f` on a thread with a small stack: recursion per entry would overflow it.
fn on_small_stack(f: impl FnOnce() + std::marker::Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("ran on a small stack");
}

#[test]
fn a_hundred_thousand_queued_awaits_run_in_constant_stack() {
    on_small_stack(|| {
        const N: i64 = 100_000;
        let cont = Continuation::new();
        let entries = (0..N).map(|i| {
            let e = ent(i as u32).acts([Act::Return(i)]).on_result([Cb::Save]);
            if i == N - 1 {
                e.on_result([Cb::SetSum])
            } else {
                e
            }
        });
        let mut host = TestHost::new(entries);
        host.quiet = true;
        assert_eq!(
            send_none(&mut host, &cont),
            ContStep::Return(Some(N * (N - 1) / 2))
        );
        assert_eq!(host.results, N as u64);
    });
}

#[test]
fn a_hundred_thousand_chained_awaits_run_in_constant_stack() {
    on_small_stack(|| {
        // Built back to front: each entry's callback queues the next (nested data, so it is
        // built and dropped iteratively by the machine, never recursively by the test).
        let mut next: Option<Ent> = None;
        for i in (0..100_000u32).rev() {
            let mut e = ent(i).acts([Act::Return(1)]).on_result([Cb::Save]);
            if let Some(n) = next.take() {
                e = e.on_result([Cb::Add(n)]);
            } else {
                e = e.on_result([Cb::SetSum]);
            }
            next = Some(e);
        }
        let cont = Continuation::new();
        let mut host = TestHost::new(next);
        host.quiet = true;
        assert_eq!(send_none(&mut host, &cont), ContStep::Return(Some(100_000)));
    });
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
    ];
    for (err, ty, text) in cases {
        assert_eq!((err.exc_type(), err.to_string().as_str()), (ty, text));
    }
}
