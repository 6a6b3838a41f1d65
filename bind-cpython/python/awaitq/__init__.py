"""awaitq: await the frames native code produces, from asyncio, trio or anyio.

A :class:`Channel` is a bounded queue of tagged byte frames. Native producers (C through the
``awaitq._C_API`` capsule and ``ch.producer()``, Rust through ``awaitq_cpython::Producer``, or
``awaitq.testing.spawn_producer``) push from any thread without the GIL; Python code awaits
``ch.recv()`` and friends, and a waiting receive uses no CPU until a frame arrives.
"""

import atexit as _atexit
import os as _os

from ._awaitq import (
    DEFAULT_CAPACITY,
    DEFAULT_MAX_FRAME,
    MAX_FRAME_LIMIT,
    Awaitable,
    Channel,
    ChannelClosed,
    ChannelFull,
    Error,
    NativeAwaitable,
    ProducerHandle,
    WaitHandle,
    _C_API,
)
from ._awaitq import _after_fork_in_child, _at_exit

from . import testing

# A forked child must not share the parent's wake-up descriptors.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)
# Waker threads (loops without add_reader) stop attaching to an interpreter going away.
_atexit.register(_at_exit)

__all__ = [
    "Awaitable",
    "Channel",
    "ChannelClosed",
    "ChannelFull",
    "DEFAULT_CAPACITY",
    "DEFAULT_MAX_FRAME",
    "Error",
    "MAX_FRAME_LIMIT",
    "NativeAwaitable",
    "ProducerHandle",
    "WaitHandle",
    "testing",
]
