"""Look inside the trained notes' CNN: its filters, what they make of digits, its mistakes.

Page: docs/mnist_inside.md. Tests: tests/test_mnist_inside.py.
Run the page as a script: ``python -m snippets.mnist_inside``.

The model is the one docs/mnist_training.md trains, `trained("notes_cnn", epochs=10)`:
images come in as rows of 784 pixels in [0, 1]; the layer "conv_filter" gives
(n, 28, 28, 16) maps and "max_pooling" (n, 14, 14, 16).
"""

# --8<-- [start:outputs]
import keras
import numpy as np


def intermediate_model(model, layer_names=("conv_filter", "max_pooling")):
    """A functional model on the same layers and weights as `model` that returns the
    outputs of the named layers instead of the prediction (nothing is copied or retrained).
    For the notes' CNN: (n, 784) -> [(n, 28, 28, 16), (n, 14, 14, 16)]."""
    if not layer_names:
        raise ValueError("expected at least one layer name")
    outputs = [model.get_layer(name).output for name in layer_names]  # unknown name: ValueError
    return keras.Model(inputs=model.inputs, outputs=outputs)


# --8<-- [end:outputs]


# --8<-- [start:numpy]
from snippets.convolution import conv2d
from snippets.pooling import max_pool2d


def conv_relu_pool(images, kernels, bias):
    """The notes' convolution layer and its pooling, in NumPy.

    images (n, 784) in [0, 1]; kernels (5, 5, 1, filters) and bias (filters,) from the
    layer's get_weights(). Returns ReLU(conv 'same' + bias), (n, 28, 28, filters), and
    its 2x2 max pooling, (n, 14, 14, filters), both float64.
    """
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"expected images as rows of 784 pixels, shape (n, 784), got {images.shape}")
    conv = np.maximum(conv2d(images.reshape(-1, 28, 28, 1), kernels, bias, padding="same"), 0)
    return conv, max_pool2d(conv, size=2)


# --8<-- [end:numpy]


# --8<-- [start:filters]
import matplotlib.pyplot as plt

# Signed weights on one scale centred on 0: red positive, blue negative, grey about 0.
# coolwarm's middle is a light grey, so a tile reads on a white page and on a dark one.
FILTER_COLORS = "coolwarm"


def check_kernels(kernels):
    kernels = np.asarray(kernels)
    if kernels.ndim != 4 or kernels.shape[2] != 1:
        raise ValueError(f"expected kernels of shape (height, width, 1, filters), got {kernels.shape}")
    return kernels


