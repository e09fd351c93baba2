"""Train the chapter's models on MNIST, reproducibly, and keep what training produced.

Page: docs/mnist_training.md. Tests: tests/test_mnist_training.py.
Run the page as a script: ``python -m snippets.mnist_training``.

Training the notes' CNN takes about a minute on a laptop CPU with the offline
sample, and several with full MNIST. Several pages need a trained model, so
`trained()` stores each result under .cache/models (or $CNN_TUTORIAL_MODELS),
keyed on everything that can change it: the model, the settings, the data, the
Keras and TensorFlow versions and the source code of this chapter's modules.
"""

# --8<-- [start:train]
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from snippets.mnist_data import prepare_mnist
from snippets.mnist_models import build_model, compile_model


@dataclass
class Trained:
    """A trained model and what training it produced.

    history: per-epoch lists, keys "loss", "accuracy", "val_loss", "val_accuracy".
    seconds_per_epoch: wall-clock seconds of each epoch on the machine that trained it.
    test_loss, test_accuracy: on the whole test set, after the last epoch.
    data: which data and how many images trained it.
    """

    model: keras.Model
    history: dict
    seconds_per_epoch: list
    test_loss: float
    test_accuracy: float
    data: str


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch (training plus validation)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def check_settings(epochs, batch_size):
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")


def train(name, mnist=None, *, epochs=10, batch_size=128, seed=0, verbose=0, callbacks=(), build=None):
    """Build model `name` (see snippets.mnist_models.MODELS), compile and fit it.

    The last 10% of the (shuffled) training images are held out for validation: the
    test images are used once, at the end, never to choose anything during training.
    keras.utils.set_random_seed(seed) fixes the initial weights, the shuffling and dropout.
    build: a function that returns the model, for one not in MODELS (e.g. an exercise's).
    """
    check_settings(epochs, batch_size)
    mnist = prepare_mnist() if mnist is None else mnist
    keras.utils.set_random_seed(seed)
    model = compile_model(build() if build else build_model(name))
    timer = EpochTimer()
    fit = model.fit(
        mnist.x_train,
        mnist.y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=0.1,
        verbose=verbose,
        callbacks=[timer, *callbacks],
    )
    test_loss, test_accuracy = model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)
    history = {key: [float(v) for v in values] for key, values in fit.history.items()}
    return Trained(model, history, timer.seconds, float(test_loss), float(test_accuracy), str(mnist))


# --8<-- [end:train]


from filelock import FileLock

import snippets
from snippets.dependencies import definitions, snippet_dependencies

ROOT = Path(snippets.__file__).resolve().parent.parent  # the repository (works pasted, too)


def cache_key(name, mnist, epochs, batch_size, seed):
    """A hash of everything that can change a trained model: the settings, the versions, and
    the code of this module and of every `snippets` module it imports, followed import by
    import (without their `__main__` demonstrations, which cannot change a model)."""
    import tensorflow as tf

    modules = sorted(snippet_dependencies({ROOT / "snippets" / "mnist_training.py"}))
    code = b"".join(definitions(path) for path in modules)
    settings = [name, str(mnist), epochs, batch_size, seed, keras.__version__, tf.__version__]
    return hashlib.sha256(json.dumps(settings).encode() + code).hexdigest()[:16]


