"""The pages as notebooks (tools/notebooks.py): up to date, faithful, and they run."""

from __future__ import annotations

import io
import subprocess
import sys
import tomllib
import zipfile

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from tools import notebooks, page_tools, reader_wheel
from tools.blocks import python_blocks

from conftest import ANSI, ROOT, meaningful_lines, page_printed, printed, run_notebook


def test_the_committed_notebooks_are_up_to_date():
    run = subprocess.run([sys.executable, "-m", "tools.notebooks", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_a_page_notebook_holds_the_page_code_in_order_after_a_setup_cell():
    page = ROOT / "docs" / "pooling.md"
    nb = nbformat.read(ROOT / "docs" / "downloads" / "pooling.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].source == "# Pooling"  # the title, then the setup cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith("#@title Setup") and code[0].metadata["tags"] == ["setup"]
    assert [c.source for c in code[1:]] == [
        b.code for b in python_blocks(page.read_text(encoding="utf-8"), "pooling.md")
    ]
    markdown = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert markdown.startswith("# Pooling") and "!!!" not in markdown and "--8<--" not in markdown


def test_material_syntax_becomes_plain_markdown():
    text = '!!! note "A correction"\n    Body line.\n\n=== "NumPy"\n\n    Tab text [see](softmax.md#logits).\n\nAfter.'
    converted = notebooks.prose(text, "../../")
    assert (
        converted == "**A correction**\n\nBody line.\n\n**NumPy**\n\nTab text [see](../../softmax/#logits).\n\nAfter."
    )
    assert "Tab text see." in notebooks.prose(text, "")  # a downloaded notebook: the text stays


def setup_files(notebook: str) -> dict[str, str]:
    """What a notebook's setup cell writes, by running it in a folder of its own."""
    nb = nbformat.read(ROOT / "docs" / notebook, as_version=4)
    namespace = {}
    exec(compile(nb.cells[1].source, notebook, "exec"), namespace)  # only defines FILES when run by exec here
    return namespace["FILES"]


def test_the_setup_cell_carries_exactly_the_modules_the_code_imports_as_they_are_in_the_repository():
    concepts = setup_files("downloads/convolution.ipynb")
    assert "snippets/convolution.py" in concepts and "snippets/__init__.py" in concepts
    assert "snippets/mnist_training.py" not in concepts and not any(f.endswith(".json") for f in concepts)
    chapter = setup_files("notebooks/mnist_cnn.ipynb")
    assert {"snippets/mnist_training.py", "snippets/data.py", "snippets/mnist_accuracy.json"} <= set(chapter)
    legacy = setup_files("downloads/legacy.ipynb")
    assert "snippets/notes_programs/old_002.txt" in legacy
    for files in (concepts, chapter, legacy):
        assert not any(name.startswith("snippets/sample/") for name in files)  # Keras downloads full MNIST
        for name, text in files.items():
            assert (ROOT / name).read_text(encoding="utf-8") == text, name


def test_a_literal_holds_any_text_exactly():
    for text in ["plain\n", "ends with a quote'", "a \\ backslash\n", "three ''' quotes", "ends \\", 'say """hi"""\n']:
        assert eval(notebooks.literal(text)) == text


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/owner/cnn", "https://github.com/owner/cnn"),
        ("https://github.com/owner/cnn.git", "https://github.com/owner/cnn"),
        ("git@github.com:owner/cnn.git", "https://github.com/owner/cnn"),
        ("https://gitlab.com/owner/cnn.git", ""),
        ("/srv/mirror/cnn", ""),
    ],
)
def test_the_repository_comes_from_the_workflow_or_the_origin_remote(monkeypatch, remote, expected):
    monkeypatch.setenv("REPO_URL", remote)
    assert page_tools.repository() == expected


def test_colab_links_need_a_github_repository_and_a_branch(monkeypatch):
    monkeypatch.setenv("REPO_BRANCH", "gh-edition")
    assert page_tools.branch() == "gh-edition"
    assert page_tools.colab_url("https://github.com/owner/cnn", "gh-edition", "downloads/pooling.ipynb") == (
        "https://colab.research.google.com/github/owner/cnn/blob/gh-edition/docs/downloads/pooling.ipynb"
    )
    assert page_tools.colab_url("", "main", "downloads/pooling.ipynb") == ""
    assert page_tools.colab_url("https://github.com/owner/cnn", "", "downloads/pooling.ipynb") == ""


# ---------------------------------------------------------------- run outside the repository

NOTEBOOKS = sorted(n for n in notebooks.sources() if n.startswith("downloads/"))  # the notebook page: test_mnist_cnn.py


@pytest.mark.build
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_runs_outside_the_repository_without_the_project(notebook, built_site, kernels, tmp_path):
    """A downloaded notebook (or one Colab opened) in a fresh environment that has only the
    run-time dependencies: it runs top to bottom and prints what its page shows."""
    nb = run_notebook(notebook, tmp_path, kernels)
    assert (tmp_path / "snippets" / "__init__.py").is_file()  # the setup cell wrote the modules
    page = notebook.removeprefix("downloads/").replace(".ipynb", ".md")
    assert meaningful_lines(printed(nb)) == meaningful_lines(page_printed(page))


def test_without_internet_or_data_the_first_data_cell_says_what_to_do(kernels, tmp_path):
    """No sample and no network (a proxy that refuses every connection): the error is one
    sentence that says what to do, from the first cell that loads MNIST."""
    with pytest.raises(CellExecutionError) as error:
        run_notebook(
            "downloads/mnist_data.ipynb",
            tmp_path,
            kernels,
            sample=False,
            env={
                "HTTPS_PROXY": "http://127.0.0.1:9",
                "HTTP_PROXY": "http://127.0.0.1:9",
                "KERAS_HOME": str(tmp_path / "keras"),
            },
        )
    message = ANSI.sub("", str(error.value))  # the traceback's colours
    assert (
        "RuntimeError: MNIST could not be downloaded: connect to the internet and run this again, or set "
        "CNN_TUTORIAL_MNIST_DIR to a folder that holds the four official MNIST files" in message
    )
    assert "load_mnist" in message


def test_the_reader_package_holds_every_file_of_snippets_and_only_the_run_time_dependencies():
    """What the pages' install command brings (tools/reader_wheel.py): every tracked file of
    snippets/, as pyproject.toml's packages and package data list them, and pyproject's
    run-time dependencies only. The same sources give the same bytes."""
    tracked = subprocess.run(["git", "ls-files", "snippets"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert sorted(reader_wheel.package_files()) == sorted(tracked.stdout.split())
    wheel = reader_wheel.build_wheel()
    assert wheel == reader_wheel.build_wheel()
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert [
        line.removeprefix("Requires-Dist: ") for line in metadata.splitlines() if line.startswith("Requires-Dist")
    ] == dependencies
    assert not any("mkdocs" in d or "pytest" in d for d in dependencies)
    assert "snippets/sample/mnist-sample.npz" in names
    with zipfile.ZipFile(io.BytesIO(reader_wheel.build_wheel(sample=False))) as archive:
        assert not any(n.startswith("snippets/sample/") for n in archive.namelist())  # the full edition's
