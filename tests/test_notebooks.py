"""The pages as notebooks (tools/notebooks.py): up to date, faithful, and they run."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import tomllib
from pathlib import PurePosixPath

import nbformat
from conftest import ROOT
from nbclient import NotebookClient

from tools import notebooks
from tools.exec_hook import python_blocks, worker_environment


def test_the_committed_notebooks_are_up_to_date():
    run = subprocess.run([sys.executable, "tools/notebooks.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_a_page_notebook_holds_the_page_code_in_order_after_a_setup_cell():
    page = ROOT / "docs" / "pooling.md"
    nb = json.loads((ROOT / "docs" / "downloads" / "pooling.ipynb").read_text(encoding="utf-8"))
    assert "".join(nb["cells"][0]["source"]) == "# Pooling"  # the title, then the setup cell
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert "find_spec(\"snippets\")" in code[0]
    assert code[1:] == [b.code for b in python_blocks(page.read_text(encoding="utf-8"), "pooling.md")]
    markdown = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert markdown.startswith("# Pooling") and "!!!" not in markdown and "--8<--" not in markdown


def test_material_syntax_becomes_plain_markdown():
    text = '!!! note "A correction"\n    Body line.\n\n=== "NumPy"\n\n    Tab text [see](softmax.md#logits).\n\nAfter.'
    converted = notebooks.prose(text, "https://owner.github.io/site/")
    assert converted == (
        "**A correction**\n\nBody line.\n\n**NumPy**\n\n"
        "Tab text [see](https://owner.github.io/site/softmax/#logits).\n\nAfter."
    )
    assert "Tab text see." in notebooks.prose(text, "")  # no published URL known: the text stays


def test_the_setup_cell_installs_from_the_configured_repository():
    code = notebooks.setup_code("https://github.com/owner/cnn")
    assert '%pip install --quiet "cnn-tutorial @ git+https://github.com/owner/cnn"' in code
    assert 'CNN_TUTORIAL_DATA", "full"' in code  # the offline sample is not part of the package
    assert "raise ModuleNotFoundError" in notebooks.setup_code("")
    assert notebooks.colab_url("https://github.com/owner/cnn", "downloads/pooling.ipynb") == (
        "https://colab.research.google.com/github/owner/cnn/blob/main/docs/downloads/pooling.ipynb"
    )
    assert notebooks.colab_url("", "downloads/pooling.ipynb") == ""
    assert notebooks.site_url("https://github.com/Owner/cnn") == "https://owner.github.io/cnn/"


def run_notebook(path, tmp_path):
    """Execute a notebook top to bottom in a fresh kernel, elsewhere than the repository,
    offline, with the environment `make setup` creates."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    env = {k: v for k, v in worker_environment().items() if k != "PYTHONPATH"}  # the installed package only
    client.execute(env=env)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_a_downloaded_page_notebook_runs_top_to_bottom(tmp_path):
    printed = run_notebook(ROOT / "docs" / "downloads" / "pooling.ipynb", tmp_path)
    assert "max pooling keeps" in printed



def test_the_package_installs_every_file_of_snippets():
    """Colab installs the package, not the clone: every module and every data file that the
    pages read (the notes' programs, the stored benchmark results) must be part of it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages, data = set(config["packages"]), config.get("package-data", {})
    tracked = subprocess.run(["git", "ls-files", "snippets"], cwd=ROOT, capture_output=True, text=True, check=True)
    missing = []
    for name in tracked.stdout.split():
        path = PurePosixPath(name)
        package = ".".join(path.parent.parts)
        installed = package in packages and (path.suffix == ".py" or any(
            fnmatch.fnmatch(path.name, pattern) for pattern in data.get(package, [])))
        if not installed:
            missing.append(name)
    assert missing == []
