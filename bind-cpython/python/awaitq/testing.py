"""Native producer threads for tests, demos and benchmarks (they never take the GIL)."""

from ._awaitq import Pinger, Producer, spawn_producer
from ._awaitq import _cont_testing as cont  # native awaitables built with the Rust API

__all__ = ["Pinger", "Producer", "cont", "spawn_producer"]
