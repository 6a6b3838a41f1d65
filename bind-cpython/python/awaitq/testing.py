"""Native producer threads for tests, demos and benchmarks (they never take the GIL)."""

from ._awaitq import Pinger, Producer, spawn_producer

__all__ = ["Pinger", "Producer", "spawn_producer"]
