"""MNIST, made ready for a network: pixels scaled to [0, 1], labels one-hot.

Page: docs/mnist_data.md. Tests: tests/test_mnist_data.py.
Run the page as a script: ``python -m snippets.mnist_data``.
"""

if __name__ == "__main__":
    # --8<-- [start:raw]
    import numpy as np

    from snippets.data import load_mnist

    data = load_mnist()  # the offline sample, or full MNIST with CNN_TUTORIAL_DATA=full
    print(data)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        array = getattr(data, name)
        print(f"{name:8} shape {str(array.shape):15} {array.dtype}  min {array.min():3}  max {array.max():3}")
    print("first ten training labels:", data.y_train[:10])
    print("last ten training labels: ", data.y_train[-10:])
    # --8<-- [end:raw]


# --8<-- [start:prepare]
from dataclasses import dataclass

import numpy as np

from snippets.data import load_mnist


@dataclass(frozen=True, eq=False)
class Prepared:
    """MNIST as the models of this chapter take it.

    x_train, x_test: (n, 784) float32 in [0, 1], one flattened 28x28 image per row.
    y_train, y_test: (n, 10) float32 one-hot rows; digits_train, digits_test: (n,) int digits.
    description: which data and how many images, e.g. for a printout.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    digits_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    digits_test: np.ndarray
    description: str

    def __str__(self):
        return self.description


def scale_pixels(images):
    """uint8 images (n, 28, 28), 0..255 -> float32 rows (n, 784), 0..1: networks learn
    badly from inputs in the hundreds, and the models take flat rows, as in the notes."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (n, 28, 28), got {images.dtype} {images.shape}")
    return images.reshape(len(images), 784).astype("float32") / 255


def one_hot(digits, classes=10):
    """Digits (n,) -> one-hot rows (n, classes) float32: 5 -> [0,0,0,0,0,1,0,0,0,0].
    The same as keras.utils.to_categorical(digits, classes), which returns float64."""
    digits = np.asarray(digits)
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 1:
        raise ValueError(f"classes must be a positive whole number, got {classes!r}")
    if (
        digits.ndim != 1
        or digits.dtype.kind not in "iu"
        or (digits.size and not 0 <= digits.min() <= digits.max() < classes)
    ):
        raise ValueError(
            f"expected a 1-D array of integer digits in 0..{classes - 1}, got {digits.dtype} {digits.shape}"
        )
    return np.eye(classes, dtype="float32")[digits]


def prepare_mnist(data=None, seed=0):
    """Load MNIST (default: snippets.data.load_mnist()) and prepare it for training.

    The offline sample stores its training images sorted by label, so they are shuffled
    (a fixed permutation, `seed`) to put every digit among the first images, and among
    the last 10% that training holds out for validation; full MNIST keeps its own order,
    which is already mixed. The test set is never reordered.
    """
    data = load_mnist() if data is None else data
    order = np.arange(len(data.x_train))
    if data.source == "sample":
        order = np.random.default_rng(seed).permutation(order)
    digits_train = data.y_train[order].astype("int64")
    digits_test = data.y_test.astype("int64")
    return Prepared(
        scale_pixels(data.x_train[order]),
        one_hot(digits_train),
        digits_train,
        scale_pixels(data.x_test),
        one_hot(digits_test),
        digits_test,
        str(data) + (f", training images shuffled (seed {seed})" if data.source == "sample" else ""),
    )


# --8<-- [end:prepare]


# --8<-- [start:grid]
import matplotlib.pyplot as plt


def show_digits(images, digits, rows=2, cols=5):
    """The first rows*cols images in a grid, each titled with its digit (the notes' 2x5 figure).
    images: (n, 784) in [0, 1]; digits: (n,) ints (or any titles), at least rows*cols of each."""
    images = np.asarray(images)
    if min(rows, cols) < 1:
        raise ValueError(f"rows and cols must be at least 1, got {rows} and {cols}")
    if images.ndim != 2 or images.shape[1] != 784 or len(images) < rows * cols or len(digits) < rows * cols:
        raise ValueError(
            f"expected at least {rows * cols} images of shape (784,) and as many digits, "
            f"got images {images.shape} and {len(digits)} digits"
        )
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for ax, image, digit in zip(axes.flat, images, digits):
        ax.imshow(image.reshape(28, 28), vmin=0, vmax=1, cmap="gray_r")
        ax.set_title(str(digit))
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


# --8<-- [end:grid]