def trained(name, mnist=None, *, epochs=10, batch_size=128, seed=0, build=None):
    """Like train(), but stored: the first call trains and saves, later calls (from any
    page, script or notebook on this machine) load the same model and history. Two
    processes that ask for the same model at once train it once: the second waits."""
    check_settings(epochs, batch_size)
    mnist = prepare_mnist() if mnist is None else mnist
    clone = (ROOT / "pyproject.toml").is_file()  # a clone of the repository, not an installed package
    default = ROOT / ".cache" / "models" if clone else Path.home() / ".cache" / "cnn-tutorial" / "models"
    folder = Path(os.environ.get("CNN_TUTORIAL_MODELS", default))
    stem = folder / f"{name}-{epochs}ep-seed{seed}-{cache_key(name, mnist, epochs, batch_size, seed)}"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / f"{name}.lock"):  # another process training it: wait, then load
        if stem.with_suffix(".keras").is_file() and stem.with_suffix(".json").is_file():
            record = json.loads(stem.with_suffix(".json").read_text())
            return Trained(keras.saving.load_model(stem.with_suffix(".keras")), **record)
        result = train(name, mnist, epochs=epochs, batch_size=batch_size, seed=seed, build=build)
        record = {key: value for key, value in vars(result).items() if key != "model"}
        stem.with_suffix(".json").write_text(json.dumps(record))
        partial = stem.with_name(f"{stem.name}.partial-{os.getpid()}.keras")  # complete files only
        result.model.save(partial)
        partial.replace(stem.with_suffix(".keras"))
        return result


# --8<-- [start:helpers]
import matplotlib.pyplot as plt
import numpy as np


def mean_epoch_seconds(result):
    """Mean wall-clock seconds of epochs 2..n: the first also traces and compiles the
    model's graph, so it says more about TensorFlow's start-up than about the model."""
    seconds = result.seconds_per_epoch
    if len(seconds) < 2:
        raise ValueError(f"need at least 2 epochs to leave out the first, got {len(seconds)}")
    return float(np.mean(seconds[1:]))


def plot_history(history, title=""):
    """Accuracy (left) and loss (right) per epoch, training vs validation: two panels,
    because accuracy lives in [0, 1] and cross-entropy does not."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, history[metric], marker="o", label=f"training {metric}")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label=f"validation {metric}")
        ax.set(title=f"{title} {metric}".strip(), xlabel="epoch")
        ax.grid(True)
        ax.legend()
    return fig


# --8<-- [end:helpers]


# --8<-- [start:exercise]
def accuracy_with_optimizer(name, optimizer, mnist, *, epochs=10, batch_size=128, seed=0):
    """Train model `name` like train() does, but with another optimizer; return its test accuracy."""
    check_settings(epochs, batch_size)
    keras.utils.set_random_seed(seed)
    model = compile_model(build_model(name), optimizer=optimizer)
    model.fit(mnist.x_train, mnist.y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
    return float(model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)[1])


# --8<-- [end:exercise]


# Accuracy on full MNIST over several seeds: `python -m snippets.mnist reproduce` measures it,
# the training page shows what it stored (the block `reproduced` below).
import ast
import contextlib
import datetime
import inspect
import platform
import textwrap

from snippets.mnist_models import MODELS, OPTIMIZERS, compile_model, deeper_cnn

REPRODUCED = {**MODELS, "deeper_cnn": deeper_cnn}  # the chapter's four and the exercise's deeper CNN
ACCURACY_FILE = ROOT / "snippets" / "mnist_accuracy.json"


def code_structure(function):
    """What a function does, as its syntax tree without the docstring: formatting, comments
    and documentation cannot change a trained model, so they do not change the key."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    if ast.get_docstring(tree) is not None:
        tree.body = tree.body[1:]
    return ast.dump(tree)


def reproduction_key(name, epochs=10, batch_size=128):
    """A hash of the code and settings that train `name` on full MNIST: its builder,
    compile_model, train() and the settings. Stored results with another key are stale."""
    code = "".join(code_structure(function) for function in (REPRODUCED[name], compile_model, train))
    settings = [name, OPTIMIZERS.get(name, "adam"), epochs, batch_size, "full MNIST"]
    return hashlib.sha256((json.dumps(settings) + code).encode()).hexdigest()[:16]


def cpu_name():
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return cpu


def machine(tf):
    """The processor, its cores and any GPU: what the seconds per epoch were measured on."""
    gpus = tf.config.list_physical_devices("GPU")
    return f"{cpu_name()}, {os.cpu_count()} cores, " + (f"{len(gpus)} GPU(s)" if gpus else "no GPU")


