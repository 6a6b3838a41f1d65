from typing import Any, Literal

__all__ = ["Fixed", "LengthPrefixed", "Reader"]

class Fixed:
    n: int
    def __init__(self, n: int) -> None: ...

class LengthPrefixed:
    size: int
    byteorder: Literal["big", "little"]
    def __init__(self, size: int, byteorder: Literal["big", "little"] = "big") -> None: ...

class Reader:
    source: Any
    channel: Any
    framing: str | Fixed | LengthPrefixed
    def __init__(
        self,
        source: Any,
        channel: Any,
        framing: str | Fixed | LengthPrefixed = "line",
        *,
        delimiter: bytes = b"\n",
        on_full: Literal["wait", "drop"] = "wait",
        read_size: int = 65536,
    ) -> None: ...
    def close(self) -> None: ...
    @property
    def running(self) -> bool: ...
    @property
    def eof(self) -> bool: ...
    @property
    def error(self) -> OSError | None: ...
    def stats(self) -> dict[str, int]: ...
    def __enter__(self) -> Reader: ...
    def __exit__(self, *exc: object) -> None: ...
