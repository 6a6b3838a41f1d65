"""Type stubs for awaitq.testing."""

from types import ModuleType
from typing import final

from . import Channel, ProducerHandle

__all__ = ["Pinger", "Producer", "cont", "spawn_producer"]

# Helpers built on the native-awaitable Rust API, for its tests and benchmarks.
cont: ModuleType

@final
class Producer:
    """A running spawn_producer thread."""

    def join(self) -> int: ...
    @property
    def running(self) -> bool: ...

@final
class Pinger:
    """A native thread that pushes frame `n` (empty payload) on each ping(n)."""

    def __new__(cls, ch: Channel | ProducerHandle) -> Pinger: ...
    def ping(self, n: int) -> None: ...
    def close(self) -> None: ...

def spawn_producer(
    ch: Channel | ProducerHandle,
    count: int,
    size: int = 16,
    rate_hz: float | None = None,
    close: bool = False,
    *,
    stamp: bool = False,
) -> Producer: ...
