"""Shared fixtures: the real site, built once per test session, strictly."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import nbformat
import pytest
from filelock import FileLock
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from tools.browser import serving  # noqa: F401 - the tests' one local server
from tools.notebooks import execute_notebook

ROOT = Path(__file__).resolve().parent.parent


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


def shared_folder(tmp_path_factory) -> Path:
    """A temporary folder all the parallel processes of this test run share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def runtime_requirements() -> list[str]:
    """What a reader's Python needs for the pages' code: pyproject's run-time dependencies
    (not the site or test extras), and ipykernel to run notebooks."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["dependencies"] + ["ipykernel"]


def purelib(python: Path) -> str:
    """Where an environment's pure-Python packages are installed."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def fresh_python(folder: Path, *, on_top_of: Path | None = None) -> Path:
    """A new virtual environment in `folder`; returns its python. Without `on_top_of` it gets
    the run-time dependencies, at the versions of requirements.lock (pip's cache makes that
    quick); with it, it sees that environment's packages (a .pth file) and has nothing else."""
    venv.create(folder, with_pip=True, symlinks=True)
    python = folder / "bin" / "python"
    if on_top_of is None:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                str(ROOT / "requirements.lock"),
                *runtime_requirements(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    else:
        Path(purelib(python), "runtime-dependencies.pth").write_text(purelib(on_top_of) + "\n", encoding="utf-8")
    return python


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory) -> Path:
    """A fresh environment outside the repository with only the run-time dependencies: no
    clone on its path, no project installed. Made once per test run, shared by the processes."""
    shared = shared_folder(tmp_path_factory)
    folder = shared / "runtime-venv"
    with FileLock(shared / "runtime-venv.lock"):
        if not (folder / "ready").is_file():
            fresh_python(folder)
            (folder / "ready").touch()
    return folder / "bin" / "python"


@pytest.fixture(scope="session")
def kernels(runtime_python, tmp_path_factory):
    """A Jupyter kernel that runs in the fresh run-time environment (conftest.runtime_python)."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / "runtime" / "kernel.json"
    spec.parent.mkdir()
    spec.write_text(
        json.dumps(
            {
                "argv": [str(runtime_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "runtime",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    return KernelSpecManager(kernel_dirs=[str(folder)])


def run_notebook(notebook: str, folder, kernels, *, sample=True, env=None) -> nbformat.NotebookNode:
    """Execute a notebook top to bottom in the fresh environment, in a folder outside the
    repository, offline. With `sample`, the offline sample lies where the package looks for
    it (standing in for the download a reader's first run makes)."""
    nb = nbformat.read(ROOT / "docs" / notebook, as_version=4)
    if sample:
        shutil.copytree(ROOT / "snippets" / "sample", folder / "snippets" / "sample")
    manager = KernelManager(kernel_name="runtime", kernel_spec_manager=kernels)
    return execute_notebook(nb, folder, {**reader_environment(), **(env or {})}, kernel_manager=manager)


def printed(nb) -> str:
    """What a notebook's code printed: its stdout, and text it displayed that is not a figure
    (in Jupyter, Keras's model.summary() is displayed, not printed)."""
    texts = []
    for output in (o for c in nb.cells if c.cell_type == "code" for o in c.outputs):
        if output.get("name") == "stdout":
            texts.append(output["text"])
        elif output.output_type == "display_data" and "image/png" not in output.data:
            texts.append(output.data.get("text/plain", "") + "\n")
    return ANSI.sub("", "".join(texts))


def reader_environment() -> dict[str, str]:
    """The environment of a reader's Python outside the clone: no PYTHONPATH and none of the
    tutorial's settings (so the data is the package's default), except that the pages'
    models are cached in the build's folder, so that nothing trains twice."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("CNN_TUTORIAL_")}
    env.update(
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="2",
        COLUMNS="100",
        CNN_TUTORIAL_MODELS=os.environ.get("CNN_TUTORIAL_MODELS", str(ROOT / ".cache" / "models")),
    )
    return env


# Durations (e.g. "4.5 s per epoch", "12ms/step") differ from run to run; nothing else may.
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|ms|us|µs)\b")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours and bold in what Jupyter shows
TEXT_OUTPUT = re.compile(r"^(`{3,}) \{ \.text \.exec-output \}\n(.*?)\n\1$", re.M | re.S)


def meaningful_lines(text: str) -> list[str]:
    """Non-empty lines, durations masked; runs of spaces shrink to one (a duration's width may pad a column)."""
    return [
        re.sub(r" {2,}", " ", DURATION.sub("<duration>", line.rstrip())) for line in text.splitlines() if line.strip()
    ]


def page_printed(page: str) -> str:
    """What the build shows as the printed output of `page`'s blocks, in order."""
    return "\n".join(m[2] for b in exec_record(page)["blocks"] for m in TEXT_OUTPUT.finditer(b["output"]))


def exec_record(page: str) -> dict:
    """What the build recorded for `page`: each block's label, code and output."""
    from tools.keys import cache_dir, record_stem

    records = sorted(cache_dir().glob(f"{record_stem(page)}.*.json"))
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


# ---------------------------------------------------------------- the MNIST chapter's data and model


@pytest.fixture(scope="module")
def mnist():
    """MNIST as the chapter's pages train on it: snippets.mnist_data.prepare_mnist() of the default data."""
    from snippets.mnist_data import prepare_mnist  # imported here: it imports Keras, which most tests never need

    return prepare_mnist()


@pytest.fixture(scope="module")
def notes_cnn():
    """The pages' trained model and its record: the notes' CNN after 10 epochs, as trained() stores it
    (a cache hit once the site, or the training page, has been built)."""
    from snippets.mnist_training import trained

    return trained("notes_cnn", epochs=10)


@pytest.fixture(scope="module")
def model(notes_cnn):
    """The pages' trained Keras model (the notes' CNN after 10 epochs)."""
    return notes_cnn.model
