"""Save a trained model and load it back: whole model, weights only, architecture as JSON.

Page: docs/mnist_saving.md. Tests: tests/test_mnist_saving.py.
Run the page as a script: ``python -m snippets.mnist_saving``.

Everything the page writes goes into one temporary folder, removed at the end
(or, at the latest, when Python exits), so running the page leaves nothing behind.
"""

# --8<-- [start:helpers]
import json
import re
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

from snippets.mnist_models import build_model


def size_kb(path):
    """A file's size in kilobytes (1 kB = 1,000 bytes), as a whole number."""
    return round(Path(path).stat().st_size / 1000)


def largest_difference(expected, model, images):
    """The largest |difference| between probabilities `expected` (n, 10), from the
    original model, and what `model` predicts for the same images (n, 784).
    0.0 means that the copy computes exactly what the original computed."""
    if np.ndim(images) != 2 or np.shape(images)[1] != 784 or np.shape(expected) != (len(images), 10):
        raise ValueError(
            f"expected images (n, 784) and probabilities (n, 10), got {np.shape(images)} and {np.shape(expected)}"
        )
    return float(np.max(np.abs(model.predict(images, batch_size=1000, verbose=0) - expected)))


def in_folder(folder, name):
    """folder / name, for a folder that must exist: files go where we say, nowhere else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"expected an existing folder to save into, got {str(folder)!r}")
    return folder / name


# --8<-- [end:helpers]


# --8<-- [start:whole]
def save_and_load(model, folder):
    """model -> folder/<name>.keras -> a new model: architecture, weights, optimizer state."""
    path = in_folder(folder, f"{model.name}.keras")
    model.save(path)
    return keras.saving.load_model(path), path


# --8<-- [end:whole]


# --8<-- [start:weights]
def save_and_load_weights(model, folder):
    """Weights only: saved to folder/<name>.weights.h5 and loaded into a freshly built
    model of the same name (snippets.mnist_models.build_model), untrained until then."""
    path = in_folder(folder, f"{model.name}.weights.h5")
    model.save_weights(path)
    fresh = build_model(model.name)
    fresh.load_weights(path)
    return fresh, path


# --8<-- [end:weights]


# --8<-- [start:json]
def save_and_load_json(model, folder):
    """The notes' pair, today: the architecture as JSON (model.to_json) plus the weights
    (save_weights); rebuilt with keras.models.model_from_json, then load_weights."""
    architecture = in_folder(folder, f"{model.name}.json")
    weights = in_folder(folder, f"{model.name}.weights.h5")
    architecture.write_text(model.to_json(), encoding="utf-8")
    model.save_weights(weights)
    rebuilt = keras.models.model_from_json(architecture.read_text(encoding="utf-8"))
    rebuilt.load_weights(weights)
    return rebuilt, architecture


# --8<-- [end:json]


# --8<-- [start:unsafe]
def doubling_model():
    """A tiny model with a Lambda layer: its Python function is saved as bytecode."""
    return keras.Sequential([keras.Input(shape=(3,)), keras.layers.Lambda(lambda x: 2 * x)], name="doubling")


def raised(function, *args):
    """function(*args); return (type name, message) of the error it raises, or None."""
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - we show whatever Keras raises
        return type(error).__name__, str(error).strip()
    return None


# --8<-- [end:unsafe]


# --8<-- [start:exercise]
def same_weights(model_a, model_b):
    """True if two models hold exactly the same weights, array by array, in the same order."""
    a, b = model_a.get_weights(), model_b.get_weights()
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:trained]
    from snippets.mnist_data import prepare_mnist
    from snippets.mnist_training import trained

    mnist = prepare_mnist()
    result = trained("notes_cnn", epochs=10)  # trained on the training page, loaded here
    model = result.model
    print(mnist)
    print(f"{model.name}: {model.count_params():,} parameters, test accuracy {result.test_accuracy:.4f}")
    images = mnist.x_test[:2000]  # enough to compare copies, and quick: the first 2,000 test images
    probabilities = model.predict(images, batch_size=1000, verbose=0)  # (2000, 10): what copies must give

    workdir = tempfile.TemporaryDirectory()  # removed at the end of the page (or when Python exits)
    folder = Path(workdir.name)
    # --8<-- [end:trained]

    # --8<-- [start:whole_demo]
    loaded, path = save_and_load(model, folder)
    print(f"{path.name}: {size_kb(path):,} kB")
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            print(f"  {member.filename:18} {member.file_size / 1000:9,.0f} kB")
    print(f"largest difference on {len(images):,} test images: {largest_difference(probabilities, loaded, images)}")
    steps = int(loaded.optimizer.iterations)  # one per batch of training
    print("optimizer state loaded too:", loaded.optimizer.name, "after", steps, "steps")
    # --8<-- [end:whole_demo]

    # --8<-- [start:weights_demo]
    fresh, path = save_and_load_weights(model, folder)
    print(f"{path.name}: {size_kb(path):,} kB")
    print(f"largest difference on {len(images):,} test images: {largest_difference(probabilities, fresh, images)}")
    fresh.save_weights(folder / "uncompiled.weights.h5")  # a model without an optimizer
    print(f"uncompiled.weights.h5, saved from the fresh copy: {size_kb(folder / 'uncompiled.weights.h5'):,} kB")
    print("compiled:", fresh.compiled, "(no optimizer, loss or metrics: compile it to train or evaluate)")
    # --8<-- [end:weights_demo]

    # --8<-- [start:json_demo]
    rebuilt, path = save_and_load_json(model, folder)
    config = json.loads(path.read_text(encoding="utf-8"))
    print(
        f"{path.name}: {size_kb(path):,} kB, a {config['class_name']} of",
        ", ".join(layer["class_name"] for layer in config["config"]["layers"]),
    )
    print(f"largest difference on {len(images):,} test images: {largest_difference(probabilities, rebuilt, images)}")
    # --8<-- [end:json_demo]

    # --8<-- [start:unsafe_demo]
    doubling = doubling_model()
    print("doubling [1, 2, 3]:", keras.ops.convert_to_numpy(doubling(np.array([[1.0, 2.0, 3.0]]))))
    doubling.save(folder / "doubling.keras")
    error_type, message = raised(keras.saving.load_model, folder / "doubling.keras")
    print("load_model raised", error_type)
    print(message.splitlines()[0])
    # --8<-- [end:unsafe_demo]

    # --8<-- [start:pitfall]
    mlp = build_model("sigmoid_mlp")
    error_type, message = raised(mlp.load_weights, folder / "notes_cnn.weights.h5")
    print("sigmoid_mlp.load_weights(notes_cnn.weights.h5) raised", error_type)
    print(message.splitlines()[0])
    print(re.search(r"variable\.shape=.*?value\.shape=\([^)]*\)", message)[0])
    # --8<-- [end:pitfall]

    # --8<-- [start:cleanup]
    print("files written:", ", ".join(sorted(p.name for p in folder.iterdir())))
    workdir.cleanup()
    print("folder still there after cleanup():", folder.exists())
    # --8<-- [end:cleanup]

    # --8<-- [start:solution]
    print("same weights, .keras:      ", same_weights(model, loaded))
    print("same weights, .weights.h5: ", same_weights(model, fresh))
    print("same weights, JSON+weights:", same_weights(model, rebuilt))
    print("same weights, untrained:   ", same_weights(model, build_model("notes_cnn")))
    # --8<-- [end:solution]
