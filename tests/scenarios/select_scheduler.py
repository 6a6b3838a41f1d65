# Outside asyncio: a hand-written scheduler drives coroutines with send() and waits with
# select.poll on what a waiting receive yields (CPython: a WaitHandle; MicroPython: the
# awaitable itself), multiplexing channels fed by native threads. It polls the descriptor
# (fileno()) where there is one, else the object (MicroPython's stream ioctl, on an MCU).
import awaitq
from awaitq.testing import spawn_producer

try:
    import select

    select.poll
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit


def key(handle):
    try:
        return handle.fileno()
    except (AttributeError, OSError):
        return handle


def run(coros):
    poller = select.poll()
    ready = list(coros)
    waiting = {}
    while ready or waiting:
        while ready:
            c = ready.pop(0)
            try:
                h = c.send(None)
            except StopIteration:
                continue
            k = key(h)
            if k not in waiting:
                poller.register(k, select.POLLIN)
                waiting[k] = []
            waiting[k].append(c)
        if waiting:
            for k, _ in poller.poll():
                poller.unregister(k)
                ready.extend(waiting.pop(k))


async def consume(name, ch, out):
    n = 0
    ok = True
    async for d in ch:
        ok = ok and int.from_bytes(d[:4], "little") == n
        n += 1
    out.append((name, n, ok))


out = []
chans = [awaitq.Channel(capacity=8, max_frame=8) for _ in range(3)]
producers = [spawn_producer(ch, 3000 * (i + 1), size=8, close=True) for i, ch in enumerate(chans)]
run([consume("ch%d" % i, ch, out) for i, ch in enumerate(chans)])
for line in sorted(out):
    print(*line)
print("pushed", [p.join() for p in producers])
