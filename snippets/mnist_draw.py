"""Draw a digit: turn a drawing into the 28x28 image MNIST's networks read, as MNIST was made.

Page: docs/mnist_draw.md. Tests: tests/test_mnist_draw.py.
Run the page as a script: ``python -m snippets.mnist_draw``.

The page runs Chollet's convnet in the browser; snippets/mnist_draw.js does there
exactly what `preprocess` does here, its `overlapMatrix` being `box_weights` (the tests
check that both give the same array).
"""

# box_weights, the area-averaging resize weights: the page shows it just before `preprocess`, whose
# section must begin with its own imports for pasted code to run; hence this import first.
from snippets.mnist import box_weights  # noqa: I001

# --8<-- [start:preprocess]
import math

import numpy as np


def preprocess(ink, box=20, size=28):
    """A drawing (2-D array, 0 = paper, 1 = full ink) -> the size x size image a network
    trained on MNIST expects, made the way MNIST was: crop to the ink, scale so the longer
    side fills a box x box square (keeping the aspect ratio, anti-aliased), and put the
    result where its centre of mass falls on the middle pixel (size // 2, size // 2).
    Returns None when there is no ink at all."""
    ink = np.asarray(ink, dtype=np.float64)
    rows, cols = np.nonzero(ink > 0)
    if rows.size == 0:
        return None
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height, width = crop.shape
    longest = max(height, width)
    out_height = max(1, math.floor(height * box / longest + 0.5))  # round half up, as JavaScript does
    out_width = max(1, math.floor(width * box / longest + 0.5))
    digit = box_weights(height, out_height) @ crop @ box_weights(width, out_width).T
    mass = digit.sum()
    centre_row = (digit.sum(axis=1) * np.arange(out_height)).sum() / mass
    centre_col = (digit.sum(axis=0) * np.arange(out_width)).sum() / mass
    # Shift by whole pixels; never so far that part of the digit falls off the image.
    top = min(max(math.floor(size // 2 - centre_row + 0.5), 0), size - out_height)
    left = min(max(math.floor(size // 2 - centre_col + 0.5), 0), size - out_width)
    image = np.zeros((size, size))
    image[top : top + out_height, left : left + out_width] = digit
    return image


# --8<-- [end:preprocess]


# --8<-- [start:strokes]
def draw_strokes(strokes, size=280, width=24):
    """Strokes (lists of (x, y) points on a size x size pad) drawn as a round pen of the
    given width: the ink of a pixel is how far its centre lies inside the pen's edge,
    clipped to [0, 1], so edges are soft, as on the page's drawing pad."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    ink = np.zeros((size, size))
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        for (x0, y0), (x1, y1) in zip(points, points[1:] if len(points) > 1 else points):
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy
            t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0, 1) if length2 else 0.0
            distance = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
            ink = np.maximum(ink, np.clip(width / 2 + 0.5 - distance, 0, 1))
    return ink


def centre_of_mass(image):
    """(row, column) of an image's centre of mass, rows and columns counted from 0."""
    image = np.asarray(image, dtype=np.float64)
    mass = image.sum()
    return (
        float((image.sum(axis=1) * np.arange(image.shape[0])).sum() / mass),
        float((image.sum(axis=0) * np.arange(image.shape[1])).sum() / mass),
    )


# --8<-- [end:strokes]


# --8<-- [start:model]
import keras


def with_first_feature_maps(model):
    """A model on the same layers and weights with two outputs: the first convolution's
    feature maps, and the probabilities. The page draws both."""
    first_conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    return keras.Model(model.inputs, [first_conv.output, model.outputs[0]], name=f"{model.name}_with_maps")


def megabytes(parameters, bytes_per_parameter=4):
    """The size of the weights as float32 numbers, in megabytes (10^6 bytes)."""
    return parameters * bytes_per_parameter / 1e6


# --8<-- [end:model]


# What the site build does with the model (tools/draw_assets.py); not shown on the page.
import base64
import json


def export_onnx(model, path):
    """Write `model` with its first feature maps as an ONNX file (needs tf2onnx)."""
    both = with_first_feature_maps(model)
    both.predict(np.zeros((1, 784), dtype="float32"), verbose=0)  # Keras exports a model that has run
    both.export(str(path), format="onnx", verbose=False)
    return path


def picker_digits(mnist, per_digit=3):
    """The first `per_digit` test images of each digit, for the page's keyboard picker:
    a list of {"index", "label", "pixels"} with the 784 pixels as base64 of bytes 0..255."""
    chosen = []
    for digit in range(10):
        chosen += [int(i) for i in np.flatnonzero(mnist.digits_test == digit)[:per_digit]]
    entries = []
    for index in sorted(chosen):
        pixels = np.rint(mnist.x_test[index] * 255).astype(np.uint8)
        entries.append(
            {
                "index": index,
                "label": int(mnist.digits_test[index]),
                "pixels": base64.b64encode(pixels.tobytes()).decode("ascii"),
            }
        )
    return entries


def write_picker_digits(mnist, path, per_digit=3):
    path.write_text(json.dumps({"data": str(mnist), "digits": picker_digits(mnist, per_digit)}), encoding="utf-8")
    return path


if __name__ == "__main__":
    # --8<-- [start:load]
    from snippets.mnist_data import prepare_mnist
    from snippets.mnist_models import build_model
    from snippets.mnist_training import load_accuracy, trained

    mnist = prepare_mnist()
    convnet = trained("chollet_convnet", mnist, epochs=10)
    model = convnet.model
    notes_parameters = build_model("notes_cnn").count_params()  # built, not trained: only its size matters
    print(mnist)
    chollet_mb, notes_mb = megabytes(model.count_params()), megabytes(notes_parameters)
    print(f"chollet_convnet: {model.count_params():>9,} parameters, {chollet_mb:5.2f} MB")
    print(f"notes_cnn:       {notes_parameters:>9,} parameters, {notes_mb:5.2f} MB")
    stored = load_accuracy()["models"]  # full MNIST, several seeds (the training page's table)
    print(
        f"test accuracy on full MNIST, mean over seeds: chollet_convnet {stored['chollet_convnet']['mean']:.4f}, "
        f"notes_cnn {stored['notes_cnn']['mean']:.4f}"
    )
    # --8<-- [end:load]

    # --8<-- [start:steps]
    import matplotlib.pyplot as plt

    # A "7" drawn on a 280x280 pad, small and in a corner, as a hurried hand might.
    seven = [[(40, 50), (130, 45), (95, 150)], [(70, 100), (120, 98)]]
    ink = draw_strokes(seven)
    rows, cols = np.nonzero(ink > 0)
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    image = preprocess(ink)
    print(f"pad {ink.shape}, ink in a box of {crop.shape[0]}x{crop.shape[1]} pixels")
    print(
        f"network's input {image.shape}, centre of mass at ({centre_of_mass(image)[0]:.2f}, "
        f"{centre_of_mass(image)[1]:.2f})"
    )
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for ax, picture, title in zip(
        axes, (ink, crop, image), ("what you drew (280x280)", "cropped to the ink", "what the network sees (28x28)")
    ):
        ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    axes[2].plot(14, 14, "r+", markersize=12)  # the middle pixel: the centre of mass lands here
    plt.show()
    # --8<-- [end:steps]

    # --8<-- [start:predict]
    probabilities = model.predict(image.reshape(1, 784).astype("float32"), verbose=0)[0]
    print("probabilities:", np.round(probabilities, 3))
    print(f"the network reads a {probabilities.argmax()} ({probabilities.max():.1%})")
    # --8<-- [end:predict]

    # --8<-- [start:round_trip]
    # A real test digit, blown up 8 times and pushed into a corner of the pad:
    # preprocessing must give back (nearly) the original 28x28 image.
    original = mnist.x_test[0].reshape(28, 28)
    pad = np.zeros((280, 280))
    pad[10:234, 40:264] = np.kron(original, np.ones((8, 8)))
    again = preprocess(pad)
    both = model.predict(np.stack([original, again]).reshape(2, 784).astype("float32"), verbose=0)
    difference = np.abs(again - original).max()
    print(f"test image 0 is a {mnist.digits_test[0]}; largest pixel difference after the round trip: {difference:.3f}")
    print(
        f"the network reads the original as {both[0].argmax()} ({both[0].max():.4f}), "
        f"the round trip as {both[1].argmax()} ({both[1].max():.4f})"
    )
    # --8<-- [end:round_trip]

    # --8<-- [start:maps]
    maps_model = with_first_feature_maps(model)
    maps, probabilities = maps_model.predict(image.reshape(1, 784).astype("float32"), verbose=0)
    print(f"feature maps {maps.shape}: {maps.shape[-1]} maps of {maps.shape[1]}x{maps.shape[2]}")
    fig, axes = plt.subplots(4, 8, figsize=(8, 4.4))
    for k, ax in enumerate(axes.flat):
        ax.imshow(maps[0, :, :, k], cmap="magma", vmin=0, vmax=maps.max())
        ax.set_title(str(k), fontsize=8)
        ax.axis("off")
    plt.show()
    # --8<-- [end:maps]

    # --8<-- [start:pitfall]
    # 1,000 test digits as MNIST made them, moved towards the top left corner, and inverted.
    digits = mnist.x_test[:1000].reshape(-1, 28, 28)
    labels = mnist.digits_test[:1000]

    def accuracy(images):
        return float((model.predict(images.reshape(-1, 784), verbose=0).argmax(axis=1) == labels).mean())

    def moved(images, pixels):
        """Each image moved `pixels` up and `pixels` left; blank paper comes in from the edges."""
        out = np.zeros_like(images)
        out[:, : 28 - pixels, : 28 - pixels] = images[:, pixels:, pixels:]
        return out

    shifted = {pixels: accuracy(moved(digits, pixels)) for pixels in (0, 1, 2, 3, 4, 6)}
    for pixels, value in shifted.items():
        print(f"moved {pixels} pixels up and left: accuracy {value:.3f}")
    inverted = accuracy(1 - digits)
    print(f"black ink on white paper:     accuracy {inverted:.3f}")
    # --8<-- [end:pitfall]
