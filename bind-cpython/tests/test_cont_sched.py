"""A hand-written send() scheduler (the seed's pyos: tasks yield "system call" objects that
the scheduler handles and answers through send()) driving native awaitables that await
Python coroutines which make system calls: the calls travel up through the native awaitable
and the answers come back down, unchanged, interleaved with plain Python tasks."""

import pytest

from awaitq.testing import cont

from cont_support import GetTid, Scheduler, Task, YieldControl, aw_ext


async def worker(name, rounds, trace):
    """A Python coroutine making system calls (the seed's foo/bar)."""
    mytid = await GetTid()
    for i in range(rounds):
        trace.append((name, mytid, i))
        await YieldControl()
    return (name, mytid)


def native_c(coros):
    return aw_ext().steps(coros, [])


def native_rust(coros):
    return cont.chain(coros)


def native_future(coros):
    return cont.await_each(coros)


@pytest.fixture(autouse=True)
def fresh_tids():
    Task.taskid = 0


@pytest.mark.parametrize("native", [native_c, native_rust, native_future], ids=["c", "rust", "future"])
def test_system_calls_pass_through_a_native_awaitable(native):
    trace = []
    sched = Scheduler()

    async def native_task():
        # The native awaitable awaits two coroutines in turn; their GetTid/YieldControl
        # objects reach the scheduler and the tid comes back down to them.
        return await native([worker("n1", 2, trace), worker("n2", 1, trace)])

    sched.new(worker("foo", 3, trace))  # tid 1: a plain Python task, as in the seed
    sched.new(native_task())  # tid 2
    sched.mainloop()

    assert sched.results[2] == [("n1", 2), ("n2", 2)]
    assert sched.results[1] == ("foo", 1)
    # Round-robin: the two tasks interleave at every YieldControl.
    assert trace == [("foo", 1, 0), ("n1", 2, 0), ("foo", 1, 1), ("n1", 2, 1), ("foo", 1, 2), ("n2", 2, 0)]
    assert sched.exited == [1, 2]


def test_many_native_tasks_share_the_scheduler():
    trace = []
    sched = Scheduler()

    async def job(k):
        return await aw_ext().execute(Conn(trace, k), f"q{k}")

    class Conn:
        def __init__(self, trace, k):
            self.trace, self.k = trace, k

        async def fetch(self, q):
            tid = await GetTid()
            await YieldControl()
            self.trace.append(("fetch", self.k, tid))
            return [q]

        async def count(self, q):
            await YieldControl()
            self.trace.append(("count", self.k))
            return 1

    for k in range(10):
        sched.new(job(k))
    sched.mainloop()
    assert [sched.results[t] for t in range(1, 11)] == [([f"q{k}"], 1) for k in range(10)]
    assert [e for e in trace if e[0] == "fetch"] == [("fetch", k, k + 1) for k in range(10)]
    assert len(trace) == 20