# --8<-- [start:exercise]
def mean_digits(images, digits, classes=10):
    """The average image of each digit: (n, 784) images and (n,) digits -> (classes, 784).
    Row k is the mean of all images of digit k: a blurry 'typical' k."""
    images, digits = np.asarray(images), np.asarray(digits)
    if images.ndim != 2 or digits.shape != (len(images),):
        raise ValueError(f"expected images (n, pixels) and digits (n,), got {images.shape} and {digits.shape}")
    counts = np.bincount(digits, minlength=classes)
    if len(counts) > classes or counts.min() == 0:
        raise ValueError(f"expected every digit 0..{classes - 1} at least once, got counts {counts.tolist()}")
    return one_hot(digits, classes).T @ images / counts[:, None]


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:load]
    mnist = prepare_mnist()
    print(mnist)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        array = getattr(mnist, name)
        print(f"{name:8} shape {str(array.shape):12} {array.dtype}  min {array.min():.0f}  max {array.max():.0f}")
    # --8<-- [end:load]

    # --8<-- [start:first_image]
    row = mnist.x_train[0].reshape(28, 28)[14]  # the middle row of pixels of the first image
    print("first image, pixel row 14, columns 6 to 19:")
    print(np.round(row[6:20], 2))
    print("its label:", mnist.y_train[0], "-> digit", mnist.digits_train[0])
    # --8<-- [end:first_image]

    # --8<-- [start:numpy_labels]
    digits = mnist.digits_train[:3]
    print("digits:", digits)
    print(one_hot(digits))
    # --8<-- [end:numpy_labels]

    # --8<-- [start:keras_labels]
    import keras

    digits = mnist.digits_train[:3]
    print("digits:", digits)
    print(keras.utils.to_categorical(digits, 10))
    for name, digits in (("training", mnist.digits_train), ("test", mnist.digits_test)):
        same = np.array_equal(one_hot(digits), keras.utils.to_categorical(digits, 10))
        print(f"one_hot == to_categorical on all {len(digits):,} {name} labels: {same}")
    # --8<-- [end:keras_labels]

    # --8<-- [start:show]
    print(mnist)
    show_digits(mnist.x_train, mnist.digits_train)
    plt.show()
    # --8<-- [end:show]

    # --8<-- [start:shuffle]
    held_out = len(data.y_train) // 10  # what validation_split=0.1 holds out: the LAST 10%
    print(data)
    print("how many of each digit 0..9")
    print(f"  in the first 1,000 images, as stored: {np.bincount(data.y_train[:1000], minlength=10)}")
    print(f"  in the last {held_out}, as stored:          {np.bincount(data.y_train[-held_out:], minlength=10)}")
    print(f"  in the last {held_out}, shuffled:           {np.bincount(mnist.digits_train[-held_out:], minlength=10)}")
    # --8<-- [end:shuffle]

    # --8<-- [start:split]
    split = len(mnist.x_train) - len(mnist.x_train) // 10  # as model.fit(..., validation_split=0.1)
    x_fit, x_val = mnist.x_train[:split], mnist.x_train[split:]
    print(mnist)
    print(f"train on       {len(x_fit):6,} images: digits {np.bincount(mnist.digits_train[:split])}")
    print(f"validate on    {len(x_val):6,} images: digits {np.bincount(mnist.digits_train[split:])}")
    print(f"test, at last: {len(mnist.x_test):6,} images: digits {np.bincount(mnist.digits_test)}")
    # --8<-- [end:split]

    # --8<-- [start:pitfall]
    first = data.x_train[0]
    darkest, brightest = first.argmin(), first.argmax()  # positions in the image, read row by row
    pixels = first.reshape(784)[[darkest, brightest]]  # blank paper and full ink, as stored
    print("pixels as stored:", pixels, pixels.dtype)
    print("pixels + 10:     ", pixels + 10, f"  <- {pixels[1]} + 10 is not {int(pixels[1]) + 10} in uint8")
    print("pixels - 10:     ", pixels - 10, f"  <- {pixels[0]} - 10 is not {int(pixels[0]) - 10} in uint8")
    scaled = scale_pixels(data.x_train[:1])[0, [darkest, brightest]]
    print("scaled:          ", np.round(scaled, 2), scaled.dtype)
    print("scaled + 10/255: ", np.round(scaled + 10 / 255, 2))
    # --8<-- [end:pitfall]

    # --8<-- [start:solution]
    means = mean_digits(mnist.x_train, mnist.digits_train)
    print(mnist)
    print("mean images:", means.shape, "ink per mean image (sum of pixels):", np.round(means.sum(axis=1)).astype(int))
    # squared distance |x - m|^2 = |x|^2 - 2 x.m + |m|^2; |x|^2 is the same for every m, so leave it out
    nearest = np.argmin((means**2).sum(axis=1) - 2 * mnist.x_test @ means.T, axis=1)  # closest mean image
    print(f"test images whose closest mean image is their own digit: {np.mean(nearest == mnist.digits_test):.1%}")
    show_digits(means, [f"mean {k}" for k in range(10)])
    plt.show()
    # --8<-- [end:solution]
