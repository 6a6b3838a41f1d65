#!/usr/bin/env python3
"""Flash and RAM cost of awaitq inside a firmware, from the GNU ld map file.

Usage: size_report.py <firmware.map> [--limit-text BYTES] [--baseline PLAIN.elf FIRMWARE.elf]

Attributes every input section the linker kept to the object it came from, and counts as
awaitq's:
  - the members of libawaitq_micropython.a that were linked (the Rust binding, awaitq-core,
    awaitq-capi, and the parts of Rust's core/compiler_builtins they pulled in),
  - the C shim objects (bind-micropython/csrc/*.o),
  - members of other archives (libgcc, newlib) that were linked only because one of the
    above referenced them ("Archive member included to satisfy reference by file").
Not counted (not attributable in a map): awaitq's interned strings in MicroPython's qstr pool
and its entry in the module table, a few hundred bytes; and the board's isrbus test module,
reported on its own line. Flash = text + data (data's initial values live in flash);
RAM = data + bss, static only: channels live on the MicroPython heap.
Exits non-zero if --limit-text is given and awaitq's text exceeds it: with --baseline, the real
cost (the whole-firmware difference below) is what is held to the limit, since the attributed
total also counts soft-float helpers MicroPython's own math module calls (seen: __divsf3,
__addsf3, __mulsf3 resolved from our archive's compiler_builtins instead of libgcc); without a
baseline, the attributed total.

--baseline also prints the whole-firmware difference (arm-none-eabi-size) between FIRMWARE.elf
and the same board built without awaitq. That difference is the real cost and can be SMALLER
than the attributed total: Rust's compiler_builtins members that awaitq pulls in (float and
memory helpers) then also serve MicroPython, which no longer links libgcc's equivalents.
"""
import subprocess
import re
import sys
from collections import defaultdict

SECTION_KIND = (
    (re.compile(r"^\.(text|rodata)"), "text"),
    (re.compile(r"^\.data"), "data"),
    (re.compile(r"^(\.bss|COMMON)"), "bss"),
)
ONE_LINE = re.compile(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
NAME_ONLY = re.compile(r"^ (\S+)$")
CONTINUATION = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
MEMBER = re.compile(r"^(.*\.a)\((.*)\)$")


def kind_of(section):
    for pattern, kind in SECTION_KIND:
        if pattern.match(section):
            return kind
    return None


def parse(path):
    lines = open(path).read().splitlines()
    # Who pulled which archive member in.
    pulled_by = {}
    i = 1
    while i < len(lines) and lines[i].strip() != "Discarded input sections":
        if lines[i] and not lines[i].startswith(" ") and i + 1 < len(lines):
            by = lines[i + 1].strip()
            by = by[: by.rfind(" (")] if by.endswith(")") and " (" in by else by
            pulled_by[lines[i].strip()] = by
            i += 2
        else:
            i += 1
    start = next(n for n, line in enumerate(lines) if line.startswith("Linker script and memory map"))
    sizes = defaultdict(lambda: {"text": 0, "data": 0, "bss": 0})
    pending = None
    for line in lines[start:]:
        m = ONE_LINE.match(line)
        if m:
            section, size, obj = m.group(1), int(m.group(3), 16), m.group(4)
        elif pending and CONTINUATION.match(line):
            c = CONTINUATION.match(line)
            section, size, obj = pending, int(c.group(2), 16), c.group(3)
        else:
            n = NAME_ONLY.match(line)
            pending = n.group(1) if n else None
            continue
        pending = None
        kind = kind_of(section)
        if kind and size:
            sizes[obj.strip()][kind] += size
    return pulled_by, sizes


def classify(obj, pulled_by):
    m = MEMBER.match(obj)
    if m and m.group(1).endswith("libawaitq_micropython.a"):
        crate = m.group(2).split("-")[0]
        return "rust:" + crate
    if "/bind-micropython/csrc/" in obj:
        return "shim:" + obj.rsplit("/", 1)[-1]
    if obj.endswith("board_isrbus.o"):
        return "board:isrbus"
    seen = set()
    while obj in pulled_by and obj not in seen:  # a library member pulled in by awaitq code?
        seen.add(obj)
        obj = pulled_by[obj]
        if classify(obj, {}) not in (None, "board:isrbus"):
            return "libc/libgcc for awaitq"
    return None


def elf_size(path):
    out = subprocess.run(["arm-none-eabi-size", path], check=True, capture_output=True, text=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def main():
    args = sys.argv[1:]
    limit = None
    if "--limit-text" in args:
        k = args.index("--limit-text")
        limit = int(args[k + 1])
        del args[k : k + 2]
    baseline = None
    if "--baseline" in args:
        k = args.index("--baseline")
        baseline = args[k + 1 : k + 3]
        del args[k : k + 3]
    pulled_by, sizes = parse(args[0])
    groups = defaultdict(lambda: {"text": 0, "data": 0, "bss": 0})
    for obj, s in sizes.items():
        g = classify(obj, pulled_by)
        if g:
            for k in s:
                groups[g][k] += s[k]
    total = {"text": 0, "data": 0, "bss": 0}
    print("%-40s %7s %6s %6s" % ("awaitq part", "text", "data", "bss"))
    for g in sorted(groups, key=lambda g: (g.startswith("board"), g)):
        s = groups[g]
        print("%-40s %7d %6d %6d" % (g, s["text"], s["data"], s["bss"]))
        if not g.startswith("board"):
            for k in total:
                total[k] += s[k]
    print("%-40s %7d %6d %6d" % ("TOTAL awaitq (without board:isrbus)", total["text"], total["data"], total["bss"]))
    print("flash (text+data): %d bytes = %.1f KiB; static RAM (data+bss): %d bytes"
          % (total["text"] + total["data"], (total["text"] + total["data"]) / 1024,
             total["data"] + total["bss"]))
    held = ("attributed", total["text"])
    if baseline:
        plain, fw = (elf_size(p) for p in baseline)
        isr = groups.get("board:isrbus", {"text": 0, "data": 0, "bss": 0})
        delta = {k: fw[k] - plain[k] - isr[k] for k in ("text", "data", "bss")}
        print("whole firmware vs the board without awaitq (isrbus excluded): text %+d, data %+d, bss %+d"
              % (delta["text"], delta["data"], delta["bss"]))
        held = ("whole-firmware", delta["text"])
    if limit is not None:
        verdict = "within" if held[1] <= limit else "OVER"
        print("text %d (%s) vs target %d bytes: %s; attributed total %d"
              % (held[1], held[0], limit, verdict, total["text"]))
        if held[1] > limit:
            sys.exit(1)


main()