def reproduce(seeds, mnist, *, epochs=10, batch_size=128, names=tuple(REPRODUCED), log=print):
    """Train each model with seeds 0..seeds-1 on full MNIST; return what ACCURACY_FILE stores:
    test accuracy per seed with the mean, min and max, seconds per epoch, and the key,
    machine, versions and date that produced them. Uses trained(), so runs are kept."""
    import tensorflow as tf

    if not str(mnist).startswith("full MNIST"):
        raise ValueError(f"reproduce the accuracy on full MNIST (CNN_TUTORIAL_DATA=full), not on {mnist}")
    runs = {name: [] for name in names}
    for seed in range(seeds):  # seed 0 of every model first: the pages' models (trained() keeps them)
        for name in names:
            runs[name].append(
                trained(name, mnist, epochs=epochs, batch_size=batch_size, seed=seed, build=REPRODUCED[name])
            )
            log(f"{name}, seed {seed}: test accuracy {runs[name][-1].test_accuracy:.4f}")
    models = {}
    for name in names:
        accuracies = [run.test_accuracy for run in runs[name]]
        models[name] = {
            "key": reproduction_key(name, epochs, batch_size),
            "accuracy": accuracies,
            "mean": float(np.mean(accuracies)),
            "min": min(accuracies),
            "max": max(accuracies),
            "seconds_per_epoch": float(np.mean([mean_epoch_seconds(run) for run in runs[name]])),
        }
    return {
        "data": str(mnist),
        "epochs": epochs,
        "batch_size": batch_size,
        "seeds": seeds,
        "models": models,
        "machine": machine(tf),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()},
        "date": datetime.date.today().isoformat(),
    }


# What the notes and their book reported for the notes' CNN after 10 epochs on full MNIST.
REPORTED = {"notes_cnn": "note 003: 0.9897 (one run); the book's author: 0.9869 to 0.9904 (repeated runs)"}


def load_accuracy(path=ACCURACY_FILE):
    """The stored results of `python -m snippets.mnist reproduce` (see reproduce())."""
    return json.loads(Path(path).read_text())


