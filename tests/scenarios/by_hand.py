# Driving receives by hand: ready frames complete at once (StopIteration carries the value);
# throw() and close() cancel a wait without consuming a frame.
import awaitq


def finish(aw):
    try:
        aw.send(None)
    except StopIteration as e:
        return e.value
    return "suspended"


ch = awaitq.Channel(capacity=4, max_frame=4)
ch.send_nowait(b"ab", tag=3)
ch.send_nowait(b"cd")
print("ready tagged", finish(ch.recv_tagged()))
print("ready recv", finish(ch.recv()))

aw = ch.recv()
try:
    aw.throw(KeyError("k"))
except KeyError as e:
    print("throw re-raises", type(e).__name__, e.args[0])
ch.send_nowait(b"x")
print("nothing taken", len(ch))
aw2 = ch.recv()
aw2.close()
print("close consumed nothing", len(ch), ch.try_recv())


async def coro():
    a = await ch.recv()
    b = await ch.recv_tagged()
    return a, b


ch.send_nowait(b"1")
ch.send_nowait(b"2", tag=2)
c = coro()
try:
    c.send(None)
except StopIteration as e:
    print("coroutine", e.value)
