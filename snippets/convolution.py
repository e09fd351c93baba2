"""Convolution (cross-correlation, as Keras computes it), from scratch, beside Keras.

Page: docs/convolution.md. Tests: tests/test_convolution.py.
Run the page as a script: ``python -m snippets.convolution``.

Layouts are the ones Keras uses: images NHWC ``(n, height, width, channels)``,
kernels ``(kernel_height, kernel_width, in_channels, out_channels)``.
"""

# --8<-- [start:notes-data]
import numpy as np

IMAGE = np.array([[3, 0, 2, 2], [1, 0, 3, 1], [3, 2, 2, 0], [1, 2, 2, 1]])
VERTICAL_EDGE = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])  # the Sobel filter: right column minus left column
# --8<-- [end:notes-data]


# The argument checks come first: the next section, the one the page shows first, imports them from
# this module (a module may import its own names once they are defined), so that pasted code runs.
# --8<-- [start:checks]
def check_conv2d_args(images, kernels, bias, stride, padding):
    """conv2d's arguments as float64 arrays (bias zeros if None), or a ValueError that says what was expected."""
    images, kernels = np.asarray(images), np.asarray(kernels)
    for name, array in (("images", images), ("kernels", kernels)):
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if images.ndim != 4:
        raise ValueError(f"images must be 4-D (n, height, width, channels), got shape {images.shape}")
    if kernels.ndim != 4:
        raise ValueError(f"kernels must be 4-D (height, width, in_channels, out_channels), got shape {kernels.shape}")
    if images.shape[3] != kernels.shape[2]:
        raise ValueError(
            f"images have {images.shape[3]} channels but kernels expect {kernels.shape[2]} "
            f"(kernels.shape[2] must equal images.shape[3])"
        )
    bias = np.zeros(kernels.shape[3]) if bias is None else np.asarray(bias, dtype=np.float64)
    if bias.shape != (kernels.shape[3],):
        raise ValueError(f"bias must have shape ({kernels.shape[3]},), one per filter, got {bias.shape}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    (h, w), (kh, kw) = images.shape[1:3], kernels.shape[:2]
    if output_length(h, kh, stride, padding)[0] < 1 or output_length(w, kw, stride, padding)[0] < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit in a {h}x{w} image with padding {padding!r}")
    return images.astype(np.float64), kernels.astype(np.float64), bias


# --8<-- [end:checks]


# --8<-- [start:numpy]
from snippets.convolution import check_conv2d_args  # the argument checks, shown at the end of the page


def output_length(n, k, stride, padding):
    """Output length along one axis of length n, and the zeros added (before, after).

    'valid' adds none: out = floor((n - k) / stride) + 1.
    'same' gives out = ceil(n / stride) and adds just enough zeros for that; when
    the total is odd, TensorFlow puts the extra zero after (bottom or right).
    """
    if padding == "valid":
        return (n - k) // stride + 1, 0, 0
    out = -(-n // stride)  # ceil(n / stride)
    total = max((out - 1) * stride + k - n, 0)
    return out, total // 2, total - total // 2


def conv2d(images, kernels, bias=None, stride=1, padding="valid"):
    """What keras.layers.Conv2D computes (before its activation): slide, multiply, sum.

    images (n, h, w, c_in), kernels (kh, kw, c_in, c_out), bias (c_out,) or None.
    Returns (n, out_h, out_w, c_out), float64.
    """
    x, w, b = check_conv2d_args(images, kernels, bias, stride, padding)  # float64 arrays, or a clear error
    (n, h, width, _), (kh, kw, _, c_out) = x.shape, w.shape
    out_h, top, bottom = output_length(h, kh, stride, padding)
    out_w, left, right = output_length(width, kw, stride, padding)
    x = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])  # zeros around the image
    out = np.empty((n, out_h, out_w, c_out))
    for i in range(out_h):  # slide the window down ...
        for j in range(out_w):  # ... and across
            window = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]  # (n, kh, kw, c_in)
            out[:, i, j, :] = np.tensordot(window, w, axes=3)  # multiply, sum over kh, kw, c_in: (n, c_out)
    return out + b


