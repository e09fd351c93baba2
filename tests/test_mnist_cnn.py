"""The whole-workflow notebook (docs/notebooks/mnist_cnn.ipynb): it runs as downloaded."""

from __future__ import annotations

import re

from conftest import ROOT
from test_notebooks import run_notebook

NOTEBOOK = ROOT / "docs" / "notebooks" / "mnist_cnn.ipynb"


def test_the_notebook_runs_top_to_bottom_offline_with_the_sample(tmp_path):
    """A fresh kernel, outside the repository, no network: only what `make setup` installs."""
    printed = run_notebook(NOTEBOOK, tmp_path)
    assert "MNIST offline sample (data/mnist-sample.npz): 5,000 training + 10,000 test images" in printed
    assert "Total params: 3,222,954" in printed
    accuracy = float(re.search(r"test accuracy (0\.\d+) on 10,000 test images", printed)[1])
    assert accuracy >= 0.95  # the sample's bar for the notes' CNN after 10 epochs (see the training page)
    wrong = int(re.search(r"misclassified: (\d+) of 10,000 test images", printed)[1])
    assert wrong == round((1 - accuracy) * 10_000)  # the same model, evaluated two ways
    assert "reloaded predictions differ by at most 0.0e+00" in printed
    assert list(tmp_path.iterdir()) == []  # it leaves nothing behind


def test_the_notebook_is_a_page_of_the_site_after_the_chapter():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert nav.index("mnist.md") < nav.index("notebooks/mnist_cnn.ipynb")
