"""One table of bench.py and instr.py figures across interpreters.

Each interpreter's run writes `bench-<label>.json` (bench.py --json) and `instr-<label>.json`
(instr.py --only channel --json) into one folder; this prints them side by side, with the
issue's targets: a ready `await ch.recv()` within 1.3x the C floor measured on the same
interpreter (in time and in instructions), streaming `async for` at least 40x the standard
pattern. ci/bench-interpreters.sh runs the programs on 3.11 and sid's 3.13, 3.14 and 3.15.

Usage: python bench/table.py DIR
"""

import json
import pathlib
import sys

READY = "await ch.recv()  (a frame already queued)"
FLOOR = "floor: C awaitable returning new bytes"
TRIVIAL = "await trivial()  (async def returning at once)"


def load(d, kind):
    out = {}
    for p in sorted(pathlib.Path(d).glob(kind + "-*.json")):
        out[p.stem[len(kind) + 1:]] = json.loads(p.read_text())
    return out


def main():
    d = sys.argv[1]
    bench, instr = load(d, "bench"), load(d, "instr")
    labels = sorted(set(bench) | set(instr), key=lambda s: [int(x) for x in s.split(".") if x.isdigit()])
    rows = [
        ("CPython", lambda b, i: (b or i or {}).get("python", "?")),
        ("ready await ch.recv() ns", lambda b, i: "%.0f" % b["recv_ns"]),
        ("C floor ns", lambda b, i: "%.0f" % b["floor_ns"]),
        ("trivial coroutine ns", lambda b, i: "%.0f" % b["trivial_ns"]),
        ("recv / floor (time, <= 1.3)", lambda b, i: "%.2f" % b["ready_vs_floor"]),
        ("recv instructions", lambda b, i: "%.0f" % i["channel"][READY]),
        ("floor instructions", lambda b, i: "%.0f" % i["channel"][FLOOR]),
        ("trivial instructions", lambda b, i: "%.0f" % i["channel"][TRIVIAL]),
        ("recv / floor (instr., <= 1.3)",
         lambda b, i: "%.2f" % (i["channel"][READY] / i["channel"][FLOOR])),
        ("async for frames/s", lambda b, i: "%.2fM" % (b["stream_async_for_fps"] / 1e6)),
        ("standard frames/s", lambda b, i: "%.0fk" % (b["stream_std_fps"] / 1e3)),
        ("async for / standard (>= 40)", lambda b, i: "%.0fx" % b["stream_async_for"]),
        ("recv_many(256) / standard", lambda b, i: "%.0fx" % b["stream_recv_many"]),
    ]
    table = [["measure"] + labels]
    for name, f in rows:
        line = [name]
        for lab in labels:
            try:
                line.append(f(bench.get(lab), instr.get(lab)))
            except (KeyError, TypeError):
                line.append("-")
        table.append(line)
    widths = [max(len(r[c]) for r in table) for c in range(len(table[0]))]
    for k, r in enumerate(table):
        print("| " + " | ".join(x.ljust(w) for x, w in zip(r, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
