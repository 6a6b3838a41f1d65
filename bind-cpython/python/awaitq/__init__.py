"""awaitq: await the frames native code produces, from asyncio.

A :class:`Channel` is a bounded queue of tagged byte frames. Native producers (C through the
``awaitq._C_API`` capsule and ``ch.producer()``, Rust through ``awaitq_cpython::Producer``, or
``awaitq.testing.spawn_producer``) push from any thread without the GIL; Python code awaits
``ch.recv()`` and friends, and a waiting receive uses no CPU until a frame arrives.
"""

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
    Frames,
    NativeAwaitable,
    ProducerHandle,
    WaitHandle,
    _C_API,
    frames,
)
from ._awaitq import _after_fork_in_child

from . import testing

# A forked child must not share the parent's wake-up descriptors.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = [
    "Awaitable",
    "Channel",
    "ChannelClosed",
    "ChannelFull",
    "DEFAULT_CAPACITY",
    "DEFAULT_MAX_FRAME",
    "Error",
    "Frames",
    "MAX_FRAME_LIMIT",
    "NativeAwaitable",
    "ProducerHandle",
    "WaitHandle",
    "frames",
    "testing",
]
