# Outside asyncio: a hand-written scheduler drives coroutines with send() and select()s on the
# fileno() of what a waiting receive yields, multiplexing channels fed by native threads.
# Ports whose receives need a running asyncio task to wait print SKIP.
import awaitq
from awaitq.testing import spawn_producer

try:
    import select

    select.select
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit

probe = awaitq.Channel(capacity=1, max_frame=1)
aw = probe.recv()
try:
    handle = aw.send(None)
except RuntimeError:
    handle = None
if not hasattr(handle, "fileno"):
    print("SKIP")
    raise SystemExit
aw.close()


def run(coros):
    ready = list(coros)
    waiting = {}
    while ready or waiting:
        while ready:
            c = ready.pop(0)
            try:
                h = c.send(None)
            except StopIteration:
                continue
            waiting.setdefault(h.fileno(), []).append(c)
        if waiting:
            readable = select.select(list(waiting), [], [])[0]
            for fd in readable:
                ready.extend(waiting.pop(fd))


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
