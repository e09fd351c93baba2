"""Training the chapter's models: the accuracy they reach, what training records,
reproducibility with a seed, and the stored models of trained()."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from snippets.mnist_training import (
    ACCURACY_FILE,
    REPRODUCED,
    Trained,
    accuracy_table,
    accuracy_with_optimizer,
    load_accuracy,
    mean_epoch_seconds,
    plot_history,
    reproduce,
    reproduction_key,
    train,
    trained,
)
from tools.runner import worker_environment

from conftest import ROOT

# Bars the offline sample (4,500 training images) supports after 10 epochs, with a margin
# below what it reaches here (0.962, 0.974, 0.735, 0.971); full MNIST reaches more.
SAMPLE_BARS = {"notes_cnn": 0.95, "chollet_convnet": 0.96, "sigmoid_mlp": 0.65, "two_conv_cnn": 0.96}
HISTORY_KEYS = {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.fixture(scope="module")
def small(mnist):
    """The first 640 training and 500 test images: enough to train a step or two in a second."""
    return dataclasses.replace(
        mnist,
        x_train=mnist.x_train[:640],
        y_train=mnist.y_train[:640],
        digits_train=mnist.digits_train[:640],
        x_test=mnist.x_test[:500],
        y_test=mnist.y_test[:500],
        digits_test=mnist.digits_test[:500],
        description=f"{mnist.description}, first 640 training and 500 test images",
    )


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.mark.parametrize("name", SAMPLE_BARS)
def test_ten_epochs_reach_the_bar_the_sample_supports(name, mnist):
    """The page's run (a cache hit after the build): every model well above chance."""
    result = trained(name, epochs=10)
    assert isinstance(result, Trained) and result.data == str(mnist)
    assert result.test_accuracy >= SAMPLE_BARS[name]
    assert set(result.history) == HISTORY_KEYS
    assert all(len(values) == 10 for values in result.history.values())
    assert len(result.seconds_per_epoch) == 10 and min(result.seconds_per_epoch) > 0
    assert result.history["loss"][-1] < result.history["loss"][0]  # it learned
    loss, accuracy = result.model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)
    assert accuracy == pytest.approx(result.test_accuracy, abs=1e-4)  # the stored model is the one tested


def test_the_convolutional_models_beat_the_sgd_mlp():
    mlp = trained("sigmoid_mlp", epochs=10).test_accuracy
    for name in ("notes_cnn", "chollet_convnet", "two_conv_cnn"):
        assert trained(name, epochs=10).test_accuracy > mlp + 0.1


# Bars for the mean test accuracy over the seeds, full MNIST, 10 epochs. Single runs spread
# by about 0.3 points between seeds, so a bar on one run would be tighter than that spread.
FULL_MNIST_BARS = {"notes_cnn": 0.985, "two_conv_cnn": 0.989, "deeper_cnn": 0.990}


@pytest.fixture(scope="module")
def reproduced():
    assert ACCURACY_FILE.is_file(), f"{ACCURACY_FILE} is missing: run `python -m snippets.mnist reproduce --seeds 3`"
    return load_accuracy()


def test_stored_full_mnist_accuracy_is_current_and_complete(reproduced):
    assert set(reproduced["models"]) == set(REPRODUCED)
    assert reproduced["data"].startswith("full MNIST") and reproduced["epochs"] == 10 and reproduced["seeds"] >= 3
    stale = [name for name, run in reproduced["models"].items() if run["key"] != reproduction_key(name)]
    assert not stale, (
        f"stored accuracies of {stale} were measured with other code or settings: "
        "run `python -m snippets.mnist reproduce --seeds 3` (with full MNIST)"
    )
    for run in reproduced["models"].values():
        assert len(run["accuracy"]) == reproduced["seeds"]
        assert run["mean"] == pytest.approx(np.mean(run["accuracy"]))
        assert (run["min"], run["max"]) == (min(run["accuracy"]), max(run["accuracy"]))
        assert run["seconds_per_epoch"] > 0
    assert {"tensorflow", "keras", "python"} <= set(reproduced["versions"]) and reproduced["machine"]


@pytest.mark.parametrize("name", FULL_MNIST_BARS)
def test_stored_full_mnist_accuracy_clears_the_bar(reproduced, name):
    assert reproduced["models"][name]["mean"] >= FULL_MNIST_BARS[name]


