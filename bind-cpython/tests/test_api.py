"""The synchronous API: construction, properties, send_nowait/try_recv, overflow, close, stats,
and every documented error type and message."""

import array
import gc

import pytest

import awaitq


def test_defaults_come_from_core():
    ch = awaitq.Channel()
    assert (ch.capacity, ch.max_frame, ch.overflow) == (256, 64, "reject")
    assert (awaitq.DEFAULT_CAPACITY, awaitq.DEFAULT_MAX_FRAME) == (256, 64)
    assert len(ch) == 0 and not ch.closed


def test_keywords_and_positionals():
    ch = awaitq.Channel(4, 8, "drop_oldest")
    assert (ch.capacity, ch.max_frame, ch.overflow) == (4, 8, "drop_oldest")
    ch = awaitq.Channel(max_frame=3, overflow="reject", capacity=2)
    assert (ch.capacity, ch.max_frame) == (2, 3)


def test_fifo_with_tags():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    ch.send_nowait(b"a")
    ch.send_nowait(bytearray(b"bc"), tag=7)
    ch.send_nowait(memoryview(b"xdefx")[1:4], tag=2**32 - 1)
    ch.send_nowait(array.array("B", [1, 2]), tag=1)
    with pytest.raises(TypeError):  # a bool is not a tag (as on MicroPython)
        ch.send_nowait(b"x", tag=True)
    assert len(ch) == 4
    assert [ch.try_recv() for _ in range(4)] == [b"a", b"bc", b"def", b"\x01\x02"]
    assert ch.try_recv() is None


def test_empty_payload_and_max_frame_payload():
    ch = awaitq.Channel(capacity=2, max_frame=5)
    ch.send_nowait(b"")
    ch.send_nowait(b"12345")
    assert ch.try_recv() == b""
    assert ch.try_recv() == b"12345"


def test_reject_overflow():
    ch = awaitq.Channel(capacity=2, max_frame=4, overflow="reject")
    ch.send_nowait(b"1")
    ch.send_nowait(b"2")
    with pytest.raises(awaitq.ChannelFull, match="channel is full"):
        ch.send_nowait(b"3")
    assert isinstance(awaitq.ChannelFull("x"), awaitq.Error)
    assert [ch.try_recv(), ch.try_recv(), ch.try_recv()] == [b"1", b"2", None]
    st = ch.stats()
    assert (st["sent"], st["received"], st["dropped"], st["high_water"]) == (2, 2, 1, 2)


def test_drop_oldest_overflow():
    ch = awaitq.Channel(capacity=2, max_frame=4, overflow="drop_oldest")
    for i in range(5):
        ch.send_nowait(bytes([i]))
    assert len(ch) == 2
    assert [ch.try_recv(), ch.try_recv()] == [b"\x03", b"\x04"]
    st = ch.stats()
    assert (st["sent"], st["overwritten"], st["dropped"]) == (5, 3, 0)


def test_stats_keys_in_core_order():
    ch = awaitq.Channel(capacity=1, max_frame=2)
    with pytest.raises(ValueError):
        ch.send_nowait(b"123")
    assert list(ch.stats()) == [
        "sent", "received", "dropped", "overwritten", "rejected", "high_water"]
    assert ch.stats()["rejected"] == 1


