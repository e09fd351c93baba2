"""The "Training faster" recipe, the FLOP count, the Fashion-MNIST files and the stored benchmark results.

Fast tests only: no benchmark runs here (`make bench` measures; these check its parts)."""

import json
import math
import os
from pathlib import Path

import keras
import numpy as np
import pytest

from bench import site_build, training
from snippets.data import read_idx
from snippets.mnist_models import notes_cnn
from snippets.training_faster import (
    BASE_LEARNING_RATE,
    FASHION_MNIST,
    RESULTS,
    compile_fast,
    forward_flops,
    load_results,
    make_dataset,
    results_table,
    scaled_learning_rate,
    set_threads,
    training_flops_per_image,
)

FASHION_DIR = os.environ.get("CNN_TUTORIAL_FASHION_MNIST_DIR")  # tests read outside the repository only here


@pytest.mark.skipif(
    not FASHION_DIR,
    reason="needs Fashion-MNIST: set CNN_TUTORIAL_FASHION_MNIST_DIR to its folder "
    f"(the Debian package dataset-fashion-mnist installs it in {FASHION_MNIST})",
)
def test_real_fashion_mnist_files_when_installed():
    """The files load_full_size() falls back to: set the variable, and they must be there and be Fashion-MNIST."""
    files = {
        part: [Path(FASHION_DIR) / f"{part}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")]
        for part in ("train", "t10k")
    }
    missing = [file.name for pair in files.values() for file in pair if not file.is_file()]
    assert not missing, f"CNN_TUTORIAL_FASHION_MNIST_DIR={FASHION_DIR} is set but lacks {', '.join(missing)}"
    for part, n in (("train", 60_000), ("t10k", 10_000)):
        images, labels = (read_idx(file) for file in files[part])
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8, (part, images.shape, images.dtype)
        assert labels.shape == (n,) and labels.dtype == np.uint8, (part, labels.shape, labels.dtype)
        assert labels.max() <= 9, f"{part}: labels up to {labels.max()}, expected 0 to 9"
        assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10  # Fashion-MNIST is balanced
        assert images.min() == 0 and images.max() == 255  # black to white: not a blank or constant file


# ---------------------------------------------------------------- the recipe


def test_pipeline_yields_the_same_batches_as_numpy_slicing():
    rng = np.random.default_rng(0)
    images = rng.random((23, 784), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 23)]
    batches = list(make_dataset(images, labels, batch_size=8))
    assert [tuple(b[0].shape) for b in batches] == [(8, 784), (8, 784), (7, 784)]
    for i, (batch_images, batch_labels) in enumerate(batches):
        assert np.array_equal(batch_images.numpy(), images[8 * i : 8 * i + 8])
        assert np.array_equal(batch_labels.numpy(), labels[8 * i : 8 * i + 8])


def test_shuffled_pipeline_is_a_reproducible_permutation_of_the_same_pairs():
    images = np.arange(40 * 784, dtype=np.float32).reshape(40, 784)
    labels = np.eye(10, dtype=np.float32)[np.arange(40) % 10]

    def epoch():
        return np.concatenate([b[0].numpy() for b in make_dataset(images, labels, 16, shuffle_seed=3)])

    first, again = epoch(), epoch()
    assert np.array_equal(first, again)
    rows = first[:, 0].astype(int) // 784
    assert sorted(rows.tolist()) == list(range(40)) and rows.tolist() != list(range(40))
    pairs = [
        (int(x[0].numpy()[i, 0]) // 784, int(np.argmax(x[1].numpy()[i])))
        for x in make_dataset(images, labels, 16, shuffle_seed=3)
        for i in range(len(x[0]))
    ]
    assert all(label == row % 10 for row, label in pairs)  # images keep their own labels


@pytest.mark.parametrize(
    "bad",
    [dict(images=np.zeros((4, 28, 28))), dict(labels=np.zeros((3, 10))), dict(batch_size=0), dict(batch_size=2.5)],
)
def test_pipeline_rejects_bad_input(bad):
    args = dict(images=np.zeros((4, 784), np.float32), labels=np.zeros((4, 10), np.float32), batch_size=2) | bad
    with pytest.raises(ValueError):
        make_dataset(**args)


def test_learning_rate_scaling_rules():
    assert scaled_learning_rate(128) == BASE_LEARNING_RATE
    assert scaled_learning_rate(512, "linear") == pytest.approx(4e-3)
    assert scaled_learning_rate(512, "sqrt") == pytest.approx(2e-3)
    assert scaled_learning_rate(64, "linear", base_batch=32, base_rate=0.1) == pytest.approx(0.2)
    for batch in (16, 256, 1000):  # sqrt is between the base rate and the linear rule
        low, high = sorted([BASE_LEARNING_RATE, scaled_learning_rate(batch, "linear")])
        assert low <= scaled_learning_rate(batch, "sqrt") <= high
    for bad in (dict(batch_size=0), dict(batch_size=True), dict(rule="cubic"), dict(base_rate=-1.0)):
        with pytest.raises(ValueError):
            scaled_learning_rate(**({"batch_size": 256} | bad))


def test_compile_fast_sets_xla_adam_rate_and_the_notes_loss():
    model = compile_fast(notes_cnn(), 2e-3)
    assert model.jit_compile is True
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-3)
    assert model.loss == "categorical_crossentropy"
    assert compile_fast(notes_cnn(), jit_compile=False).jit_compile is False
    with pytest.raises(ValueError):
        compile_fast(notes_cnn(), 0)


