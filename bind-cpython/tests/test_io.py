"""awaitq.io.Reader on real kernel objects: a pipe, a pseudo-terminal pair in raw mode (a
UART stand-in), UDP on 127.0.0.1; EOF, hangup, a read error, close(), bad input."""

import asyncio
import os
import pty
import socket
import threading
import time
import tty

import pytest

import awaitq
from awaitq.io import Fixed, LengthPrefixed, Reader

SLIP_END, SLIP_ESC = 0xC0, 0xDB


def slip(frame):
    out = bytearray()
    for b in frame:
        if b == SLIP_END:
            out += bytes([SLIP_ESC, 0xDC])
        elif b == SLIP_ESC:
            out += bytes([SLIP_ESC, 0xDD])
        else:
            out.append(b)
    return bytes(out) + bytes([SLIP_END])


def cobs(frame):
    out, block = bytearray(), bytearray()
    for b in frame:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block
                block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out) + b"\0"


def writer(fd, chunks, close=True, pause=0.0):
    def run():
        for c in chunks:
            os.write(fd, c)
            if pause:
                time.sleep(pause)
        if close:
            os.close(fd)
    t = threading.Thread(target=run)
    t.start()
    return t


async def drain(ch):
    return [f async for f in ch]


def test_lines_from_a_pipe_until_eof(run):
    r, w = os.pipe()
    ch = awaitq.Channel(capacity=16, max_frame=32)
    lines = [f"line {i}".encode() for i in range(2000)]
    data = b"".join(x + b"\r\n" for x in lines)
    # odd chunk sizes: delimiters split across reads
    t = writer(w, [data[i:i + 7] for i in range(0, len(data), 7)])
    with Reader(r, ch, "line", delimiter=b"\r\n") as reader:
        got = run(drain(ch))
        t.join()
        assert got == lines
        assert reader.eof and reader.error is None and ch.closed
        st = reader.stats()
        assert st["frames"] == 2000 and st["bytes"] == len(data) and st["oversize"] == 0
    os.close(r)


@pytest.mark.parametrize("framing", ["slip", "cobs", "fixed", "length-big", "length-little"])
def test_binary_framings_over_a_pipe(run, framing):
    frames = [bytes([i % 256, 0, SLIP_END, SLIP_ESC, (i * 7) % 256]) * (1 + i % 4)
              for i in range(500)]
    if framing == "slip":
        f, enc = "slip", slip
    elif framing == "cobs":
        f, enc = "cobs", cobs
    elif framing == "fixed":
        frames = [x[:5] for x in frames]
        f, enc = Fixed(5), (lambda x: x)
    else:
        order = framing.split("-")[1]
        f = LengthPrefixed(2, order)
        enc = lambda x: len(x).to_bytes(2, order) + x  # noqa: E731
    r, w = os.pipe()
    ch = awaitq.Channel(capacity=32, max_frame=32)
    data = b"".join(enc(x) for x in frames)
    t = writer(w, [data[i:i + 61] for i in range(0, len(data), 61)])
    with Reader(r, ch, f):
        assert run(drain(ch)) == frames
    t.join()
    os.close(r)


def test_oversize_and_malformed_are_counted_and_skipped(run):
    r, w = os.pipe()
    ch = awaitq.Channel(capacity=8, max_frame=4)
    t = writer(w, [b"ok\n", b"toolong\n", b"fine\n"])
    with Reader(r, ch) as reader:
        assert run(drain(ch)) == [b"ok", b"fine"]
        assert reader.stats()["oversize"] == 1
    t.join()
    r2, w2 = os.pipe()
    ch2 = awaitq.Channel(capacity=8, max_frame=8)
    t = writer(w2, [slip(b"a"), bytes([SLIP_ESC, 0x41]) + b"x" + bytes([SLIP_END]), slip(b"b")])
    with Reader(r2, ch2, "slip") as reader:
        assert run(drain(ch2)) == [b"a", b"b"]
        assert reader.stats()["malformed"] == 1
    t.join()
    os.close(r)
    os.close(r2)


def test_a_pty_in_raw_mode_then_hangup(run):
    master, slave = pty.openpty()
    tty.setraw(slave)
    ch = awaitq.Channel(capacity=64, max_frame=64)
    frames = [bytes([i]) * (1 + i % 50) for i in range(256)]
    reader = Reader(master, ch, "slip")
    t = writer(slave, [slip(x) for x in frames], close=False)

    async def main():
        got = []
        for _ in frames:
            got.append(await asyncio.wait_for(ch.recv(), 5))
        t.join()
        os.close(slave)                 # hangup: the master reads EIO
        with pytest.raises(awaitq.ChannelClosed):
            await asyncio.wait_for(ch.recv(), 5)
        return got

    assert run(main()) == frames
    assert reader.eof and reader.error is None and not reader.running
    reader.close()
    os.close(master)


