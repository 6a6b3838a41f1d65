# Issue 15, item 4: a receive interrupted by KeyboardInterrupt (asyncio.run ends, its tasks
# stay in the loop's queues: MicroPython's asyncio keeps them) and asyncio.new_event_loop()
# (MicroPython's way to drop them): the next run gets the next frame instead of "another
# receiver is already waiting", and the interrupted receive took nothing.
import asyncio
import awaitq

ch = awaitq.Channel(capacity=4, max_frame=8)


async def receiver(kind):
    if kind == "recv_into":
        buf = bytearray(8)
        n = await ch.recv_into(buf)
        print("old task got", bytes(buf[:n]))
    else:
        print("old task got", await getattr(ch, kind)())


async def interrupted(kind):
    asyncio.create_task(receiver(kind))
    await asyncio.sleep_ms(10)  # the receiver parks
    raise KeyboardInterrupt


async def next_run(tag):
    ch.send_nowait(tag)
    try:
        print("new run got", await asyncio.wait_for_ms(ch.recv(), 1000))
    except Exception as e:
        print("new run:", type(e).__name__, e)


for kind in ("recv", "recv_tagged", "recv_into", "recv_many_1"):
    k = "recv_many" if kind == "recv_many_1" else kind
    if k == "recv_many":

        async def receiver(kind, _r=receiver):  # noqa: F811 - recv_many needs n
            print("old task got", await ch.recv_many(1))

    try:
        asyncio.run(interrupted(k))
    except KeyboardInterrupt:
        print(kind, "interrupted")
    asyncio.new_event_loop()
    asyncio.run(next_run(b"n-" + kind[:5].encode()))
    print("queued after:", len(ch))