def test_set_threads_rejects_bad_counts():
    for bad in ((-1, 1), (2, 1.5), (True, 1)):
        with pytest.raises(ValueError):
            set_threads(*bad)


# ---------------------------------------------------------------- FLOPs


def test_flops_of_the_notes_cnn_match_an_independent_count_from_its_weights():
    model = notes_cnn()
    counts = forward_flops(model)
    assert counts == {"conv_filter": 28 * 28 * 16 * 5 * 5 * 2, "hidden": 3136 * 1024 * 2, "softmax": 1024 * 10 * 2}
    # independently: every weight of a dense layer is used once per image; a convolution
    # kernel's weights are used once per output position (28x28 with 'same' padding)
    independent = 0
    for layer in model.layers:
        if layer.weights:
            kernel = layer.weights[0].numpy()
            uses = math.prod(layer.output.shape[1:3]) if kernel.ndim == 4 else 1
            independent += 2 * kernel.size * uses
    assert sum(counts.values()) == independent == 7_070_208
    assert training_flops_per_image(model) == 3 * independent


# ---------------------------------------------------------------- the benchmark's parts


def test_steady_rate_is_the_median_step_after_the_warm_up():
    ends = [5.0, 5.1, 6.0, 7.0, 8.0, 8.5]  # a slow first step (tracing), 1 s per step, a short last batch
    assert training.steady_images_per_second(ends, [100, 100, 100, 100, 100, 50], warmup=1) == pytest.approx(100)
    ends = [0.0, 1.0, 2.0, 12.0, 13.0, 14.0]  # one step slowed down by something else
    assert training.steady_images_per_second(ends, [100] * 6, warmup=0) == pytest.approx(100)
    with pytest.raises(ValueError):
        training.steady_images_per_second(ends, [100] * 4, warmup=1)


def fake_results():
    def config(name, rate, seconds, accuracy):
        return dict(name=name, batch_size=128, images_per_second=rate, epoch_seconds=seconds, test_accuracy=accuracy)

    return {
        "matmul": {"flops_per_second": 100e9},
        "flops_per_image": {"training": 21_210_624},
        "configs": [
            config("base", 1000, 60.0, 0.85),
            config("big", 2500, 25.0, 0.848),
            config("faster but worse", 3000, 20.0, 0.84),
            config("short", 400, None, None),
        ],
    }


def test_ratios_best_and_goals():
    results = training.add_ratios(fake_results())
    base, big, worse, short = results["configs"]
    assert big["speedup"] == 2.5 and big["epoch_time_ratio"] == pytest.approx(25 / 60)
    assert big["accuracy_points"] == pytest.approx(-0.2) and worse["accuracy_points"] == pytest.approx(-1.0)
    assert big["matmul_fraction"] == pytest.approx(2500 * 21_210_624 / 100e9)
    assert short["epoch_time_ratio"] is None and short["accuracy_points"] is None
    assert results["best"] == "big"  # the faster one lost 1 point of accuracy
    assert results["goals"]["twice_as_fast"] and results["goals"]["half_of_matmul_rate"]
    assert "faster but worse" in results_table(results)