def test_reproduction_key_follows_the_model_code(monkeypatch):
    import snippets.mnist_training as module

    before = reproduction_key("notes_cnn")
    assert before == reproduction_key("notes_cnn") and before != reproduction_key("two_conv_cnn")
    assert reproduction_key("notes_cnn", epochs=5) != before
    monkeypatch.setitem(module.REPRODUCED, "notes_cnn", module.REPRODUCED["deeper_cnn"])  # other code, same name
    assert reproduction_key("notes_cnn") != before


def test_accuracy_table_shows_every_model_and_marks_stale_ones(reproduced):
    table = accuracy_table(reproduced)
    for name, run in reproduced["models"].items():
        assert f"{name}" in table and f"{run['mean']:.4f}" in table
    assert "STALE" not in table
    changed = json.loads(json.dumps(reproduced))
    changed["models"]["notes_cnn"]["key"] = "0" * 16
    assert accuracy_table(changed).count("STALE") == 1


def test_reproduce_refuses_the_sample(small):
    with pytest.raises(ValueError, match="full MNIST"):
        reproduce(1, small)


def test_train_records_every_epoch_and_holds_out_validation(small):
    result = train("sigmoid_mlp", small, epochs=2, batch_size=64)
    assert set(result.history) == HISTORY_KEYS
    assert all(len(values) == 2 for values in result.history.values())
    assert len(result.seconds_per_epoch) == 2
    assert 0 <= result.test_accuracy <= 1 and result.test_loss > 0
    # validation_split=0.1 holds out the last 64 of 640 images: evaluating on them gives val_*
    val_loss, val_accuracy = result.model.evaluate(small.x_train[-64:], small.y_train[-64:], verbose=0)
    assert val_accuracy == pytest.approx(result.history["val_accuracy"][-1], abs=1e-6)
    assert val_loss == pytest.approx(result.history["val_loss"][-1], rel=1e-4)
    assert result.data == str(small)


def test_the_same_seed_trains_the_same_model_and_another_seed_does_not(small):
    first, second = (train("sigmoid_mlp", small, epochs=1, seed=0) for _ in range(2))
    other = train("sigmoid_mlp", small, epochs=1, seed=1)
    assert same_weights(first.model, second.model)
    assert first.history == second.history and first.test_accuracy == second.test_accuracy
    assert not same_weights(first.model, other.model)


