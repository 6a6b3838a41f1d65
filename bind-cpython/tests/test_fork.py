"""fork() while native producers push flat out: the child can use every channel.

Before the per-channel ring, every channel shared one process-wide lock; a fork taken while a
producer thread held it left the child spinning on a lock whose owner does not exist there
(178 of 200 children hung). Now a frame's path takes no lock at all.
"""

import asyncio
import os
import sys
import time

import pytest

import awaitq
from awaitq.testing import spawn_producer

FORKS = 200
CHILD_TIMEOUT_S = 10.0


def _child(chans):
    """Every operation a consumer and a producer do, on every channel; the exit code says
    which failed (0: all worked)."""
    for k, ch in enumerate(chans):
        len(ch)
        ch.stats()
        while ch.try_recv() is not None:  # drain what the parent's producers left
            pass
        ch.send_nowait(b"child %d" % k, tag=7)
        ch.producer().push(b"handle", tag=8)
        got = asyncio.run(_recv_two(ch))
        if got != [(7, b"child %d" % k), (8, b"handle")]:
            return 10 + k
        ch.close()
        if not ch.closed:
            return 20 + k
    return 0


async def _recv_two(ch):
    return [await ch.recv_tagged(), await asyncio.wait_for(ch.recv_tagged(), 5)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_child_forked_while_producers_push_can_use_every_channel():
    chans = [
        awaitq.Channel(capacity=64, max_frame=16, overflow="drop_oldest") for _ in range(2)
    ]
    # Flat out: far more frames than the test lasts; closing the channel stops them.
    producers = [spawn_producer(ch, 1 << 40, size=16) for ch in chans]
    hung, failed = [], []
    try:
        for i in range(FORKS):
            # Let the producers run between forks so each fork lands mid-push.
            time.sleep(0.0005)
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child reports through its exit code
                code = 99
                try:
                    code = _child(chans)
                except BaseException:
                    code = 98
                finally:
                    os._exit(code)
            deadline = time.monotonic() + CHILD_TIMEOUT_S
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    hung.append(i)
                    break
                time.sleep(0.001)
            if done and os.waitstatus_to_exitcode(status) != 0:
                failed.append((i, os.waitstatus_to_exitcode(status)))
    finally:
        for ch in chans:
            ch.close()
        for p in producers:
            p.join()
    assert not hung, f"{len(hung)} of {FORKS} children hung: {hung[:10]}"
    assert not failed, f"{len(failed)} of {FORKS} children failed: {failed[:10]}"
    # The producers really were pushing flat out the whole time.
    assert all(ch.stats()["overwritten"] > 0 for ch in chans), [ch.stats() for ch in chans]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
