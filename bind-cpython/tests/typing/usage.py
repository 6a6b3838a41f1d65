"""Type-checked (mypy --strict) by ci/test-cpython.sh: the stubs describe real use."""

import asyncio

import awaitq
from awaitq.testing import Producer, spawn_producer


async def consume(ch: awaitq.Channel) -> int:
    data: bytes = await ch.recv()
    tag, payload = await ch.recv_tagged()
    buf = bytearray(ch.max_frame)
    n: int = await ch.recv_into(buf)
    frames: list[bytes] = await ch.recv_many(8)
    await ch.send(b"x", tag=1)
    total = len(data) + tag + len(payload) + n + len(frames)
    async for frame in ch:
        total += len(frame)
    return total


def main() -> None:
    ch = awaitq.Channel(capacity=16, max_frame=8, overflow="drop_oldest")
    ch.send_nowait(memoryview(b"abc"), tag=2)
    maybe: bytes | None = ch.try_recv()
    stats: dict[str, int] = ch.stats()
    handle = ch.producer()
    address: int = handle.address
    producer: Producer = spawn_producer(ch, 10, size=8, rate_hz=1000.0, close=True)
    print(maybe, stats, address, producer.join(), producer.running)
    try:
        print(asyncio.run(consume(ch)))
    except awaitq.ChannelClosed as e:
        print(e)


def sdk_and_io(fd: int) -> None:
    include: str = awaitq.get_include()
    version: int = awaitq.C_API_VERSION
    ch = awaitq.Channel(capacity=16, max_frame=8)
    with awaitq.io.Reader(fd, ch, "line", delimiter=b"\r\n", on_full="drop") as reader:
        err: OSError | None = reader.error
        counts: dict[str, int] = reader.stats()
        print(include, version, err, counts, reader.running, reader.eof)
    awaitq.io.Reader(fd, ch, awaitq.io.Fixed(4)).close()
    awaitq.io.Reader(fd, ch, awaitq.io.LengthPrefixed(2, "little")).close()