def test_stored_results_have_what_the_page_shows_and_consistent_ratios():
    results = load_results(RESULTS)
    for key in (
        "machine",
        "data",
        "budget",
        "matmul",
        "flops_per_image",
        "configs",
        "best",
        "goals",
        "profile",
        "control",
    ):
        assert key in results
    for key in ("cpu", "cores", "tensorflow", "keras", "date"):
        assert results["machine"][key]
    assert results["machine"]["load_average_before"] >= 0 and results["machine"]["load_average_after"] >= 0
    assert results["control"]["of_baseline"] == pytest.approx(
        results["control"]["images_per_second"] / results["configs"][0]["images_per_second"]
    )
    assert results["data"]["train"] == 60_000 and results["data"]["test"] == 10_000
    assert results["data"]["description"]
    matmul = results["matmul"]
    assert matmul["flops_per_second"] == pytest.approx(2 * matmul["n"] ** 3 / matmul["seconds"])
    assert results["flops_per_image"]["training"] == training_flops_per_image(notes_cnn())
    base = results["configs"][0]
    assert base["name"].startswith("baseline") and base["batch_size"] == 128 and not base["tf_data"]
    for c in results["configs"]:
        assert c["speedup"] == pytest.approx(c["images_per_second"] / base["images_per_second"])
        assert c["matmul_fraction"] == pytest.approx(
            c["images_per_second"] * results["flops_per_image"]["training"] / matmul["flops_per_second"]
        )
        if c["test_accuracy"] is not None:
            assert c["accuracy_points"] == pytest.approx(100 * (c["test_accuracy"] - base["test_accuracy"]))
            assert c["epoch_time_ratio"] == pytest.approx(c["epoch_seconds"] / base["epoch_seconds"])
    assert results["best"] in {c["name"] for c in results["configs"]}
    profile = results["profile"]
    assert sum(profile["milliseconds"].values()) == pytest.approx(profile["step_ms"])
    assert results_table(results).count("\n") == len(results["configs"])


def test_site_build_report_parsing(tmp_path):
    report = tmp_path / "build-report.json"
    report.write_text(json.dumps({"executed": ["pooling.md"], "cached": ["index.md", "neuron.md"]}))
    assert site_build.read_report(report) == {"executed": ["pooling.md"], "cached": ["index.md", "neuron.md"]}
    for bad in (
        {"executed": []},
        {"executed": "pooling.md", "cached": []},
        [],
        {"executed": ["a.md"], "cached": ["a.md"]},
    ):
        report.write_text(json.dumps(bad))
        with pytest.raises(ValueError):
            site_build.read_report(report)


def test_pages_using_a_snippet_follow_includes_and_imports(tmp_path):
    from pathlib import Path

    root = Path(site_build.ROOT)
    pages = site_build.pages_using(root, "snippets/pooling.py")
    assert "pooling.md" in pages and "mnist_inside.md" in pages  # shown there; imported by mnist_inside.py
    assert "neuron.md" not in pages


def test_site_build_summary_table():
    results = {
        "runs": [
            {"name": "cold", "seconds": 300.0, "executed": ["a.md"] * 3, "cached": []},
            {"name": "warm", "seconds": 12.5, "executed": [], "cached": ["a.md"] * 3},
        ]
    }
    table = site_build.summary_table(results)
    assert "cold" in table and "600 s" in table and "12.5" in table


def test_the_chapter_is_the_mnist_section_of_the_nav_in_reading_order():
    from pathlib import Path

    pages = site_build.chapter_pages(Path(site_build.ROOT))
    assert pages[:3] == ["mnist_data.md", "mnist_models.md", "mnist_training.md"]
    assert "notebooks/mnist_cnn.ipynb" in pages and "neuron.md" not in pages and "legacy.md" not in pages


def test_page_seconds_come_from_the_hooks_record_of_the_page(tmp_path):
    (tmp_path / "notebooks_x.md.0123.json").write_text(json.dumps({"seconds": 12.5}))
    (tmp_path / "mnist.md.4567.json").write_text(json.dumps({"seconds": 30.0}))
    (tmp_path / "mnist_data.md.89ab.json").write_text(json.dumps({"seconds": 99.0}))  # another page
    assert site_build.page_seconds(tmp_path, "notebooks/x.md") == 12.5
    assert site_build.page_seconds(tmp_path, "mnist.md") == 30.0
    with pytest.raises(SystemExit, match="expected one record of neuron.md"):
        site_build.page_seconds(tmp_path, "neuron.md")


def test_chapter_table_sums_the_pages_against_the_goal():
    chapter = {"section": "The MNIST CNN", "pages": {"a.md": 100.0, "b.md": 50.5}, "seconds": 150.5, "goal": 300}
    table = site_build.chapter_table(chapter)
    assert "a.md" in table and "150.5 s (goal: under 300 s)" in table


def test_ci_benchmark_prints_each_part_and_its_ratio():
    from bench import ci

    before = {"setup": 100.0, "test": 800.0, "build": 10.0, "whole run": 910.0}
    after = {"setup": 50.0, "test": 400.0, "build": 10.0, "whole run": 460.0}
    lines = ci.ratio_table(before, after).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["setup", "test", "build", "whole"]
    assert lines[2].split()[-1] == "0.50x" and lines[3].split()[-1] == "1.00x" and lines[4].endswith("0.51x")
