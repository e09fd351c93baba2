"""The whole-workflow notebook (docs/notebooks/mnist_cnn.ipynb): it runs as downloaded."""

from __future__ import annotations

import re

from conftest import ROOT, printed, run_notebook


def test_the_notebook_runs_top_to_bottom_outside_the_repository_offline_with_the_sample(kernels, tmp_path):
    """A fresh kernel in an environment with only the run-time dependencies, outside the
    repository, no network; the offline sample where the package looks for it."""
    shown = printed(run_notebook("notebooks/mnist_cnn.ipynb", tmp_path, kernels))
    assert "MNIST offline sample (snippets/sample/mnist-sample.npz): 5,000 training + 10,000 test images" in shown
    assert "Total params: 3,222,954" in shown
    accuracy = float(re.search(r"test accuracy (0\.\d+) on 10,000 test images", shown)[1])
    assert accuracy >= 0.95  # the sample's bar for the notes' CNN after 10 epochs (see the training page)
    wrong = int(re.search(r"misclassified: (\d+) of 10,000 test images", shown)[1])
    assert wrong == round((1 - accuracy) * 10_000)  # the same model, evaluated two ways
    assert "reloaded predictions differ by at most 0.0e+00" in shown
    assert [p.name for p in tmp_path.iterdir()] == ["snippets"]  # it leaves nothing behind but its helper modules


def test_the_notebook_is_a_page_of_the_site_after_the_chapter():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert nav.index("mnist.md") < nav.index("notebooks/mnist_cnn.ipynb")
