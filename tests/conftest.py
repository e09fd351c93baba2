"""Shared fixtures: the real site, built once per test session, strictly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """When this test run started; parallel worker processes inherit the first process's."""
    os.environ.setdefault("TUTORIAL_TESTS_STARTED", str(time.time() - 1))


def mkdocs_build(project: Path, site_dir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` in `project`, as the Makefile runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=project,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The whole site, built with --strict; executed outputs come from (and fill) .cache/exec.

    Built once per run: with pytest-xdist (`make test` runs test files in parallel processes)
    the first process that needs it builds it, and the others wait for that build.
    CNN_TUTORIAL_SITE=path/to/site reuses a site built before (e.g. to rerun the browser tests).
    """
    if os.environ.get("CNN_TUTORIAL_SITE"):
        return Path(os.environ["CNN_TUTORIAL_SITE"])
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the folder all the processes of this run share
    site, failure = shared / "site", shared / "site-build-failed.txt"
    with FileLock(shared / "site.lock"):
        if not failure.is_file() and not (site / "index.html").is_file():
            result = mkdocs_build(ROOT, site)
            if result.returncode:
                failure.write_text(result.stderr[-6000:], encoding="utf-8")
    assert not failure.is_file(), f"strict build failed:\n{failure.read_text(encoding='utf-8')}"
    return site


def exec_record(page: str) -> dict:
    """What the build recorded for `page`: each block's label, code and output."""
    from tools.exec_hook import cache_dir

    records = sorted(cache_dir().glob(f"{page.replace('/', '_')}.*.json"))
    assert len(records) == 1, f"expected one executed-output record for {page}, found {records}"
    return json.loads(records[0].read_text(encoding="utf-8"))


@pytest.fixture
def float64_keras():
    """Keras layers and inputs in float64 for one test, then back to what it was.

    Layers take their dtype from the global dtype policy, which Keras fixes from
    floatx the first time a layer is made (perhaps in an earlier test), so both are set.
    """
    import keras

    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)
