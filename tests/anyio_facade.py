"""The parts of asyncio's API the shared scenarios use (`run`, `create_task`, `sleep`,
`wait_for`, `CancelledError`, `TimeoutError`, tasks' `cancel()` and `await`), built on anyio,
so the unchanged scenarios run under anyio on each of its backends (asyncio, trio).

Nothing here knows awaitq: it is what any asyncio-written program would need to run on
anyio. `install(backend)` makes `import asyncio` in `__main__` (the scenario) return this
module; every other module (anyio itself, awaitq) still gets the real asyncio."""

import builtins
import sys

import anyio

BACKEND = "asyncio"
TimeoutError = TimeoutError  # noqa: A001 (asyncio.TimeoutError is the builtin since 3.11)
_group = None


class CancelledError(BaseException):
    """Awaiting a task that was cancelled."""


class Task:
    def __init__(self):
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._outcome = None

    async def _run(self, coro):
        with self._scope:
            try:
                self._outcome = ("value", await coro)
            except Exception as e:  # noqa: BLE001 (re-raised to the awaiter)
                self._outcome = ("error", e)
        if self._outcome is None:
            self._outcome = ("cancelled", None)
        self._done.set()

    def cancel(self):
        self._scope.cancel()

    def done(self):
        return self._done.is_set()

    async def _wait(self):
        await self._done.wait()
        kind, value = self._outcome
        if kind == "cancelled":
            raise CancelledError
        if kind == "error":
            raise value
        return value

    def __await__(self):
        return self._wait().__await__()


def create_task(coro):
    task = Task()
    _group.start_soon(task._run, coro)
    return task


async def sleep(delay):
    if delay == 0 and BACKEND == "trio":
        # asyncio runs ready tasks in FIFO order, so `sleep(0)` after `create_task()` lets
        # the new task run up to its first wait; trio may run either first (it shuffles a
        # batch). The scenarios rely on asyncio's order: wait until every other task waits.
        await anyio.wait_all_tasks_blocked()
        return
    await anyio.sleep(delay)


async def wait_for(aw, timeout):
    with anyio.fail_after(timeout):
        return await aw


def run(coro):
    async def main():
        global _group
        async with anyio.create_task_group() as group:
            _group = group
            result = await coro
        return result

    return anyio.run(main, backend=BACKEND)


def install(backend):
    global BACKEND
    BACKEND = backend
    real_import = builtins.__import__
    me = sys.modules[__name__]

    def scenario_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "asyncio" and level == 0 and (globals or {}).get("__name__") == "__main__":
            return me
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = scenario_import
