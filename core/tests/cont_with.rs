//! `async with`'s rules ([`AsyncWith`]): every row of its table, in the orders a statement
//! produces them, against what Python does for the same outcomes.

use awaitq_core::{AsyncWith, WithAction, WithEvent};

type W = AsyncWith<&'static str>;

/// Feeds events in order and returns every action.
fn run(events: impl IntoIterator<Item = WithEvent<&'static str>>) -> Vec<WithAction<&'static str>> {
    let mut w = W::new();
    events.into_iter().map(|e| w.on_event(e)).collect()
}

#[test]
fn a_clean_body_awaits_exit_with_nones_and_ignores_its_result() {
    for truthy in [false, true] {
        let mut w = W::new();
        assert_eq!(w.on_event(WithEvent::Entered), WithAction::RunBody);
        assert_eq!(w.on_event(WithEvent::BodyReturned), WithAction::AwaitExit);
        assert_eq!(w.pending(), None, "__aexit__(None, None, None)");
        assert_eq!(w.on_event(WithEvent::Exited { truthy }), WithAction::Finish);
    }
}

#[test]
fn a_failing_body_reaches_exit_which_suppresses_it_or_not() {
    let mut w = W::new();
    w.on_event(WithEvent::Entered);
    assert_eq!(
        w.on_event(WithEvent::BodyRaised("body")),
        WithAction::AwaitExit
    );
    assert_eq!(
        w.pending(),
        Some(&"body"),
        "__aexit__ gets the body's exception"
    );
    assert_eq!(
        w.on_event(WithEvent::Exited { truthy: false }),
        WithAction::Raise {
            error: "body",
            context: None
        }
    );

    assert_eq!(
        run([
            WithEvent::Entered,
            WithEvent::BodyRaised("body"),
            WithEvent::Exited { truthy: true }
        ]),
        [
            WithAction::RunBody,
            WithAction::AwaitExit,
            WithAction::Finish
        ]
    );
}

#[test]
fn an_enter_error_skips_exit() {
    assert_eq!(
        run([WithEvent::EnterRaised("enter")]),
        [WithAction::Raise {
            error: "enter",
            context: None
        }]
    );
}

#[test]
fn an_exit_error_replaces_the_body_error_and_keeps_it_as_context() {
    assert_eq!(
        run([
            WithEvent::Entered,
            WithEvent::BodyRaised("body"),
            WithEvent::ExitRaised("exit")
        ]),
        [
            WithAction::RunBody,
            WithAction::AwaitExit,
            WithAction::Raise {
                error: "exit",
                context: Some("body")
            }
        ]
    );
    // After a clean body there is nothing to chain.
    assert_eq!(
        run([
            WithEvent::Entered,
            WithEvent::BodyReturned,
            WithEvent::ExitRaised("exit")
        ])[2],
        WithAction::Raise {
            error: "exit",
            context: None
        }
    );
}

#[test]
fn each_statement_starts_clean() {
    // A statement object reused after a failing body does not leak that body's error.
    let mut w = W::default();
    w.on_event(WithEvent::BodyRaised("old"));
    w.on_event(WithEvent::Exited { truthy: false });
    assert_eq!(w.pending(), None);
    w.on_event(WithEvent::BodyRaised("old"));
    assert_eq!(w.on_event(WithEvent::BodyReturned), WithAction::AwaitExit);
    assert_eq!(
        w.on_event(WithEvent::Exited { truthy: false }),
        WithAction::Finish
    );
}
