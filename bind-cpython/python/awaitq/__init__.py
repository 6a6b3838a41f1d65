"""awaitq: await the frames native code produces, from asyncio, trio or anyio.

A :class:`Channel` is a bounded queue of tagged byte frames. Native producers (C through the
``awaitq._C_API`` capsule and ``ch.producer()``, Rust through ``awaitq_cpython::Producer``, or
``awaitq.testing.spawn_producer``) push from any thread without the GIL; Python code awaits
``ch.recv()`` and friends, and a waiting receive uses no CPU until a frame arrives.
"""

import atexit as _atexit
import os as _os

from ._awaitq import (
    C_API_VERSION,
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
    __version__,
    frames,
)
from ._awaitq import _after_fork_in_child, _at_exit

from . import io, testing



def get_include() -> str:
    """The directory of awaitq's C headers (``awaitq.h``, ``awaitq_aw.h``, ``pyawaitable.h``,
    ``awaitq_pyasync.h``), for extensions built against awaitq: ``include_dirs=[awaitq.get_include()]``
    in setuptools, ``python -m awaitq --include`` elsewhere. The headers only declare the
    ``awaitq._C_API`` capsule's table: nothing to link."""
    return _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "include")


# A forked child must not share the parent's wake-up descriptors.
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)
# Waker threads (loops without add_reader) stop attaching to an interpreter going away.
_atexit.register(_at_exit)

__all__ = [
    "Awaitable",
    "C_API_VERSION",
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
    "get_include",
    "io",
    "frames",
    "testing",
]
