"""awaitq.io: ready-made native readers for Python-only users.

``Reader(source, channel, framing="line")`` starts a native thread that reads ``source`` (a
file descriptor, or an object with ``fileno()``: a serial TTY, a pipe, a UDP/UNIX/CAN
socket), cuts what it reads into frames and pushes them into ``channel`` without ever taking
the GIL. The consumer awaits ``channel`` as usual::

    ch = awaitq.Channel(capacity=1024, max_frame=256)
    with awaitq.io.Reader(serial_fd, ch, framing="line", delimiter=b"\\r\\n"):
        async for line in ch:
            ...

Framings (the rules are awaitq-core's ``framing`` module, shared with every target):
``"line"`` (``delimiter`` stripped, 1-4 bytes, default ``b"\\n"``; a last line without one is
delivered at EOF), ``"datagram"`` (one read is one frame), ``"slip"`` (RFC 1055), ``"cobs"``
(zero-delimited), ``Fixed(n)``, ``LengthPrefixed(size, byteorder)``. A frame longer than the
channel's ``max_frame``, or one that breaks the framing, is counted (``reader.stats()``) and
skipped, never an error.

End of input (EOF, or a terminal hangup) closes the channel after the last frame: ``async
for`` ends. A read error closes it too, is kept as ``reader.error`` and is raised (an
``OSError``) by the consumer's next receive once the queued frames are drained.
``reader.close()`` stops the thread at once and leaves the channel open.

A full channel: ``on_full="wait"`` (default) stops reading until there is room (the kernel's
buffer and the sender's flow control take over); ``"drop"`` lets the channel's overflow
policy count the frame.
"""

from __future__ import annotations

from typing import Any, Literal

try:
    from ._awaitq import _Reader
except ImportError:  # Windows: the reader thread is POSIX only (poll, pipes)
    _Reader = None

__all__ = ["Fixed", "LengthPrefixed", "Reader"]


class Fixed:
    """Frames of exactly ``n`` bytes (1 <= n <= the channel's max_frame)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError("Fixed(n): n must be an int")
        self.n = n

    def __repr__(self) -> str:
        return f"awaitq.io.Fixed({self.n})"


class LengthPrefixed:
    """A ``size``-byte length (1, 2 or 4) in ``byteorder`` ("big" or "little"), then that many
    payload bytes."""

    __slots__ = ("size", "byteorder")

    def __init__(self, size: int, byteorder: Literal["big", "little"] = "big") -> None:
        if size not in (1, 2, 4) or isinstance(size, bool):
            raise ValueError("LengthPrefixed: size must be 1, 2 or 4")
        if byteorder not in ("big", "little"):
            raise ValueError("LengthPrefixed: byteorder must be 'big' or 'little'")
        self.size = size
        self.byteorder = byteorder

    def __repr__(self) -> str:
        return f"awaitq.io.LengthPrefixed({self.size}, {self.byteorder!r})"


def _fileno(source: Any) -> int:
    if isinstance(source, int) and not isinstance(source, bool):
        return source
    fileno = getattr(source, "fileno", None)
    if fileno is None:
        raise TypeError("source must be a file descriptor or have a fileno() method")
    fd = fileno()
    if not isinstance(fd, int):
        raise TypeError("source.fileno() must return an int")
    return fd


class Reader:
    """A native thread that reads ``source`` and pushes its frames into ``channel``."""

    def __init__(
        self,
        source: Any,
        channel: Any,
        framing: str | Fixed | LengthPrefixed = "line",
        *,
        delimiter: bytes = b"\n",
        on_full: Literal["wait", "drop"] = "wait",
        read_size: int = 65536,
    ) -> None:
        if _Reader is None:
            raise NotImplementedError("awaitq.io.Reader needs a POSIX system (poll, pipes)")
        fd = _fileno(source)
        if isinstance(framing, Fixed):
            kind, arg, big = "fixed", framing.n, False
        elif isinstance(framing, LengthPrefixed):
            kind, arg, big = "length", framing.size, framing.byteorder == "big"
        elif isinstance(framing, str):
            kind, arg, big = framing, bytes(delimiter), False
            if kind in ("fixed", "length"):
                raise ValueError("use awaitq.io.Fixed(n) or awaitq.io.LengthPrefixed(size, byteorder)")
        else:
            raise TypeError("framing must be a str, awaitq.io.Fixed or awaitq.io.LengthPrefixed")
        self.source = source
        self.channel = channel
        self.framing = framing
        self._r = _Reader(fd, channel, kind, arg, big, on_full, read_size)

    def close(self) -> None:
        """Stops the thread (and waits for it). The channel is left open."""
        self._r.close()

    @property
    def running(self) -> bool:
        """``True`` while the thread reads."""
        return self._r.running

    @property
    def eof(self) -> bool:
        """``True`` once the source ended (EOF or hangup)."""
        return self._r.eof

    @property
    def error(self) -> OSError | None:
        """The read error that stopped the thread, or ``None``."""
        return self._r.error

    def stats(self) -> dict[str, int]:
        """``{'frames', 'oversize', 'malformed', 'bytes', 'dropped'}``."""
        return self._r.stats()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<awaitq.io.Reader framing={self.framing!r} {state}>"
