# The two overflow policies and their counters.
import awaitq

KEYS = ("sent", "received", "dropped", "overwritten", "rejected", "high_water")


def show(ch):
    st = ch.stats()
    print(" ".join("%s=%d" % (k, st[k]) for k in KEYS))


for policy in ("reject", "drop_oldest"):
    ch = awaitq.Channel(capacity=3, max_frame=2, overflow=policy)
    print(policy, ch.capacity, ch.max_frame, ch.overflow)
    for i in range(5):
        try:
            ch.send_nowait(bytes([65 + i]))
            print("sent", i)
        except awaitq.ChannelFull as e:
            print("full", i, e)
    try:
        ch.send_nowait(b"xyz")
    except ValueError as e:
        print("oversize", e)
    out = []
    while True:
        d = ch.try_recv()
        if d is None:
            break
        out.append(d)
    print("drained", out)
    show(ch)
print("stats keys", sorted(awaitq.Channel().stats().keys()) == sorted(KEYS))
