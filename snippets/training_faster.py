"""Training the notes' CNN faster on an ordinary computer: the recipe, and what it gained.

Page: docs/training_faster.md. Tests: tests/test_training_faster.py.
Run the page as a script: ``python -m snippets.training_faster``.

The timed run that measured the page's table, bench/training.py (``make bench``),
imports the recipe functions and load_full_size() from this module, so the code the
page shows is the code that was timed. The page itself only reads the stored results,
snippets/training_faster.json (part of the package, so the page's notebook runs
anywhere): it never times anything.
"""

# --8<-- [start:pipeline]
import numpy as np
import tensorflow as tf


def make_dataset(images, labels, batch_size, shuffle_seed=None):
    """A tf.data pipeline that feeds fit() the same batches it would cut from NumPy arrays.

    images: (n, 784) float32, labels: (n, 10) one-hot. cache() keeps the prepared tensors
    after the first pass; shuffle() (when a seed is given) reshuffles every epoch, like
    fit(shuffle=True); prefetch() prepares the next batch while the current one trains.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 2 or labels.ndim != 2 or len(images) != len(labels):
        raise ValueError(
            f"expected images (n, pixels) and one-hot labels (n, classes), got {images.shape} and {labels.shape}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# --8<-- [end:pipeline]


# --8<-- [start:batch]
BASE_BATCH, BASE_LEARNING_RATE = 128, 1e-3  # the notes' batch size and Adam's default rate


def scaled_learning_rate(batch_size, rule="sqrt", base_batch=BASE_BATCH, base_rate=BASE_LEARNING_RATE):
    """The learning rate for a larger batch: k times the batch means k times fewer steps
    per epoch, so each step may move further. "linear": rate * k (the rule for SGD);
    "sqrt": rate * sqrt(k) (gentler, often better with Adam, whose steps are already normalised)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1 or base_batch < 1:
        raise ValueError(f"batch sizes must be positive whole numbers, got {batch_size!r} and {base_batch!r}")
    if base_rate <= 0:
        raise ValueError(f"base_rate must be positive, got {base_rate!r}")
    k = batch_size / base_batch
    if rule == "linear":
        return base_rate * k
    if rule == "sqrt":
        return base_rate * k**0.5
    raise ValueError(f"rule must be 'linear' or 'sqrt', got {rule!r}")


# --8<-- [end:batch]


# --8<-- [start:xla]
import keras


def compile_fast(model, learning_rate=BASE_LEARNING_RATE, jit_compile=True):
    """Compile like the notes (Adam, categorical cross-entropy, accuracy), with XLA on:
    XLA fuses the step's small operations (ReLU, bias adds, Adam's element-wise update)
    into fewer passes over memory. Keras leaves it off on machines with only a CPU."""
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


# --8<-- [end:xla]


# --8<-- [start:threads]
def set_threads(intra_op, inter_op):
    """How many threads TensorFlow uses inside one operation (a matrix multiply) and to run
    independent operations side by side. Call it first, before TensorFlow runs anything:
    the settings are fixed once its runtime starts (TensorFlow then raises RuntimeError)."""
    for name, value in (("intra_op", intra_op), ("inter_op", inter_op)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0 (0: TensorFlow chooses), got {value!r}")
    tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op)


# --8<-- [end:threads]


# --8<-- [start:flops]
import keras


def forward_flops(model):
    """Floating-point operations of one image's forward pass, per layer, from the layer shapes.

    A multiply-add counts as 2. Conv2D: output height * width * filters * kernel area *
    input channels * 2. Dense: inputs * units * 2. Biases, ReLU and pooling are left out:
    they are a few per output value, thousands of times fewer than the products."""
    counts = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kh, kw = layer.kernel_size
            counts[layer.name] = height * width * filters * kh * kw * layer.input.shape[-1] * 2
        elif isinstance(layer, keras.layers.Dense):
            counts[layer.name] = layer.input.shape[-1] * layer.units * 2
    return counts