# --8<-- [end:numpy]


# --8<-- [start:two-d]
def correlate2d(image, kernel, padding="valid"):
    """One 2-D image, one 2-D kernel, no flip: what Keras and every deep-learning library compute."""
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"expected a 2-D image and a 2-D kernel, got shapes {image.shape} and {kernel.shape}")
    return conv2d(image[None, :, :, None], kernel[:, :, None, None], padding=padding)[0, :, :, 0]


def convolve2d(image, kernel, padding="valid"):
    """The textbook convolution: turn the kernel by 180 degrees, then correlate."""
    return correlate2d(image, np.flip(kernel), padding)


# --8<-- [end:two-d]


# --8<-- [start:sliding-figure]
import matplotlib.pyplot as plt
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle


def draw_grid(ax, values, left=0, top=0, fill=None, numbers=True):
    """A 2-D array as a grid of cells, its top-left corner at (left, top); fill: {(row, column): colour}."""
    fill = fill or {}
    for (i, j), value in np.ndenumerate(values):
        face = to_rgba(fill[i, j], 0.35) if (i, j) in fill else "none"
        ax.add_patch(Rectangle((left + j, top + i), 1, 1, facecolor=face, edgecolor=plt.rcParams["text.color"]))
        if numbers:
            ax.text(left + j + 0.5, top + i + 0.5, f"{value:g}", ha="center", va="center", fontsize=13)


def draw_sliding_filter(image, kernel):
    """One panel per output position: the filter's window on the image, its weights, the output cell it gives."""
    out = correlate2d(image, kernel)  # conv2d underneath
    (kh, kw), (rows, columns) = kernel.shape, out.shape
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3 * rows), squeeze=False)
    for (i, j), ax in np.ndenumerate(axes):
        window = {(i + u, j + v): "C0" for u in range(kh) for v in range(kw)}
        draw_grid(ax, image, fill=window)
        ax.add_patch(Rectangle((j, i), kw, kh, facecolor="none", edgecolor="C0", linewidth=3))
        for (u, v), weight in np.ndenumerate(kernel):  # the weight on each pixel, small, in the corner
            ax.text(j + v + 0.95, i + u + 0.92, f"×{weight:g}", ha="right", va="bottom", fontsize=8, color="C0")
        left, top = image.shape[1] + 1.5, (image.shape[0] - rows) / 2  # the output grid, right of the image
        draw_grid(ax, out, left, top, fill={(i, j): "C1"})
        arrow = {"arrowstyle": "->", "color": "C1", "linewidth": 2}
        ax.annotate("", xy=(left, top + i + 0.5), xytext=(image.shape[1] + 0.1, i + kh / 2), arrowprops=arrow)
        ax.set_title(f"window at ({i}, {j}): sum of 9 products = {out[i, j]:g}")
        ax.set(xlim=(-0.1, left + columns + 0.1), ylim=(image.shape[0] + 0.1, -0.1), aspect="equal")
        ax.axis("off")
    return fig


# --8<-- [end:sliding-figure]


# --8<-- [start:receptive-field]
def receptive_field(kernel_sizes, strides):
    """Side, in input pixels, of the square that one unit at the top of a stack of windows sees.

    A layer with window k widens the field by k - 1 units of the layer below, and one such
    unit is as many input pixels apart from the next as the product of the strides before it.
    """
    if len(kernel_sizes) != len(strides):
        raise ValueError(f"one stride per kernel size, got {len(kernel_sizes)} sizes and {len(strides)} strides")
    size, spacing = 1, 1
    for k, s in zip(kernel_sizes, strides):
        size += (k - 1) * spacing
        spacing *= s
    return size


