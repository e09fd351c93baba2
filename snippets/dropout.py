"""Inverted dropout, from scratch, beside keras.layers.Dropout, and what it does to overfitting.

Page: docs/dropout.md. Tests: tests/test_dropout.py.
Run the page as a script: ``python -m snippets.dropout``.

Dropout works element-wise on activations of any shape, e.g. (batch, units) after a
Dense layer or (batch, height, width, channels) after a convolution.
"""

# The argument checks come first: the next section, the one the page shows first, imports them from
# this module (a module may import its own names once they are defined), so that pasted code runs.
# --8<-- [start:checks]
import numpy as np

from snippets.activations import as_real_array  # as on the activations page: float64, or a clear ValueError


def check_rate(rate):
    """The fraction of units to drop, a number in [0, 1); rate 1 would drop everything (and divide by 0)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) or not 0 <= rate < 1:
        raise ValueError(f"rate is the fraction of units to DROP and must be a number in [0, 1), got {rate!r}")
    return float(rate)


def check_dropout_args(x, rate, training, rng):
    """x as float64 and the rate as a float, or a ValueError that says what was expected."""
    x, rate = as_real_array(x), check_rate(rate)
    if training not in (True, False):
        raise ValueError(f"training must be True or False, got {training!r}")
    if training and not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator, e.g. np.random.default_rng(0), got {rng!r}")
    return x, rate


# --8<-- [end:checks]


# --8<-- [start:numpy]
import numpy as np

from snippets.dropout import check_dropout_args  # the argument checks, shown at the end of the page


def dropout(x, rate, training=False, rng=None):
    """Inverted dropout, as keras.layers.Dropout(rate) computes it.

    Training: zero each unit of x with probability `rate` (a new mask on every call) and
    divide the survivors by 1 - rate, so the expected value of every unit is unchanged.
    Inference (training=False, the default, as in Keras): x unchanged.
    x: any shape; rng: np.random.Generator, needed in training only. Returns float64, x's shape.
    """
    x, rate = check_dropout_args(x, rate, training, rng)  # float64, or a clear error
    if not training:
        return x
    keep = rng.random(x.shape) >= rate  # uniform in [0, 1), so each unit survives with probability 1 - rate
    return np.where(keep, x / (1 - rate), 0.0)


# --8<-- [end:numpy]


# --8<-- [start:experiment]
import keras


def small_mnist(data, n_train=1000, n_val=2000, seed=0):
    """n_train training images drawn at random (the sample's are sorted by label, so a plain
    slice would hold only 0s and 1s) and the first n_val test images; pixels scaled to [0, 1], float32.

    Returns ((x_train, y_train), (x_val, y_val)), images (n, 28, 28), labels (n,).
    """
    pick = np.random.default_rng(seed).permutation(len(data.x_train))[:n_train]
    x_train, x_val = (images.astype("float32") / 255 for images in (data.x_train[pick], data.x_test[:n_val]))
    return (x_train, data.y_train[pick]), (x_val, data.y_test[:n_val])


def mlp(input_rate, hidden_rate):
    """Flatten -> Dropout(input_rate) -> Dense(512, relu) -> Dropout(hidden_rate) -> Dense(10, softmax).

    Dropout(0) passes everything through, so rates of 0 give the same network without dropout;
    the Dropout layers draw their masks from their own seeds, so after the same
    keras.utils.set_random_seed both versions start from the same weights.
    407,050 weights for 1,000 images: plenty of room to memorize them. 0.2 on the pixels and
    0.5 on the hidden units are the rates of the dropout paper's MNIST networks.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dropout(input_rate, seed=1),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(hidden_rate, seed=2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def train(input_rate, hidden_rate, train_set, val_set, epochs=30):
    """Fit mlp(input_rate, hidden_rate) with Adam, batches of 128, from the same seed every time.

    Returns the per-epoch history (Keras measures the training "loss" and "accuracy" in
    training mode, dropout on) and the final (loss, accuracy) on the training set measured
    at inference, dropout off.
    """
    keras.utils.set_random_seed(0)
    model = mlp(input_rate, hidden_rate)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(*train_set, epochs=epochs, batch_size=128, validation_data=val_set, verbose=0)
    return history.history, model.evaluate(*train_set, verbose=0)


# --8<-- [end:experiment]


