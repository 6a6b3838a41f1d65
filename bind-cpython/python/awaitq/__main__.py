"""`python -m awaitq --include`: the directory of awaitq's C headers, for build systems.

    cc $(python -m awaitq --cflags) ...      # -I<dir>
    meson: run_command(py, '-m', 'awaitq', '--include', check: true).stdout().strip()
"""

import argparse
import sys

from . import __version__, get_include


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m awaitq",
        description="awaitq: await the frames native code produces, from asyncio.",
    )
    parser.add_argument("--include", action="store_true", help="print the C header directory")
    parser.add_argument("--cflags", action="store_true", help="print -I<header directory>")
    parser.add_argument("--version", action="store_true", help="print the package version")
    args = parser.parse_args(argv)
    if args.include:
        print(get_include())
    if args.cflags:
        print("-I" + get_include())
    if args.version:
        print(__version__)
    if not (args.include or args.cflags or args.version):
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