def influence(input_size, kernel_sizes, strides, unit):
    """The pixels of an input_size x input_size image that change output `unit` of the stack.

    Perturb each pixel in turn (all at once: image p of a batch has 1 at pixel p, 0 elsewhere),
    run conv2d layer by layer with all-ones kernels (positive, so nothing cancels), and see
    which images change the unit.
    """
    n = input_size * input_size
    x = np.eye(n).reshape(n, input_size, input_size, 1)
    for k, s in zip(kernel_sizes, strides):
        x = conv2d(x, np.ones((k, k, 1, 1)), stride=s)
    return x[:, unit[0], unit[1], 0].reshape(input_size, input_size) != 0


def draw_receptive_field(stacks):
    """One row per stack {name: (kernel_sizes, strides, layer names)}: every layer, the units that
    reach the centre unit at the top filled in, as the numerical check `influence` finds them."""
    fig, axes = plt.subplots(len(stacks), 1, figsize=(12, 3.4 * len(stacks)), squeeze=False)
    for ax, (title, (kernel_sizes, strides, names)) in zip(axes[:, 0], stacks.items()):
        for n in range(receptive_field(kernel_sizes, strides) + 2, 100):  # the field with a margin,
            sizes = [n]
            for k, s in zip(kernel_sizes, strides):
                sizes.append(output_length(sizes[-1], k, s, "valid")[0])
            if sizes[-1] % 2:  # and a top layer with a centre unit
                break
        centre, left = sizes[-1] // 2, 0
        for layer, size in enumerate(sizes):
            below = (kernel_sizes[layer:], strides[layer:])  # the layers between this one and the top
            if layer < len(sizes) - 1:
                seen = influence(size, *below, (centre, centre))
            else:  # the top layer: the unit itself
                seen = np.zeros((size, size), dtype=bool)
                seen[centre, centre] = True
            colour = "C1" if layer == len(sizes) - 1 else "C0"
            slot = max(size, 8)  # room for the labels
            fill = {tuple(cell): colour for cell in np.argwhere(seen)}
            draw_grid(ax, np.zeros((size, size)), left + (slot - size) / 2, 0, fill, numbers=False)
            label = f"{names[layer - 1]} → {size}x{size}" if layer else f"input {size}x{size}"
            ax.text(left + slot / 2, sizes[0] + 0.6, label, ha="center", va="top")
            side = int(np.sqrt(seen.sum()))
            ax.text(left + slot / 2, -0.4, "one unit" if side == 1 else f"{side}x{side} reach it", ha="center")
            left += slot + 2
        ax.set_title(title)
        ax.set(xlim=(-0.5, left - 1.5), ylim=(sizes[0] + 2, -1.5), aspect="equal")
        ax.axis("off")
    return fig


# --8<-- [end:receptive-field]


