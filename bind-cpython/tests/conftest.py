"""Shared fixtures: every asyncio test runs on the default loop and on uvloop."""

import asyncio
import os

import pytest
import uvloop  # a hard requirement: the binding must be tested on both loops

import awaitq

LOOPS = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def run_on(factory, coro):
    """Run `coro` to completion on a fresh loop from `factory`, then close the loop."""
    loop = factory()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


@pytest.fixture(params=sorted(LOOPS))
def run(request):
    """`run(coro)` on a fresh event loop of each kind (asyncio, uvloop)."""
    factory = LOOPS[request.param]
    return lambda coro: run_on(factory, coro)


@pytest.fixture(params=sorted(LOOPS))
def loop_factory(request):
    return LOOPS[request.param]


def frame(k, size=16):
    """The payload `awaitq.testing.spawn_producer` pushes as frame `k`."""
    return (k & 0xFFFFFFFF).to_bytes(4, "little") + bytes([k & 0xFF]) * (size - 4)


def seq(payload):
    """The sequence number in a spawn_producer payload."""
    return int.from_bytes(payload[:4], "little")


def open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def ch():
    return awaitq.Channel(capacity=8, max_frame=16)
