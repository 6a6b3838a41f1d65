# Issue 15, item 6: one argument policy on both Pythons (the rules are awaitq_core::args;
# bind-cpython/tests/test_faults.py checks the same values on CPython).
import awaitq
import awaitq.testing


def check(what, fn, expected):
    try:
        fn()
        print(what, "accepted")
    except Exception as e:
        print(what, type(e).__name__, "ok" if type(e).__name__ == expected else "WRONG")


for kw in ("capacity", "max_frame"):
    for v in (None, True, 1.0, "4"):
        check("%s=%r" % (kw, v), lambda: awaitq.Channel(**{kw: v}), "TypeError")
ch = awaitq.Channel()
for rate in (1e-300, 0.0, -1.0, 1e300):
    check("rate_hz=%r" % rate, lambda: awaitq.testing.spawn_producer(ch, 1, rate_hz=rate), "ValueError")
check("count=-1", lambda: awaitq.testing.spawn_producer(ch, -1), "ValueError")
check("count=True", lambda: awaitq.testing.spawn_producer(ch, True), "TypeError")
check("tag=-1", lambda: ch.send_nowait(b"x", tag=-1), "ValueError")
check("tag=True", lambda: ch.send_nowait(b"x", tag=True), "TypeError")
ch2 = awaitq.Channel()
p = awaitq.testing.spawn_producer(ch2, 3, rate_hz=1000, close=True)
p.join()
print("paced producer pushed", len(ch2))