def show_filters(kernels, rows=2):
    """Every filter of a one-channel convolution, (kh, kw, 1, filters), as a small image,
    all on one colour scale from -max|w| to +max|w| with a colour bar."""
    kernels = check_kernels(kernels)
    count = kernels.shape[3]
    if rows < 1 or count % rows:
        raise ValueError(f"{count} filters do not fill {rows} rows evenly")
    limit = np.abs(kernels).max()
    fig, axes = plt.subplots(rows, count // rows, figsize=(1.1 * (count // rows) + 1, 1.3 * rows), squeeze=False)
    for f, ax in enumerate(axes.flat):
        tile = ax.imshow(kernels[:, :, 0, f], cmap=FILTER_COLORS, vmin=-limit, vmax=limit, interpolation="none")
        ax.set_title(f"filter {f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(tile, ax=axes, shrink=0.9, label="weight")
    return fig


# --8<-- [end:filters]


# --8<-- [start:grid]
def show_feature_maps(kernels, images, digits, maps):
    """The notes' grid: column 0 the filters, row 0 the images titled by their digit, and
    at row f + 1, column i + 1 what filter f made of image i.

    kernels (kh, kw, 1, filters); images (n, 784); digits (n,); maps (n, h, w, filters),
    drawn on one grey scale for all panels: white 0 (ReLU's "nothing here"), black the largest.
    """
    kernels, images, maps = check_kernels(kernels), np.asarray(images), np.asarray(maps)
    n, filters = len(images), kernels.shape[3]
    if maps.ndim != 4 or maps.shape[0] != n or maps.shape[3] != filters or len(digits) != n:
        raise ValueError(
            f"expected maps (n, h, w, filters) = ({n}, h, w, {filters}) and {n} digits, "
            f"got maps {maps.shape} and {len(digits)} digits"
        )
    fig, axes = plt.subplots(filters + 1, n + 1, figsize=(0.6 * (n + 1), 0.6 * (filters + 1)))
    fig.delaxes(axes[0, 0])
    limit, v_max = np.abs(kernels).max(), maps.max()
    for i in range(n):
        axes[0, i + 1].imshow(images[i].reshape(28, 28), vmin=0, vmax=1, cmap="gray_r", interpolation="none")
        axes[0, i + 1].set_title(str(digits[i]))
    for f in range(filters):
        axes[f + 1, 0].imshow(kernels[:, :, 0, f], cmap=FILTER_COLORS, vmin=-limit, vmax=limit, interpolation="none")
        for i in range(n):  # inside the loop over filters: every image, every filter
            axes[f + 1, i + 1].imshow(maps[i, :, :, f], vmin=0, vmax=v_max, cmap="gray_r", interpolation="none")
    for ax in fig.axes:
        ax.axis("off")  # 169 panels: no frames, no ticks
    return fig


# --8<-- [end:grid]


# --8<-- [start:mistakes]
def misclassified(probabilities, digits, count=10):
    """Indices of the first `count` images (all of them if count is None), in order,
    whose most probable digit is not their true digit.
    probabilities (n, classes) from model.predict; digits (n,) ints."""
    probabilities, digits = np.asarray(probabilities), np.asarray(digits)
    if probabilities.ndim != 2 or digits.shape != probabilities.shape[:1]:
        raise ValueError(
            f"expected probabilities (n, classes) and digits (n,), got {probabilities.shape} and {digits.shape}"
        )
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0 or None, got {count}")
    return np.flatnonzero(probabilities.argmax(axis=1) != digits)[:count]


def show_predictions(images, probabilities, digits, indices, cols=2):
    """The notes' figure: each image titled "prediction / truth" beside a bar chart of its
    10 probabilities; the true digit's bar in the second colour."""
    if len(indices) == 0 or cols < 1:
        raise ValueError(f"expected at least one index and one column, got {len(indices)} and {cols}")
    rows = -(-len(indices) // cols)
    fig, axes = plt.subplots(
        rows,
        2 * cols,
        figsize=(5 * cols, 1.5 * rows),
        layout="constrained",
        gridspec_kw={"width_ratios": [1, 2] * cols},
        squeeze=False,
    )
    for ax in axes.flat[2 * len(indices) :]:
        fig.delaxes(ax)
    for k, index in enumerate(indices):
        picture, bars = axes.flat[2 * k], axes.flat[2 * k + 1]
        p, truth = probabilities[index], digits[index]
        picture.imshow(images[index].reshape(28, 28), vmin=0, vmax=1, cmap="gray_r", interpolation="none")
        picture.set_title(f"{p.argmax()} / {truth}")
        picture.set_xticks([])
        picture.set_yticks([])
        colors = ["C1" if digit == truth else "C0" for digit in range(len(p))]
        bars.bar(range(len(p)), p, color=colors)
        bars.set(xticks=range(len(p)), xlim=(-0.5, len(p) - 0.5), ylim=(0, 1))
    return fig


# --8<-- [end:mistakes]


# --8<-- [start:exercise]
def confusion_counts(predicted, digits, classes=10):
    """counts[t, p]: how many images of digit t the model called p (the confusion matrix;
    the diagonal holds the correct answers)."""
    predicted, digits = np.asarray(predicted), np.asarray(digits)
    if predicted.shape != digits.shape or predicted.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of the same length, got {predicted.shape} and {digits.shape}")
    both = np.concatenate([predicted, digits])
    if both.size and (both.dtype.kind not in "iu" or both.min() < 0 or both.max() >= classes):
        raise ValueError(f"expected integer digits in 0..{classes - 1}")
    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (digits, predicted), 1)
    return counts


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:load]
    import numpy as np

    from snippets.mnist_data import prepare_mnist
    from snippets.mnist_training import trained

    mnist = prepare_mnist()
    print(mnist)
    result = trained("notes_cnn", epochs=10)  # the training page's run: loaded, not retrained
    model = result.model
    print(f"notes_cnn after 10 epochs: test accuracy {result.test_accuracy:.4f}")
    print("layers:", [layer.name for layer in model.layers])
    # --8<-- [end:load]

    # --8<-- [start:show_filters]
    kernels, bias = model.get_layer("conv_filter").get_weights()
    print("kernels", kernels.shape, "bias", bias.shape)
    print(f"weights from {kernels.min():.2f} to {kernels.max():.2f}; biases from {bias.min():.2f} to {bias.max():.2f}")
    show_filters(kernels)
    plt.show()
    # --8<-- [end:show_filters]

    # --8<-- [start:intermediate]
    inside = intermediate_model(model)
    images, digits = mnist.x_test[:9], mnist.digits_test[:9]
    conv_output, pool_output = inside.predict(images, verbose=0)
    print("first 9 test images:", digits)
    print("conv_filter output:", conv_output.shape, " max_pooling output:", pool_output.shape)
    print(f"share of zeros after ReLU: {np.mean(conv_output == 0):.0%}")
    # --8<-- [end:intermediate]

    # --8<-- [start:check]
    conv, pooled = conv_relu_pool(images, kernels, bias)
    print(f"largest |NumPy - Keras|, convolution + ReLU: {np.max(np.abs(conv - conv_output)):.1e}")
    print(f"largest |NumPy - Keras|, max pooling:        {np.max(np.abs(pooled - pool_output)):.1e}")
    # --8<-- [end:check]

    # --8<-- [start:show_conv]
    show_feature_maps(kernels, images, digits, conv_output)
    plt.show()
    # --8<-- [end:show_conv]

    # --8<-- [start:show_pool]
    show_feature_maps(kernels, images, digits, pool_output)
    plt.show()
    # --8<-- [end:show_pool]

    # --8<-- [start:show_mistakes]
    print(mnist)
    probabilities = model.predict(mnist.x_test, batch_size=1000, verbose=0)
    wrong = misclassified(probabilities, mnist.digits_test, count=None)
    print(f"misclassified: {len(wrong)} of {len(mnist.x_test):,} test images")
    print("the first 10:", wrong[:10])
    show_predictions(mnist.x_test, probabilities, mnist.digits_test, wrong[:10])
    plt.show()
    # --8<-- [end:show_mistakes]

    # --8<-- [start:pitfall]
    import time

    model.predict(mnist.x_test[:1], verbose=0)  # not timed: the first call traces the model
    start = time.perf_counter()
    for image in mnist.x_test[:10]:
        model.predict(image[None], verbose=0)  # the notes' loop: one call per image
    one_by_one = (time.perf_counter() - start) / 10
    start = time.perf_counter()
    model.predict(mnist.x_test[:1000], batch_size=1000, verbose=0)
    batched = (time.perf_counter() - start) / 1000
    print(
        f"one image per call:       {one_by_one * 1000:.1f} ms per image, "
        f"{one_by_one * len(mnist.x_test):.0f} s for all {len(mnist.x_test):,} test images"
    )
    print(
        f"1,000 images in one call: {batched * 1000:.1f} ms per image, "
        f"{batched * len(mnist.x_test):.0f} s for all {len(mnist.x_test):,} test images"
    )
    # --8<-- [end:pitfall]

    # --8<-- [start:solution]
    counts = confusion_counts(probabilities.argmax(axis=1), mnist.digits_test)
    mistakes = counts * (1 - np.eye(10, dtype=int))  # the diagonal holds the correct answers
    print("most frequent mistakes (truth -> prediction: images):")
    for flat in np.argsort(-mistakes, axis=None, kind="stable")[:5]:  # ties: smaller digits first
        truth, predicted = divmod(int(flat), 10)
        print(f"  {truth} -> {predicted}: {mistakes[truth, predicted]}")
    print("correct per digit:", np.diag(counts), " of", counts.sum(axis=1))
    # --8<-- [end:solution]
