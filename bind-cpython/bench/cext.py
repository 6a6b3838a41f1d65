"""Compiles a benchmark's small C extension in place (cc -O2 -DNDEBUG, as setuptools builds
release extensions) and imports it. Shared by bench.py and cont_bench.py."""

import importlib.machinery
import importlib.util
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def build(name, source, include_dirs=()):
    """Builds `source` (a path relative to this folder) as module `name` and imports it."""
    out_dir = pathlib.Path(tempfile.mkdtemp(prefix="awaitq-bench-"))
    out = out_dir / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("a C compiler is needed (ci/bench-*.sh installs gcc)")
    args = [cc, "-shared", "-fPIC", "-O2", "-DNDEBUG", "-I", sysconfig.get_paths()["include"]]
    for d in include_dirs:
        args += ["-I", str(d)]
    subprocess.run(args + [str(HERE / source), "-o", str(out)], check=True)
    spec = importlib.util.spec_from_file_location(name, out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