def training_flops_per_image(model):
    """Forward + backward: the backward pass computes two products per weight product
    (gradient for the weights and for the inputs), so training costs about 3x forward."""
    return 3 * sum(forward_flops(model).values())


# --8<-- [end:flops]


# --8<-- [start:results]
import json
from pathlib import Path

import snippets

RESULTS = Path(snippets.__file__).resolve().parent / "training_faster.json"


def load_results(path=RESULTS):
    """The stored measurements (training_faster.json beside this module, written by a timed run)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: time the configurations to write it (python -m bench.training)")
    return json.loads(path.read_text(encoding="utf-8"))


def results_table(results):
    """The table of the timed run: each configuration as a ratio to the baseline of the same run."""
    lines = [
        f"{'configuration':34}{'batch':>6}{'img/s':>7}{'speed':>7}{'epoch':>9}{'time':>7}"
        f"{'test acc':>10}{'vs base':>9}{'of matmul':>11}"
    ]
    for c in results["configs"]:
        epoch = f"{c['epoch_seconds']:.0f} s" if c["epoch_seconds"] else "-"
        ratio = f"{c['epoch_time_ratio']:.2f}x" if c["epoch_time_ratio"] else "-"
        accuracy = f"{c['test_accuracy']:.4f}" if c["test_accuracy"] is not None else "-"
        points = f"{c['accuracy_points']:+.2f}" if c["accuracy_points"] is not None else "-"
        lines.append(
            f"{c['name']:34}{c['batch_size']:>6}{c['images_per_second']:>7.0f}{c['speedup']:>6.2f}x"
            f"{epoch:>9}{ratio:>7}{accuracy:>10}{points:>9}{c['matmul_fraction']:>11.0%}"
        )
    return "\n".join(lines)


# --8<-- [end:results]


# The full-size data the timed run trained on (bench/training.py imports it; the page does not show it).
import os

from snippets.data import read_idx  # IDX, the format MNIST and Fashion-MNIST ship in

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist


def load_full_size():
    """(x_train, y_train, x_test, y_test, description): 60,000 + 10,000 uint8 images (n, 28, 28).

    Full MNIST if the Keras cache has it (~/.keras/datasets/mnist.npz), else Fashion-MNIST
    from the Debian package dataset-fashion-mnist (same shapes: ten kinds of clothing
    instead of ten digits; it works offline). The description says which one it is.
    """
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    if (keras_home / "datasets" / "mnist.npz").is_file():
        with np.load(keras_home / "datasets" / "mnist.npz") as npz:
            arrays = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
        return (*arrays, "full MNIST (keras.datasets.mnist cache)")
    if (FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file():
        arrays = [
            read_idx(FASHION_MNIST / f"{part}-idx{rank}-ubyte.gz")
            for part, rank in (("train-images", 3), ("train-labels", 1), ("t10k-images", 3), ("t10k-labels", 1))
        ]
        return (*arrays, f"Fashion-MNIST ({FASHION_MNIST}, Debian package dataset-fashion-mnist)")
    raise FileNotFoundError(
        "no full-size data: put mnist.npz in ~/.keras/datasets/, or install Fashion-MNIST "
        "with `apt-get install dataset-fashion-mnist`"
    )


if __name__ == "__main__":
    # --8<-- [start:show_results]
    results = load_results()
    machine, data = results["machine"], results["data"]
    print(
        f"measured {machine['date']} on {machine['cpu']}, {machine['cores']} cores, "
        f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}"
    )
    print(
        f"data: {data['description'].split(' (')[0]}: {data['train']:,} training + {data['test']:,} test images; "
        f"budget: {results['budget']['epochs']} epoch ({results['budget']['images']:,} images) per configuration"
    )
    print(results_table(results))
    print(
        f"control: the baseline, timed again at the end, ran at {results['control']['of_baseline']:.2f}x "
        f"its first speed; 1-minute load average {machine['load_average_before']:.1f} before, "
        f"{machine['load_average_after']:.1f} after"
    )
    baseline = results["configs"][0]
    larger = [c for c in results["configs"] if c["batch_size"] > baseline["batch_size"] and not c["tf_data"]]
    speedups, points = [c["speedup"] for c in larger], [c["accuracy_points"] for c in larger]  # larger batches
    xla = next(c for c in results["configs"] if c["xla"])
    bfloat16 = next(c for c in results["configs"] if c["precision"] != "float32")
    # --8<-- [end:show_results]

    # --8<-- [start:show_matmul]
    matmul, configs = results["matmul"], results["configs"]
    best = next(c for c in configs if c["name"] == results["best"])  # fastest epoch at the same accuracy
    fastest_step = max(configs, key=lambda c: c["images_per_second"])
    print(f"float32 matrix multiply ({matmul['n']}x{matmul['n']}): {matmul['flops_per_second'] / 1e9:.0f} GFLOP/s")
    print(f"notes' CNN, training: {results['flops_per_image']['training'] / 1e6:.1f} MFLOP per image")
    for c in {c["name"]: c for c in (configs[0], best, fastest_step)}.values():
        print(
            f"{c['name']:34}{c['images_per_second']:>6.0f} img/s = {c['flops_per_second'] / 1e9:5.1f} GFLOP/s"
            f" = {c['matmul_fraction']:.0%} of the matmul rate"
        )
    # --8<-- [end:show_matmul]

    # --8<-- [start:show_profile]
    profile = results["profile"]
    print(f"one training step of the baseline, batch {profile['batch_size']}:")
    for part, ms in profile["milliseconds"].items():
        print(f"  {part:44}{ms:6.1f} ms {ms / profile['step_ms']:6.0%}")
    hidden_ms = profile["milliseconds"]["hidden layer: its 3 matrix products"]
    adam_ms = profile["milliseconds"]["Adam: updating 3.2 million weights"]
    # --8<-- [end:show_profile]

    # --8<-- [start:flops_demo]
    from snippets.mnist_models import notes_cnn

    cnn = notes_cnn()
    for name, flops in forward_flops(cnn).items():
        print(f"{name:12}{flops:>12,} FLOP per image, forward")
    print(f"{'total':12}{sum(forward_flops(cnn).values()):>12,}; training about 3x: {training_flops_per_image(cnn):,}")
    layer_flops = forward_flops(cnn)
    hidden_share = layer_flops["hidden"] / sum(layer_flops.values())  # the hidden layer's part of the work
    pooled = cnn.get_layer("max_pooling").output.shape[1:]  # what the hidden layer reads
    # --8<-- [end:flops_demo]

    # --8<-- [start:pipeline_demo]
    images = np.arange(10 * 784, dtype="float32").reshape(10, 784) / (10 * 784)  # 10 tiny fake images
    labels = np.eye(10, dtype="float32")[np.arange(10) % 10]
    for batch_images, batch_labels in make_dataset(images, labels, batch_size=4):
        print(
            "batch",
            tuple(batch_images.shape),
            tuple(batch_labels.shape),
            "labels",
            np.argmax(batch_labels, axis=1).tolist(),
        )
    # --8<-- [end:pipeline_demo]

    # --8<-- [start:batch_demo]
    for batch in (128, 256, 512, 1024):
        print(
            f"batch {batch:5}: {60_000 // batch + (60_000 % batch > 0):4} steps per epoch, learning rate "
            f"linear {scaled_learning_rate(batch, 'linear'):.4f}, sqrt {scaled_learning_rate(batch, 'sqrt'):.4f}"
        )
    # --8<-- [end:batch_demo]

    # --8<-- [start:solution]
    for batch in (64, 2048):
        print(
            f"batch {batch:5}: linear {scaled_learning_rate(batch, 'linear'):.5f}, "
            f"sqrt {scaled_learning_rate(batch, 'sqrt'):.5f}"
        )
    linear_rate, sqrt_rate = scaled_learning_rate(2048, "linear"), scaled_learning_rate(2048, "sqrt")
    # --8<-- [end:solution]