def test_close_semantics():
    ch = awaitq.Channel(capacity=4, max_frame=4)
    ch.send_nowait(b"a")
    ch.close()
    ch.close()  # idempotent
    assert ch.closed
    with pytest.raises(awaitq.ChannelClosed, match="channel is closed"):
        ch.send_nowait(b"b")
    assert ch.try_recv() == b"a"  # drained first
    with pytest.raises(awaitq.ChannelClosed):
        ch.try_recv()
    assert isinstance(awaitq.ChannelClosed("x"), awaitq.Error)
    assert issubclass(awaitq.Error, Exception)


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(capacity=0), ValueError, "capacity must be at least 1"),
    (dict(capacity=-5), ValueError, "capacity must be at least 1"),
    (dict(max_frame=0), ValueError, "max_frame must be at least 1"),
    (dict(max_frame=65537), ValueError, "max_frame must be at most 65536"),
    (dict(capacity=2**70), ValueError, "too large"),
    (dict(overflow="drop_newest"), ValueError, "overflow must be 'reject' or 'drop_oldest'"),
    (dict(capacity="8"), TypeError, "capacity must be an int"),
    (dict(max_frame=1.5), TypeError, "max_frame must be an int"),
    (dict(overflow=1), TypeError, "overflow must be a str"),
])
def test_bad_configuration(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        awaitq.Channel(**kwargs)


def test_huge_storage_is_memory_error_not_abort():
    with pytest.raises((MemoryError, ValueError)):
        awaitq.Channel(capacity=2**44, max_frame=65536)


def test_bad_send_arguments_lose_nothing():
    ch = awaitq.Channel(capacity=4, max_frame=4)
    ch.send_nowait(b"keep")
    with pytest.raises(ValueError, match="payload of 5 bytes exceeds max_frame \\(4\\)"):
        ch.send_nowait(b"12345")
    with pytest.raises(TypeError, match="data must be a bytes-like object"):
        ch.send_nowait("text")
    with pytest.raises(TypeError, match="tag must be an int"):
        ch.send_nowait(b"x", tag="1")
    with pytest.raises(TypeError, match="tag must be an int"):
        ch.send_nowait(b"x", tag=1.0)
    for tag in (-1, 2**32, 2**100):
        with pytest.raises(ValueError, match="tag must be in range 0..2\\*\\*32-1"):
            ch.send_nowait(b"x", tag=tag)
    with pytest.raises(TypeError):
        ch.send(b"x", tag=object())
    with pytest.raises(ValueError, match="tag must be in range"):
        ch.send(b"x", tag=-1)
    with pytest.raises(TypeError, match="data must be a bytes-like object"):
        ch.send(12)
    assert len(ch) == 1 and ch.try_recv() == b"keep"


def test_bad_receive_arguments():
    ch = awaitq.Channel(capacity=4, max_frame=4)
    with pytest.raises(TypeError, match="buf must be a writable bytes-like object"):
        ch.recv_into(b"readonly")
    with pytest.raises(TypeError, match="buf must be a writable bytes-like object"):
        ch.recv_into(memoryview(b"readonly"))
    with pytest.raises(TypeError, match="buf must be a writable bytes-like object"):
        ch.recv_into([0, 0])
    for n in (0, -1):
        with pytest.raises(ValueError, match="n must be at least 1"):
            ch.recv_many(n)
    with pytest.raises(TypeError, match="n must be an int"):
        ch.recv_many("3")


def test_repr_and_len():
    ch = awaitq.Channel(capacity=3, max_frame=4)
    ch.send_nowait(b"x")
    assert repr(ch) == "<awaitq.Channel capacity=3 max_frame=4 overflow='reject' len=1>"
    ch.close()
    assert repr(ch).endswith("len=1 closed>")


def test_exception_classes_live_in_awaitq():
    for cls in (awaitq.Error, awaitq.ChannelClosed, awaitq.ChannelFull):
        assert cls.__module__ == "awaitq"
    assert awaitq.Channel.__module__ == "awaitq"
    assert awaitq.Awaitable.__module__ == "awaitq"


def test_awaitable_cannot_be_instantiated():
    with pytest.raises(TypeError):
        awaitq.Awaitable()


def test_dropping_the_channel_closes_it():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    handle = ch.producer()
    handle.push(b"a")
    del ch
    gc.collect()
    assert handle.closed
    with pytest.raises(awaitq.ChannelClosed):
        handle.push(b"b")


def test_producer_handle_push_and_close():
    ch = awaitq.Channel(capacity=2, max_frame=4)
    h = ch.producer()
    assert isinstance(h.address, int) and h.address != 0
    assert h.address == ch.producer().address
    h.push(b"hi", tag=3)
    with pytest.raises(ValueError):
        h.push(b"12345")
    h.close()
    assert ch.closed and h.closed
    assert ch.try_recv() == b"hi"