# --8<-- [start:exercise]
def conv2d_shape_and_params(input_shape, filters, kernel_size, stride=1, padding="valid"):
    """Output shape (h, w, filters) and parameter count of Conv2D(filters, kernel_size) on input_shape (h, w, c)."""
    if len(input_shape) != 3 or len(kernel_size) != 2:
        raise ValueError(f"expected input_shape (h, w, c) and kernel_size (kh, kw), got {input_shape}, {kernel_size}")
    if min(*input_shape, *kernel_size, filters, stride) < 1 or padding not in ("valid", "same"):
        raise ValueError("sizes, filters and stride must be positive and padding 'valid' or 'same'")
    (h, w, c), (kh, kw) = input_shape, kernel_size
    out_h, out_w = output_length(h, kh, stride, padding)[0], output_length(w, kw, stride, padding)[0]
    if out_h < 1 or out_w < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit in a {h}x{w} input with padding {padding!r}")
    params = (kh * kw * c + 1) * filters  # one weight per pixel of the window in every channel, plus a bias
    return (out_h, out_w, filters), params


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:notes]
    # slide the 3x3 filter over the 4x4 image: 2 x 2 positions, each a sum of 9 products
    result = np.array([[np.sum(IMAGE[i : i + 3, j : j + 3] * VERTICAL_EDGE) for j in range(2)] for i in range(2)])
    print(result)

    window = IMAGE[1:4, 1:4]  # the bottom-right 3x3 patch, which gives d
    print("window for d:\n", window)
    print("window * filter:\n", window * VERTICAL_EDGE)
    print("d = sum =", (window * VERTICAL_EDGE).sum())
    # --8<-- [end:notes]

    # --8<-- [start:sliding]
    draw_sliding_filter(IMAGE, VERTICAL_EDGE)
    plt.show()
    # --8<-- [end:sliding]

    # --8<-- [start:flip]
    print("cross-correlation (Keras):\n", correlate2d(IMAGE, VERTICAL_EDGE).astype(int))
    print("convolution (kernel flipped):\n", convolve2d(IMAGE, VERTICAL_EDGE).astype(int))
    print("flipped kernel:\n", np.flip(VERTICAL_EDGE))
    # --8<-- [end:flip]

    # --8<-- [start:padding]
    print("notes' example with padding='same':")
    print(correlate2d(IMAGE, VERTICAL_EDGE, padding="same").astype(int))

    print("\n  n  k  s  padding  out  zeros (before, after)")
    for k, s in [(3, 1), (5, 1), (3, 2), (5, 2)]:
        for padding in ("valid", "same"):
            out, before, after = output_length(28, k, s, padding)
            print(f" 28  {k}  {s}  {padding:7}  {out:3}  ({before}, {after})")
    # --8<-- [end:padding]

    # --8<-- [start:channels]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 5, 5, 3))  # one 5x5 image with 3 channels (say R, G, B)
    w = rng.normal(size=(3, 3, 3, 2))  # two 3x3 filters, each 3 channels deep
    b = np.array([0.5, -1.0])
    y = conv2d(x, w, b)
    print("input", x.shape, "kernels", w.shape, "-> output", y.shape)

    by_channel = sum(correlate2d(x[0, :, :, c], w[:, :, c, 0]) for c in range(3)) + b[0]
    print("output channel 0 == sum over input channels + bias:", np.allclose(y[0, :, :, 0], by_channel))
    # --8<-- [end:channels]

    # --8<-- [start:keras]
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    print("images           kernels        stride  padding  output           max |ours - Conv2D|, |ours - tf.nn|")
    for shape, kernel_shape, stride, padding in [
        ((2, 8, 8, 1), (3, 3, 1, 4), 1, "valid"),
        ((2, 8, 8, 1), (3, 3, 1, 4), 1, "same"),
        ((3, 9, 7, 3), (5, 4, 3, 2), 2, "same"),
        ((1, 28, 28, 16), (3, 3, 16, 8), 2, "valid"),
    ]:
        images = rng.uniform(-1, 1, size=shape).astype(np.float32)
        kernels = rng.uniform(-1, 1, size=kernel_shape).astype(np.float32)
        bias = rng.uniform(-1, 1, size=kernel_shape[3]).astype(np.float32)
        ours = conv2d(images, kernels, bias, stride, padding)

        layer = keras.layers.Conv2D(kernel_shape[3], kernel_shape[:2], strides=stride, padding=padding)
        layer.build(shape)
        layer.set_weights([kernels, bias])  # Keras stores kernels as (kh, kw, c_in, c_out), like ours
        by_keras = keras.ops.convert_to_numpy(layer(images))
        by_tf = tf.nn.conv2d(images, kernels, strides=stride, padding=padding.upper()).numpy() + bias
        agree = ", ".join("< 1e-5" if np.max(np.abs(ours - t)) < 1e-5 else "DIFFERENT" for t in (by_keras, by_tf))
        print(f"{str(shape):16} {str(kernel_shape):14} {stride:4}    {padding:7}  {str(ours.shape):16} {agree}")
    # --8<-- [end:keras]

    # --8<-- [start:params]
    layer = keras.layers.Conv2D(16, (5, 5), padding="same")  # the notes' convolution layer
    layer.build((None, 28, 28, 1))
    print("by hand: (5*5*1 + 1) * 16 =", (5 * 5 * 1 + 1) * 16)
    print("Keras count_params():      ", layer.count_params())
    print("output shape:", layer.compute_output_shape((None, 28, 28, 1)))
    outputs = 28 * 28 * 16  # the numbers in 16 feature maps of 28x28
    dense_params = 784 * outputs + outputs  # a weight per (pixel, output) pair, plus a bias per output
    print(f"a Dense layer from 784 pixels to 28*28*16 = {outputs:,} outputs: {dense_params:,} parameters")
    # --8<-- [end:params]

    # --8<-- [start:filters]
    import matplotlib.pyplot as plt

    from snippets.data import load_mnist

    data = load_mnist()
    print(data)
    digit = data.x_test[0] / 255.0  # the first test image, scaled to [0, 1]
    print("first test image, label", data.y_test[0], "shape", digit.shape)

    filters = {
        "vertical edge": VERTICAL_EDGE,
        "horizontal edge": VERTICAL_EDGE.T,
        "blur": np.ones((3, 3)) / 9,
        "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    }
    kernels = np.stack(list(filters.values()), axis=-1)[:, :, None, :]  # (3, 3, 1, 4): four filters at once
    responses = conv2d(digit[None, :, :, None], kernels, padding="same")[0]  # (28, 28, 4)

    fig, axes = plt.subplots(1, 5, figsize=(13, 3))
    axes[0].imshow(digit, cmap="gray_r")
    axes[0].set_title(f"input: a {data.y_test[0]}")
    for ax, name, response in zip(axes[1:], filters, np.moveaxis(responses, -1, 0)):
        if "edge" in name:  # signed responses: blue positive, red negative, white 0
            limit = np.abs(response).max()
            ax.imshow(response, cmap="RdBu", vmin=-limit, vmax=limit)
        else:
            ax.imshow(response, cmap="gray_r")
        ax.set_title(name)
    for ax in axes:
        ax.axis("off")
    plt.show()
    for name, response in zip(filters, np.moveaxis(responses, -1, 0)):
        print(f"{name:16} min {response.min():6.2f}  max {response.max():6.2f}")
    # --8<-- [end:filters]

    # --8<-- [start:receptive-field-use]
    stacks = {  # title: (kernel sizes, strides, layer names)
        "two 3x3 convolutions": ([3, 3], [1, 1], ["3x3 conv", "3x3 conv"]),
        "3x3 convolution, 2x2 convolution with stride 2, 3x3 convolution": (
            [3, 2, 3],
            [1, 2, 1],
            ["3x3 conv", "2x2 conv, stride 2", "3x3 conv"],
        ),
        "three 3x3 convolutions, the middle one with stride 2": ([3, 3, 3], [1, 2, 1], ["3x3 conv"] * 3),
    }
    print("stack                                                     formula  perturbing pixels")
    for title, (kernel_sizes, strides, _) in stacks.items():
        field = receptive_field(kernel_sizes, strides)
        seen = influence(field + 4, kernel_sizes, strides, unit=(1, 1))  # a unit away from the border
        rows, columns = np.nonzero(seen)
        found = f"{np.ptp(rows) + 1}x{np.ptp(columns) + 1}, {seen.sum()} pixels"
        print(f"{title:57} {field}x{field}      {found}")
    draw_receptive_field(stacks)
    plt.show()
    # --8<-- [end:receptive-field-use]

    # --8<-- [start:why]
    def moved_right(images, pixels):  # blank columns come in on the left
        return np.pad(images, [(0, 0), (0, 0), (pixels, 0), (0, 0)])[:, :, : images.shape[2]]

    x = digit[None, :, :, None]  # the 7 from above, (1, 28, 28, 1)
    edge = VERTICAL_EDGE[:, :, None, None]  # one 3x3 filter: 9 weights, used at all 784 positions
    print(f"one 3x3 filter: {edge.size} weights; a dense layer for the same 28x28 map: {784 * 784:,} weights")

    feature_map = conv2d(x, edge, padding="same")
    shift = 3
    map_of_moved = conv2d(moved_right(x, shift), edge, padding="same")
    equivariance_error = np.max(np.abs(map_of_moved - moved_right(feature_map, shift)))
    print(f"conv(image moved {shift} px) vs conv(image) moved {shift} px: largest difference {equivariance_error}")

    relu = np.maximum(feature_map, 0)  # what the next layer sees, as in a CNN
    relu_moved = np.maximum(conv2d(moved_right(x, 1), edge, padding="same"), 0)
    active = (relu > 0) | (relu_moved > 0)  # the cells with a response, before or after
    unchanged = np.mean(relu[active] == relu_moved[active])  # the share that keeps its value in the same cell
    print(f"moved 1 px: {unchanged:.0%} of the active cells of the 28x28 map keep their value")

    fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    limit = np.abs(feature_map).max()
    for ax, picture, title in zip(
        axes,
        (x, feature_map, moved_right(x, shift), map_of_moved),
        ("input", "vertical-edge map", f"input moved {shift} px right", "its map: moved the same"),
    ):
        if "map" in title:  # signed responses: blue positive, red negative, as above
            ax.imshow(picture[0, :, :, 0], cmap="RdBu", vmin=-limit, vmax=limit)
        else:
            ax.imshow(picture[0, :, :, 0], cmap="gray_r")
        ax.axvline(14 + (shift if "moved" in title else 0), color="C1", linewidth=1)  # a fixed mark on the digit
        ax.set_title(title)
        ax.axis("off")
    plt.show()
    # --8<-- [end:why]

    # --8<-- [start:pitfall]
    print("TensorFlow 'same', n=6, k=3, stride 2 -> (out, before, after):", output_length(6, 3, 2, "same"))
    print("TensorFlow 'same', n=28, k=5, stride 2 -> (out, before, after):", output_length(28, 5, 2, "same"))

    image = np.arange(1, 37, dtype=np.float32).reshape(1, 6, 6, 1)
    ones = np.ones((3, 3, 1, 1), dtype=np.float32)  # each output = sum of its 3x3 window
    by_tf = tf.nn.conv2d(image, ones, strides=2, padding="SAME").numpy()[0, :, :, 0]
    ours = conv2d(image, ones, stride=2, padding="same")[0, :, :, 0]
    symmetric = conv2d(np.pad(image, [(0, 0), (1, 1), (1, 1), (0, 0)]), ones, stride=2)[0, :, :, 0]
    print("tf.nn.conv2d 'SAME':\n", by_tf.astype(int))
    print("ours 'same':\n", ours.astype(int))
    print("one zero on every side (PyTorch's padding=1):\n", symmetric.astype(int))
    # --8<-- [end:pitfall]

    # --8<-- [start:errors]
    for bad_call in [
        lambda: conv2d(np.zeros((28, 28)), kernels),
        lambda: conv2d(np.zeros((1, 28, 28, 3)), kernels),
        lambda: conv2d(np.zeros((1, 28, 28, 1)), kernels, stride=0),
        lambda: conv2d(np.zeros((1, 28, 28, 1)), kernels, padding="full"),
        lambda: conv2d(np.zeros((1, 2, 2, 1)), kernels),
    ]:
        try:
            bad_call()
        except ValueError as error:
            print("ValueError:", error)
    # --8<-- [end:errors]

    # --8<-- [start:solution]
    shape, params = conv2d_shape_and_params((28, 28, 16), 32, (3, 3), padding="valid")
    print("valid:", shape, params)
    print("same: ", *conv2d_shape_and_params((28, 28, 16), 32, (3, 3), padding="same"))

    layer = keras.layers.Conv2D(32, (3, 3))
    layer.build((None, 28, 28, 16))
    print("Keras:", layer.compute_output_shape((None, 28, 28, 16)), layer.count_params())
    # --8<-- [end:solution]