def test_udp_datagrams_on_localhost(run):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ch = awaitq.Channel(capacity=256, max_frame=64)
    with Reader(rx, ch, "datagram") as reader:
        async def main():
            got = []
            for i in range(300):
                size = 65 if i == 150 else 1 + i % 64    # one oversize datagram
                tx.sendto(i.to_bytes(2, "little") * (size // 2) + b"x" * (size % 2),
                          rx.getsockname())
                if i != 150:
                    got.append(await asyncio.wait_for(ch.recv(), 5))
            return got

        got = run(main())
        assert len(got) == 299
        assert [len(g) for g in got[:3]] == [1, 2, 3]
        deadline = time.monotonic() + 5
        while reader.stats()["oversize"] != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reader.stats()["oversize"] == 1
        assert not ch.closed
    assert not reader.running
    rx.close()
    tx.close()


def test_a_read_error_is_raised_after_the_queued_frames(run):
    ch = awaitq.Channel(capacity=8, max_frame=16)
    ch.send_nowait(b"before-1")
    ch.send_nowait(b"before-2")
    d = os.open(os.path.dirname(__file__), os.O_RDONLY)   # read() -> EISDIR
    reader = Reader(d, ch)

    async def main():
        got = [await ch.recv(), await ch.recv()]
        with pytest.raises(OSError) as e:
            await asyncio.wait_for(ch.recv(), 5)
        return got, e.value

    got, err = run(main())
    assert got == [b"before-1", b"before-2"]
    assert "Is a directory" in str(err)
    assert isinstance(reader.error, OSError) and reader.error.errno == 21   # EISDIR
    with pytest.raises(OSError):
        ch.try_recv()

    async def loop():
        async for _ in ch:
            pass
    with pytest.raises(OSError):       # async for raises it too, instead of ending
        run(loop())
    reader.close()
    os.close(d)


def test_close_stops_an_idle_reader_and_leaves_the_channel_open():
    r, w = os.pipe()
    ch = awaitq.Channel()
    reader = Reader(r, ch)
    time.sleep(0.05)
    assert reader.running
    t0 = time.monotonic()
    reader.close()
    assert time.monotonic() - t0 < 1
    assert not reader.running and not ch.closed and reader.error is None
    reader.close()                     # idempotent
    os.close(r)
    os.close(w)


def test_the_consumer_closing_stops_the_reader():
    r, w = os.pipe()
    ch = awaitq.Channel(capacity=2, max_frame=8)
    reader = Reader(r, ch)
    os.write(w, b"a\nb\nc\nd\n")       # more than fits: the reader waits for room
    time.sleep(0.05)
    ch.close()
    os.write(w, b"e\n")
    deadline = time.monotonic() + 5
    while reader.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not reader.running
    os.close(r)
    os.close(w)


def test_on_full_drop_lets_the_channel_count():
    r, w = os.pipe()
    ch = awaitq.Channel(capacity=2, max_frame=8)
    with Reader(r, ch, on_full="drop") as reader:
        os.write(w, b"1\n2\n3\n4\n5\n")
        os.close(w)
        deadline = time.monotonic() + 5
        while not reader.eof and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reader.stats()["dropped"] == 3 and ch.stats()["dropped"] == 3
        assert [ch.try_recv(), ch.try_recv()] == [b"1", b"2"]
    os.close(r)


def test_bad_arguments():
    ch = awaitq.Channel(max_frame=8)
    r, w = os.pipe()
    try:
        with pytest.raises(ValueError, match="framing must be"):
            Reader(r, ch, "nope")
        with pytest.raises(ValueError, match="Fixed"):
            Reader(r, ch, Fixed(9))
        with pytest.raises(ValueError):
            LengthPrefixed(3)
        with pytest.raises(ValueError, match="delimiter"):
            Reader(r, ch, "line", delimiter=b"")
        with pytest.raises(TypeError, match="fileno"):
            Reader(object(), ch)
        with pytest.raises(TypeError):
            Reader(r, object())
        with pytest.raises(OSError):
            Reader(10_000, ch)                 # not an open descriptor (EBADF on dup)
        with pytest.raises(ValueError, match="on_full"):
            Reader(r, ch, on_full="block")
    finally:
        os.close(r)
        os.close(w)
