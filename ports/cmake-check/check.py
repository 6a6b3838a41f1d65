# Run by the cmake-check host build: awaitq was compiled, bound (bindgen), linked and
# registered through ports/micropython.cmake, and works with the frozen asyncio.
import asyncio

import awaitq


async def main():
    ch = awaitq.Channel(capacity=4, max_frame=8)
    got = []

    async def consumer():
        async for data in ch:
            got.append(data)

    task = asyncio.create_task(consumer())
    for k in range(10):
        await ch.send(b"%d" % k, tag=k)
    ch.close()
    await task
    print(got)
    print(ch.stats())


asyncio.run(main())