def test_trained_loads_the_stored_model_and_retrains_when_the_key_changes(small, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_TUTORIAL_MODELS", str(tmp_path))
    first = trained("sigmoid_mlp", small, epochs=1)
    assert len(list(tmp_path.glob("*.keras"))) == 1 and len(list(tmp_path.glob("*.json"))) == 1

    import snippets.mnist_training as module

    def no_training(*args, **kwargs):
        raise AssertionError("trained() trained again instead of loading")

    monkeypatch.setattr(module, "train", no_training)
    second = trained("sigmoid_mlp", small, epochs=1)
    assert same_weights(first.model, second.model)
    x = small.x_test[:50]
    assert np.array_equal(first.model.predict(x, verbose=0), second.model.predict(x, verbose=0))
    assert (second.history, second.seconds_per_epoch, second.test_accuracy, second.data) == (
        first.history,
        first.seconds_per_epoch,
        first.test_accuracy,
        first.data,
    )
    monkeypatch.undo()

    monkeypatch.setenv("CNN_TUTORIAL_MODELS", str(tmp_path))
    trained("sigmoid_mlp", small, epochs=2)  # another key: trains and stores a second model
    assert len(list(tmp_path.glob("*.keras"))) == 2
    assert not list(tmp_path.glob("*partial*"))  # only complete files are left


@pytest.mark.parametrize(
    "settings",
    [
        {"epochs": 0},
        {"epochs": -3},
        {"epochs": 1.5},
        {"epochs": True},
        {"batch_size": 0},
        {"batch_size": -128},
        {"batch_size": "128"},
    ],
)
def test_bad_settings_are_rejected_before_anything_is_trained(settings, small):
    for function in (train, trained):
        with pytest.raises(ValueError, match="positive whole number"):
            function("sigmoid_mlp", small, **settings)


def test_an_unknown_model_is_rejected(small):
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        train("resnet", small, epochs=1)


def test_mean_epoch_seconds_leaves_out_the_first_epoch():
    result = Trained(None, {}, [9.0, 2.0, 4.0], 0.0, 0.0, "")
    assert mean_epoch_seconds(result) == 3.0
    with pytest.raises(ValueError, match="at least 2 epochs"):
        mean_epoch_seconds(Trained(None, {}, [9.0], 0.0, 0.0, ""))


def test_plot_history_draws_accuracy_and_loss_for_training_and_validation():
    history = {
        "loss": [1.0, 0.5, 0.3],
        "accuracy": [0.6, 0.8, 0.9],
        "val_loss": [0.9, 0.6, 0.7],
        "val_accuracy": [0.7, 0.8, 0.85],
    }
    fig = plot_history(history, "demo")
    try:
        accuracy, loss = fig.axes
        assert [list(line.get_ydata()) for line in accuracy.lines] == [history["accuracy"], history["val_accuracy"]]
        assert [list(line.get_ydata()) for line in loss.lines] == [history["loss"], history["val_loss"]]
        assert list(accuracy.lines[0].get_xdata()) == [1, 2, 3]  # epochs count from 1
    finally:
        plt.close(fig)


def test_the_exercise_trains_exactly_like_train(small):
    """With SGD, the exercise's function repeats train() step for step; Adam changes the result."""
    sgd = accuracy_with_optimizer("sigmoid_mlp", "sgd", small, epochs=1)
    assert sgd == train("sigmoid_mlp", small, epochs=1).test_accuracy
    assert accuracy_with_optimizer("sigmoid_mlp", keras.optimizers.Adam(), small, epochs=1) != sgd
    with pytest.raises(ValueError, match="positive whole number"):
        accuracy_with_optimizer("sigmoid_mlp", "adam", small, epochs=0)


def test_two_processes_asking_for_the_same_model_train_it_once(tmp_path):
    """A build and a test (or two notebooks) may call trained() at the same moment."""
    script = (
        "import snippets.mnist_training as m\n"
        "from snippets.mnist_data import prepare_mnist\n"
        "real_train = m.train\n"
        "def train(*args, **kwargs):\n"
        "    print('trained here', flush=True)\n"
        "    return real_train(*args, **kwargs)\n"
        "m.train = train\n"
        "mnist = prepare_mnist()\n"
        "print(m.trained('sigmoid_mlp', mnist, epochs=1).test_accuracy)\n"
    )
    env = {**worker_environment(), "CNN_TUTORIAL_MODELS": str(tmp_path)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    printed = [out.splitlines() for out, _ in outputs]
    assert sum(lines.count("trained here") for lines in printed) == 1
    assert printed[0][-1] == printed[1][-1]  # the same test accuracy: the same model
    assert len(list(tmp_path.glob("*.keras"))) == 1


def test_the_model_key_follows_the_imports_of_the_training_code():
    """Like the pages' cache: every `snippets` module the training code imports, transitively,
    so that a module added to the chain is never forgotten."""
    from snippets.dependencies import snippet_dependencies

    found = {p.name for p in snippet_dependencies({ROOT / "snippets" / "mnist_training.py"})}
    assert {"mnist_training.py", "mnist_models.py", "mnist_data.py", "data.py", "dependencies.py"} <= found
    assert "pooling.py" not in found and "mnist_inside.py" not in found


def test_the_model_key_follows_definitions_not_demonstrations(tmp_path):
    from snippets.dependencies import definitions

    module = tmp_path / "m.py"
    source = (
        '"""doc"""\n\nif __name__ == "__main__":\n    print("demo one")\n\n'
        "def prepare():\n    return 1\n\nif __name__ == \"__main__\":\n    print('demo two')\n"
    )
    module.write_text(source)
    before = definitions(module)
    assert b"def prepare" in before and b"demo" not in before  # every demonstration block is left out
    module.write_text(source.replace("demo two", "another demo"))
    assert definitions(module) == before
    module.write_text(source.replace("return 1", "return 2"))
    assert definitions(module) != before


def test_the_reproduction_key_ignores_formatting_and_docstrings_but_not_code(tmp_path, monkeypatch):
    """Reformatting the training code (ruff format) or editing its docstrings cannot change a
    trained model, so it must not make the stored accuracies stale; changing what runs must."""
    import importlib

    from snippets.mnist_training import code_structure

    (tmp_path / "variants.py").write_text(
        'def a(x):\n    """Doc."""\n    return x + 1\n\n\n'
        'def b(x):  # a comment\n    """Other doc."""\n    return (\n        x + 1\n    )\n\n\n'
        "def c(x):\n    return x + 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    variants = importlib.import_module("variants")
    a, b, c = (code_structure(f).replace(f"'{f.__name__}'", "'f'") for f in (variants.a, variants.b, variants.c))
    assert a == b and a != c
