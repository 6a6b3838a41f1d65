# A hand-written send() scheduler (the seed's pyos: tasks yield "system call" objects that the
# scheduler handles and answers through send()) driving native awaitables, C (aw_ext) and Rust
# futures (cont), that await Python coroutines making system calls: the calls travel up
# through the native awaitable and the answers come back down, unchanged, interleaved with
# plain Python tasks. No asyncio anywhere.
try:
    import aw_ext
    from awaitq.testing import cont
except ImportError:
    print("SKIP")
    raise SystemExit


class Task:
    taskid = 0

    def __init__(self, target):
        Task.taskid += 1
        self.tid = Task.taskid
        self.target = target
        self.sendval = None

    def run(self):
        return self.target.send(self.sendval)


class Scheduler:
    def __init__(self):
        self.ready = []
        self.taskmap = {}
        self.exited = []
        self.results = {}

    def new(self, target):
        task = Task(target)
        self.taskmap[task.tid] = task
        self.schedule(task)
        return task.tid

    def exit(self, task, value):
        self.exited.append(task.tid)
        self.results[task.tid] = value
        del self.taskmap[task.tid]

    def schedule(self, task):
        self.ready.append(task)

    def mainloop(self):
        while self.taskmap:
            task = self.ready.pop(0)
            try:
                result = task.run()
                if isinstance(result, SystemCall):
                    result.task = task
                    result.sched = self
                    result.handle()
                    continue
            except StopIteration as e:
                self.exit(task, e.value)
                continue
            self.schedule(task)


class SystemCall:
    def handle(self):
        pass

    # MicroPython's `await x` iterates x; CPython's calls __await__. Both, as the seed's
    # SystemCall would be written for both.
    def __iter__(self):
        return (yield self)

    __await__ = __iter__


class GetTid(SystemCall):
    def handle(self):
        self.task.sendval = self.task.tid
        self.sched.schedule(self.task)


class YieldControl(SystemCall):
    def handle(self):
        self.task.sendval = None
        self.sched.schedule(self.task)


async def worker(name, rounds, trace):
    """A Python coroutine making system calls (the seed's foo/bar)."""
    mytid = await GetTid()
    for i in range(rounds):
        trace.append((name, mytid, i))
        await YieldControl()
    return (name, mytid)


for native_name, native in (("c", lambda coros: aw_ext.steps(coros, [])), ("future", cont.await_each)):
    Task.taskid = 0
    trace = []
    sched = Scheduler()

    async def native_task():
        # The native awaitable awaits two coroutines in turn; their GetTid/YieldControl
        # objects reach the scheduler and the tid comes back down to them.
        return await native([worker("n1", 2, trace), worker("n2", 1, trace)])

    sched.new(worker("foo", 3, trace))  # tid 1: a plain Python task, as in the seed
    sched.new(native_task())  # tid 2
    sched.mainloop()
    print(native_name, sched.results[2], sched.results[1])
    print(native_name, trace)
    print(native_name, sched.exited)

print("-- many native tasks (execute(conn, query) in C) share the scheduler")
Task.taskid = 0
trace = []


class Conn:
    def __init__(self, k):
        self.k = k

    async def fetch(self, q):
        tid = await GetTid()
        await YieldControl()
        trace.append(("fetch", self.k, tid))
        return [q]

    async def count(self, q):
        await YieldControl()
        trace.append(("count", self.k))
        return 1


async def job(k):
    return await aw_ext.execute(Conn(k), "q%d" % k)


sched = Scheduler()
for k in range(10):
    sched.new(job(k))
sched.mainloop()
print([sched.results[t] for t in range(1, 11)] == [(["q%d" % k], 1) for k in range(10)])
print([e for e in trace if e[0] == "fetch"] == [("fetch", k, k + 1) for k in range(10)], len(trace))
print("the system calls reached the scheduler unchanged:", all(e[2] == e[1] + 1 for e in trace if e[0] == "fetch"))
