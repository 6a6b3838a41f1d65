//! No recursion per await: long runs of awaits (queued up front, or each queued by the
//! previous one's callback) complete on a small thread stack.

mod cont_host;

use awaitq_core::{ContStep, Continuation};
use cont_host::{ent, send_none, Act, Cb, Ent, TestHost};

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