# --8<-- [start:exercise]
def old_dropout(x, rate, training=False, rng=None):
    """The original, non-inverted dropout (Srivastava et al., 2014).

    Training: zero each unit with probability `rate` and leave the survivors as they are.
    Inference: multiply every unit by 1 - rate, the fraction that was on during training.
    """
    x, rate = check_dropout_args(x, rate, training, rng)
    if not training:
        return x * (1 - rate)
    keep = rng.random(x.shape) >= rate
    return np.where(keep, x, 0.0)


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:demo]
    rng = np.random.default_rng(0)
    h = np.array([0.5, 1.0, 2.0, 3.0, 0.5, 1.0, 2.0, 3.0])  # the activations of 8 hidden units
    print("training, pass 1:", dropout(h, 0.5, training=True, rng=rng))
    print("training, pass 2:", dropout(h, 0.5, training=True, rng=rng))
    print("inference       :", dropout(h, 0.5))
    passes = np.array([dropout(h, 0.5, training=True, rng=rng) for _ in range(10_000)])
    averages = passes.mean(axis=0)
    print("mean of 10,000 training passes:", averages.round(2))
    # --8<-- [end:demo]

    # --8<-- [start:keras]
    import keras

    rate = 0.5
    x = np.random.default_rng(1).uniform(1, 2, size=(1000, 1000)).astype("float32")  # no 0 in x
    n = x.size
    layer = keras.layers.Dropout(rate, seed=0)
    outputs = {
        "NumPy": (dropout(x, rate), dropout(x, rate, training=True, rng=np.random.default_rng(0))),
        "Keras": (
            keras.ops.convert_to_numpy(layer(x, training=False)),
            keras.ops.convert_to_numpy(layer(x, training=True)),
        ),
    }
    sd_fraction = np.sqrt(rate * (1 - rate) / n)  # binomial
    sd_mean = np.sqrt(np.sum(x.astype(np.float64) ** 2) * rate / (1 - rate)) / n
    print(f"x: {n:,} values from U(1, 2); rate = {rate}")
    print(f"{'':38}{'NumPy':>9}{'Keras':>9}")
    rows = {
        "inference: output == x": lambda inference, y: str(np.array_equal(inference, x)),
        "training: every value 0 or x/(1-rate)": lambda inference, y: str(
            bool(np.all((y == 0) | np.isclose(y, x / (1 - rate), rtol=1e-6, atol=0)))
        ),
        f"fraction dropped (sd {sd_fraction:.4f})": lambda inference, y: f"{np.mean(y == 0):.4f}",
        f"mean of output (x: {x.mean():.4f}, sd {sd_mean:.4f})": lambda inference, y: f"{y.mean():.4f}",
    }
    for label, value in rows.items():
        print(f"{label:38}" + "".join(f"{value(*outputs[name]):>9}" for name in outputs))
    # --8<-- [end:keras]

    # --8<-- [start:run-experiment]
    from snippets.data import load_mnist

    data = load_mnist()
    print(data)
    train_set, val_set = small_mnist(data)
    print(
        f"training on {len(train_set[0]):,} shuffled training images, "
        f"validating on the first {len(val_set[0]):,} test images"
    )
    runs = {"no dropout": train(0.0, 0.0, train_set, val_set), "dropout 0.2 + 0.5": train(0.2, 0.5, train_set, val_set)}
    final = {}  # per model, the numbers of the table
    print(f"{'model':19}{'train acc':>10}{'val acc':>9}{'gap':>7}{'train loss':>12}{'val loss':>10}{'best epoch':>12}")
    for name, (history, (train_loss, train_accuracy)) in runs.items():
        val_accuracy, val_loss = history["val_accuracy"][-1], history["val_loss"][-1]
        best_epoch = int(np.argmin(history["val_loss"])) + 1  # the epoch after which val loss was lowest
        final[name] = {
            "train acc": train_accuracy,
            "val acc": val_accuracy,
            "gap": train_accuracy - val_accuracy,
            "train loss": train_loss,
            "val loss": val_loss,
            "best epoch": best_epoch,
        }
        print(
            f"{name:19}{train_accuracy:10.3f}{val_accuracy:9.3f}{train_accuracy - val_accuracy:7.3f}"
            f"{train_loss:12.3f}{val_loss:10.3f}{best_epoch:12}"
        )
    # --8<-- [end:run-experiment]

    # --8<-- [start:plot]
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for (name, (history, _)), color in zip(runs.items(), ("C0", "C1")):
        epochs = np.arange(1, len(history["loss"]) + 1)
        for ax, metric in ((left, "accuracy"), (right, "loss")):
            ax.plot(epochs, history[metric], color=color, linestyle="--", label=f"{name}, training")
            ax.plot(epochs, history[f"val_{metric}"], color=color, label=f"{name}, validation")
    left.set(title="Accuracy", xlabel="epoch", ylim=(0.6, 1.01))
    right.set(title="Loss (cross-entropy)", xlabel="epoch", ylim=(0, 1.2))
    for ax in (left, right):
        ax.grid(True)
        ax.legend()
    plt.show()
    # --8<-- [end:plot]

    # --8<-- [start:pitfall]
    ones = np.ones((1, 100_000), dtype="float32")
    for rate in (0.1, 0.9):
        y = keras.ops.convert_to_numpy(keras.layers.Dropout(rate, seed=0)(ones, training=True))
        print(f"Dropout({rate}) in training: {np.mean(y == 0):.1%} of the units dropped, survivors x {y.max():.2f}")
    y = keras.ops.convert_to_numpy(keras.layers.Dropout(0.5, seed=0)(ones))
    print("Dropout(0.5) called without training=True changes nothing:", np.array_equal(y, ones))
    # --8<-- [end:pitfall]

    # --8<-- [start:errors]
    for bad_call in (
        lambda: dropout(h, 1.0, training=True, rng=rng),  # a rate of 1 would drop every unit
        lambda: dropout(h, "0.5"),  # a string, not a number
        lambda: dropout(h, 0.5, training="yes"),
        lambda: dropout(h, 0.5, training=True),  # training needs a random generator
    ):
        try:
            bad_call()
        except ValueError as error:
            print("ValueError:", error)
    # --8<-- [end:errors]

    # --8<-- [start:solution]
    h = np.array([0.5, 1.0, 2.0, 3.0])
    for f in (dropout, old_dropout):
        rng = np.random.default_rng(0)
        mean = np.mean([f(h, 0.5, training=True, rng=rng) for _ in range(10_000)], axis=0)
        print(f"{f.__name__:12} mean of 10,000 training passes {mean.round(2)}, inference {f(h, 0.5)}")
    same_mask = np.allclose(
        old_dropout(h, 0.5, True, np.random.default_rng(7)) / (1 - 0.5), dropout(h, 0.5, True, np.random.default_rng(7))
    )
    print("same mask: old / (1 - rate) equals inverted:", same_mask)
    # --8<-- [end:solution]
