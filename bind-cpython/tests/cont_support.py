"""Shared pieces of the native-awaitable tests (test_cont_*.py): the C test extension
(tests/cext/aw_ext.c, compiled once per session into a temporary directory), awaitables of
every kind, and a seed-style send() scheduler."""

import asyncio
import functools
import importlib.machinery
import importlib.util
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile
import types

HERE = pathlib.Path(__file__).resolve().parent
HEADER_DIR = HERE.parents[1] / "ports" / "include"


def compile_ext(name, source, out_dir, extra=()):
    """Compiles `source` into extension module `name` in `out_dir` and imports it."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed for this test"
    out = pathlib.Path(out_dir) / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
         "-Wno-missing-field-initializers", *extra,
         "-I", sysconfig.get_paths()["include"], "-I", str(HEADER_DIR), str(source), "-o", str(out)],
        check=True,
    )
    spec = importlib.util.spec_from_file_location(name, out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@functools.lru_cache(maxsize=None)
def aw_ext():
    """The C test extension (built once per session)."""
    out_dir = tempfile.mkdtemp(prefix="awaitq-aw-ext-")
    return compile_ext("aw_ext", HERE / "cext" / "aw_ext.c", out_dir)


async def value_after(v, ticks=1):
    """A coroutine that suspends `ticks` times, then returns `v`."""
    for _ in range(ticks):
        await asyncio.sleep(0)
    return v


async def raise_after(exc, ticks=1):
    for _ in range(ticks):
        await asyncio.sleep(0)
    raise exc


class Recorder:
    """An awaitable (plain __await__ generator) that yields `marks` one by one and records
    what each send() and throw() brought back down to it, then returns `result`."""

    def __init__(self, marks, result="done"):
        self.marks = list(marks)
        self.result = result
        self.got = []
        self.finally_ran = False

    def __await__(self):
        try:
            for m in self.marks:
                try:
                    self.got.append((yield m))
                except GeneratorExit:
                    raise
                except BaseException as e:
                    self.got.append(("thrown", type(e).__name__))
                    raise
            return self.result
        finally:
            self.finally_ran = True


@types.coroutine
def generator_based(v):
    """A generator-based coroutine: awaitable through the iterator protocol."""
    yield
    return v


# ---- the seed's scheduler (David Beazley's pyos with native coroutines), kept as is apart
# ---- from recording the order of what ran.


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

    def __await__(self):
        return (yield self)


class GetTid(SystemCall):
    def handle(self):
        self.task.sendval = self.task.tid
        self.sched.schedule(self.task)


class YieldControl(SystemCall):
    def handle(self):
        self.task.sendval = None
        self.sched.schedule(self.task)