def accuracy_table(stored):
    """One line per model: test accuracy over the seeds (mean, min, max) and seconds per epoch;
    a model whose code or settings changed since it was measured is marked stale."""
    lines = [
        f"{stored['data']}, {stored['epochs']} epochs, seeds 0 to {stored['seeds'] - 1}",
        f"{'model':16}{'mean':>8}{'min':>8}{'max':>8}{'s/epoch':>9}",
    ]
    for name, run in stored["models"].items():
        stale = "  STALE: the code changed since" if run["key"] != reproduction_key(name, stored["epochs"]) else ""
        lines.append(
            f"{name:16}{run['mean']:8.4f}{run['min']:8.4f}{run['max']:8.4f}{run['seconds_per_epoch']:9.1f}{stale}"
        )
    versions = stored["versions"]
    lines.append(
        f"measured {stored['date']} on {stored['machine']}, TensorFlow {versions['tensorflow']}, "
        f"Keras {versions['keras']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    # --8<-- [start:compile]
    import keras
    import numpy as np

    from snippets.mnist_data import prepare_mnist
    from snippets.mnist_models import build_model, compile_model

    mnist = prepare_mnist()
    print(mnist)
    keras.utils.set_random_seed(0)  # the same initial weights on every run
    model = compile_model(build_model("notes_cnn"))
    adam = model.optimizer
    print(
        f"optimizer: {type(adam).__name__}, learning rate {float(adam.learning_rate):g}, "
        f"beta_1 {adam.beta_1}, beta_2 {adam.beta_2}"
    )
    print(f"loss: {model.loss}")
    loss, accuracy = model.evaluate(mnist.x_test[:1000], mnist.y_test[:1000], verbose=0)
    print(f"untrained, on 1,000 test images: loss {loss:.2f} (ln 10 = {np.log(10):.2f}), accuracy {accuracy:.2f}")
    # --8<-- [end:compile]

    # --8<-- [start:fit]
    from snippets.mnist_training import trained  # trains once, then loads the saved result

    result = trained("notes_cnn", epochs=10)
    print(result.data)
    history = result.history
    print("epoch    loss  accuracy  val_loss  val_accuracy   seconds")
    for epoch, (loss, accuracy, val_loss, val_accuracy, seconds) in enumerate(
        zip(
            history["loss"], history["accuracy"], history["val_loss"], history["val_accuracy"], result.seconds_per_epoch
        ),
        start=1,
    ):
        print(f"{epoch:5} {loss:7.4f} {accuracy:9.4f} {val_loss:9.4f} {val_accuracy:13.4f} {seconds:7.1f} s")
    print(f"test accuracy, {len(mnist.x_test):,} test images, used once: {result.test_accuracy:.4f}")
    steps = int(result.model.optimizer.iterations)  # the optimizer counts its steps: batches x epochs
    print(f"optimizer steps: {steps:,}")
    # --8<-- [end:fit]

    # --8<-- [start:plot]
    plot_history(result.history, "notes_cnn")
    plt.show()
    # --8<-- [end:plot]

    # --8<-- [start:seeds]
    def largest_difference(a, b):
        return max(float(np.max(np.abs(x - y))) for x, y in zip(a.get_weights(), b.get_weights()))

    first, second = (train("sigmoid_mlp", mnist, epochs=1, seed=0) for _ in range(2))
    print(f"two trainings with seed 0, largest weight difference: {largest_difference(first.model, second.model):g}")
    keras.utils.set_random_seed(1)
    other = build_model("sigmoid_mlp")  # initial weights drawn with another seed
    keras.utils.set_random_seed(0)
    again = build_model("sigmoid_mlp")
    print(f"initial weights, seed 0 vs seed 1, largest difference: {largest_difference(again, other):.2f}")
    # --8<-- [end:seeds]

    # --8<-- [start:compare]
    from snippets.mnist_models import MODELS

    print(mnist)
    print("model             parameters   per epoch   test accuracy")
    results = {name: trained(name, epochs=10) for name in MODELS}
    for name, run in results.items():
        print(f"{name:16} {run.model.count_params():11,} {mean_epoch_seconds(run):9.1f} s {run.test_accuracy:15.4f}")
    # --8<-- [end:compare]

    # --8<-- [start:curves]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for name, run in results.items():
        epochs = range(1, len(run.history["val_loss"]) + 1)
        axes[0].plot(epochs, run.history["val_accuracy"], marker="o", label=name)
        axes[1].plot(epochs, run.history["val_loss"], marker="o", label=name)
    axes[0].set(title="validation accuracy", xlabel="epoch")
    axes[1].set(title="validation loss", xlabel="epoch", yscale="log")
    for ax in axes:
        ax.grid(True)
        ax.legend()
    plt.show()
    # --8<-- [end:curves]

    # --8<-- [start:reproduced]
    from snippets.mnist_training import REPORTED, accuracy_table, load_accuracy

    stored = load_accuracy()  # written by `python -m snippets.mnist reproduce --seeds 3`
    print(accuracy_table(stored))
    print("reported for notes_cnn:", REPORTED["notes_cnn"])
    notes_cnn = stored["models"]["notes_cnn"]
    # --8<-- [end:reproduced]

    # --8<-- [start:pitfall]
    from snippets.data import load_mnist

    raw = load_mnist()
    print(raw)
    tail = len(raw.y_train) // 10  # what validation_split=0.1 holds out: the LAST 10% of the rows
    print("digits in the last 10%, as stored:     ", np.bincount(raw.y_train[-tail:], minlength=10))
    print("digits in the last 10%, after shuffling:", np.bincount(mnist.digits_train[-tail:], minlength=10))
    # --8<-- [end:pitfall]

    # --8<-- [start:solution]
    print(mnist)
    adam = accuracy_with_optimizer("sigmoid_mlp", "adam", mnist, epochs=10)
    print(f"sigmoid_mlp, 10 epochs, SGD:  test accuracy {results['sigmoid_mlp'].test_accuracy:.4f}")
    print(f"sigmoid_mlp, 10 epochs, Adam: test accuracy {adam:.4f}")
    # --8<-- [end:solution]
