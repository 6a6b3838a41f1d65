"""Fixtures of the SDK tests: third-party projects built in isolation against the wheel.

AWAITQ_WHEELHOUSE (set by ci/test-cpython.sh) is a directory holding the awaitq wheel under
test and the build requirements of the example projects (setuptools, meson-python, ...), so
`pip wheel --no-index --find-links` builds them in an isolated environment from local files
only: the awaitq they build against is exactly this wheel, never another package of the same
name from an index.
"""

import importlib
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PROJECTS = HERE / "projects"


@pytest.fixture(scope="session")
def wheelhouse():
    wh = os.environ.get("AWAITQ_WHEELHOUSE")
    assert wh, "set AWAITQ_WHEELHOUSE to a directory with the awaitq wheel (ci/test-cpython.sh does)"
    wh = pathlib.Path(wh)
    assert list(wh.glob("awaitq-*.whl")), f"no awaitq wheel in {wh}"
    return wh


def build_project(name, wheelhouse, tmp_path_factory, extra_files=()):
    """Copies projects/<name> (plus `extra_files`, into its src/), builds its wheel with pip in
    an isolated environment from the wheelhouse only, installs it into a private directory
    put on sys.path, and returns that directory."""
    work = tmp_path_factory.mktemp(name)
    proj = work / "proj"
    shutil.copytree(PROJECTS / name, proj)
    (proj / "src").mkdir(exist_ok=True)
    for f in extra_files:
        shutil.copy(PROJECTS / f, proj / "src" / pathlib.Path(f).name)
    out = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-index",
         "--find-links", str(wheelhouse), "-w", str(out), str(proj)],
        check=True,
    )
    wheels = [w for w in out.glob("*.whl") if not w.name.startswith("awaitq-")]
    assert len(wheels) == 1, wheels
    site = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
         "--no-deps", "--target", str(site), str(wheels[0])],
        check=True,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    return site
