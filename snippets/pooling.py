"""Max and average pooling, from scratch, beside Keras.

Page: docs/pooling.md. Tests: tests/test_pooling.py.
Run the page as a script: ``python -m snippets.pooling``.

Arrays are laid out as Keras lays them out, NHWC: ``(n, height, width, channels)``,
a batch of n maps of height x width pixels with one value per channel.
"""

# The argument checks come first: the next section, the one the page shows first, imports them from
# this module (a module may import its own names once they are defined), so that pasted code runs.
# --8<-- [start:checks]
import numpy as np


def as_nhwc(x):
    """x as a float64 array of shape (n, h, w, c), or a ValueError saying what was expected."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"expected real numbers, got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(
            f"expected a 4-D array (n, height, width, channels), got shape {x.shape}; "
            "one 2-D image `a` becomes a[None, :, :, None]"
        )
    return x.astype(np.float64)


def as_pair(value, name):
    """(rows, columns) from one positive integer or a pair of them: 2 means a 2x2 window."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive integer or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


def check_pool2d_args(x, size, stride, padding):
    """x as float64 (n, h, w, c), the window (kh, kw) and the stride (sh, sw, the window's if None),
    or a ValueError that says what was expected."""
    x = as_nhwc(x)
    window = as_pair(size, "size")
    stride = window if stride is None else as_pair(stride, "stride")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    (h, w), (kh, kw) = x.shape[1:3], window
    if output_length(h, kh, stride[0], padding)[0] < 1 or output_length(w, kw, stride[1], padding)[0] < 1:
        raise ValueError(f"a {kh}x{kw} window does not fit in a {h}x{w} map with padding {padding!r}")
    return x, window, stride


# --8<-- [end:checks]


# --8<-- [start:numpy]
import numpy as np

from snippets.pooling import check_pool2d_args  # the argument checks, shown at the end of the page


def output_length(n, k, stride, padding):
    """Pooled length of an axis of n pixels, window k, and the padding (before, after) it needs.

    'valid' uses whole windows only: out = floor((n - k) / stride) + 1, leftover pixels are dropped.
    'same' gives out = ceil(n / stride), padding just enough; an odd extra goes after (bottom, right).
    """
    if padding == "valid":
        return (n - k) // stride + 1, 0, 0
    out = -(-n // stride)  # ceil(n / stride)
    total = max((out - 1) * stride + k - n, 0)
    return out, total // 2, total - total // 2


def pool2d(x, size, stride, padding, fill, reduce):
    """Slide a window over each channel of x and reduce every window to one number.

    x (n, h, w, c); size and stride: int or (rows, columns), stride None = size (no overlap).
    The padding pixels hold `fill`, a value chosen so that `reduce` ignores them.
    Returns (n, out_h, out_w, c), float64.
    """
    x, (kh, kw), (sh, sw) = check_pool2d_args(x, size, stride, padding)  # float64, or a clear error
    n, h, w, c = x.shape
    out_h, top, bottom = output_length(h, kh, sh, padding)
    out_w, left, right = output_length(w, kw, sw, padding)
    x = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)], constant_values=fill)
    out = np.empty((n, out_h, out_w, c))
    for i in range(out_h):  # slide the window down ...
        for j in range(out_w):  # ... and across
            window = x[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]  # (n, kh, kw, c)
            out[:, i, j, :] = reduce(window, axis=(1, 2))  # one number per image and channel
    return out


def max_pool2d(x, size=2, stride=None, padding="valid"):
    """What keras.layers.MaxPooling2D computes: the largest value in each window.

    Padding is -inf, so a padded pixel can never be the maximum.
    """
    return pool2d(x, size, stride, padding, fill=-np.inf, reduce=np.max)


def avg_pool2d(x, size=2, stride=None, padding="valid"):
    """What keras.layers.AveragePooling2D computes: the mean of each window.

    With padding 'same' a border window is averaged over its real pixels only
    (sum / count of real pixels), as Keras does, not over the padding zeros too.
    """
    sums = pool2d(x, size, stride, padding, fill=0.0, reduce=np.sum)
    counts = pool2d(np.ones((1, *np.shape(x)[1:3], 1)), size, stride, padding, fill=0.0, reduce=np.sum)
    return sums / counts  # counts is size*size except at the borders of 'same'


# --8<-- [end:numpy]


# --8<-- [start:window-figure]
def draw_max_pooling(image, size=2):
    """A 2-D map with each size x size window in its own colour, its maximum circled, and the
    pooled map beside it, each output cell in the colour of the window it comes from."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Circle, Rectangle

    pooled = max_pool2d(np.asarray(image)[None, :, :, None], size)[0, :, :, 0]
    ink = plt.rcParams["text.color"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    left = image.shape[1] + 2  # the pooled map, right of the input
    for (i, j), value in np.ndenumerate(pooled):
        colour = f"C{(i * pooled.shape[1] + j) % 10}"
        window = image[i * size : (i + 1) * size, j * size : (j + 1) * size]
        for (a, b), pixel in np.ndenumerate(window):
            row, column = i * size + a, j * size + b
            ax.add_patch(Rectangle((column, row), 1, 1, facecolor=to_rgba(colour, 0.3), edgecolor=ink))
            ax.text(column + 0.5, row + 0.5, f"{pixel:g}", ha="center", va="center", fontsize=13)
        a, b = np.unravel_index(np.argmax(window), window.shape)  # the first maximum, as np.max finds it
        ax.add_patch(Circle((j * size + b + 0.5, i * size + a + 0.5), 0.35, fill=False, edgecolor=colour, lw=2))
        ax.add_patch(Rectangle((j * size, i * size), size, size, facecolor="none", edgecolor=colour, lw=3))
        top = (image.shape[0] - pooled.shape[0]) / 2
        ax.add_patch(Rectangle((left + j, top + i), 1, 1, facecolor=to_rgba(colour, 0.3), edgecolor=colour, lw=3))
        ax.text(left + j + 0.5, top + i + 0.5, f"{value:g}", ha="center", va="center", fontsize=13)
    ax.annotate(
        "",
        xy=(left - 0.2, image.shape[0] / 2),
        xytext=(image.shape[1] + 0.2, image.shape[0] / 2),
        arrowprops={"arrowstyle": "->", "color": ink, "linewidth": 2},
    )
    ax.text(image.shape[1] + 1, image.shape[0] / 2 - 0.3, "max", ha="center")
    ax.set_title(f"{size}x{size} max pooling: each window becomes its largest value")
    ax.set(xlim=(-0.1, left + pooled.shape[1] + 0.1), ylim=(image.shape[0] + 0.1, -0.1), aspect="equal")
    ax.axis("off")
    return fig


# --8<-- [end:window-figure]


# --8<-- [start:exercise]
def global_max_pool2d(x):
    """(n, h, w, c) -> (n, c): each channel's strongest response, wherever in the map it is."""
    x = as_nhwc(x)
    return max_pool2d(x, size=x.shape[1:3])[:, 0, 0, :]  # one window as large as the map


# --8<-- [end:exercise]


# --8<-- [start:notes-cnn]
def notes_cnn(pooling=True):
    """The CNN of the notes (section 4): conv 5x5x16, 2x2 max pooling, dense 1024, softmax 10.

    The notes' first layer reshapes 784 numbers to (28, 28, 1); here the input already
    has that shape, which changes no parameter count. pooling=False leaves the pooling out.
    """
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(16, (5, 5), padding="same", activation="relu", name="conv_filter"),
            *([keras.layers.MaxPooling2D((2, 2), name="max_pooling")] if pooling else []),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(1024, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="softmax"),
        ]
    )


# --8<-- [end:notes-cnn]


# --8<-- [start:trained-tolerance]
def moved_right(x, pixels):
    """(n, 784) rows of 28x28 digits, moved `pixels` columns right; blank columns enter on the left."""
    images = np.asarray(x).reshape(-1, 28, 28)
    return np.pad(images, [(0, 0), (0, 0), (pixels, 0)])[:, :, :28].reshape(-1, 784)


def shift_tolerance(cnn, x, digits, pixels, conv="conv_filter", pool="max_pooling"):
    """A trained CNN on digits moved right: the share of active cells of its convolution's maps,
    and of its pooled maps, that keep their value (to float32 rounding), and its accuracy."""
    import keras

    maps = keras.Model(cnn.inputs, [cnn.get_layer(conv).output, cnn.get_layer(pool).output])
    before, after = maps.predict(x, verbose=0), maps.predict(moved_right(x, pixels), verbose=0)
    kept = []
    for b, a in zip(before, after):  # the convolution's maps, then the pooled ones
        active = (b > 0) | (a > 0)  # cells with a response before or after the shift
        kept.append(np.mean(np.isclose(b[active], a[active], rtol=1e-5, atol=0)))
    accuracy = np.mean(cnn.predict(moved_right(x, pixels), verbose=0).argmax(axis=1) == digits)
    return kept[0], kept[1], accuracy


# --8<-- [end:trained-tolerance]


if __name__ == "__main__":
    # --8<-- [start:one-window]
    import numpy as np

    window = np.array([[1, 2], [7, 1]])  # the notes' example
    print("max pooling keeps    ", window.max())
    print("average pooling keeps", window.mean())
    # --8<-- [end:one-window]

    # --8<-- [start:by-hand]
    image = np.array(
        [[3, 0, 2, 2], [1, 0, 3, 1], [3, 2, 2, 0], [1, 2, 2, 1]]
    )  # the 4x4 image of the notes' convolution example
    pooled = np.zeros((2, 2), dtype=image.dtype)
    for i in range(2):
        for j in range(2):
            window = image[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]  # rows 2i, 2i+1; columns 2j, 2j+1
            pooled[i, j] = window.max()
            print(
                f"output ({i}, {j}): rows {2 * i}-{2 * i + 1}, columns {2 * j}-{2 * j + 1}",
                f"window {window.tolist()} -> max {pooled[i, j]}",
            )
    print("pooled 2x2 map:")
    print(pooled)
    # --8<-- [end:by-hand]

    # --8<-- [start:batch]
    import keras

    x = image[None, :, :, None]  # (1, 4, 4, 1): one map, one channel
    # --8<-- [end:batch]

    # --8<-- [start:numpy-use]
    print("max_pool2d:", max_pool2d(x)[0, :, :, 0].tolist())
    print("avg_pool2d:", avg_pool2d(x)[0, :, :, 0].tolist())
    # --8<-- [end:numpy-use]

    # --8<-- [start:keras-use]
    layer = keras.layers.MaxPooling2D(pool_size=2)  # strides default to pool_size, padding to "valid"
    out = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    print("MaxPooling2D:    ", out[0, :, :, 0].tolist())
    out = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(pool_size=2)(x.astype("float32")))
    print("AveragePooling2D:", out[0, :, :, 0].tolist())
    # --8<-- [end:keras-use]

    # --8<-- [start:window-figure-use]
    draw_max_pooling(image)  # the 4x4 image from above
    # --8<-- [end:window-figure-use]

    # --8<-- [start:check]
    rng = np.random.default_rng(0)
    print("input shape      size    stride  padding  largest |NumPy - Keras|: max, average")
    for shape, size, stride in [
        ((2, 28, 28, 3), 2, None),
        ((1, 7, 7, 2), 2, None),
        ((3, 9, 6, 1), 3, 2),
        ((1, 5, 8, 4), (2, 3), (1, 2)),
    ]:
        x = rng.normal(size=shape).astype("float32")
        for padding in ("valid", "same"):
            differences = []
            for ours, theirs in ((max_pool2d, keras.layers.MaxPooling2D), (avg_pool2d, keras.layers.AveragePooling2D)):
                expected = keras.ops.convert_to_numpy(theirs(size, strides=stride, padding=padding)(x))
                differences.append(np.max(np.abs(ours(x, size, stride, padding) - expected)))
            print(
                f"{str(shape):16} {str(size):7} {str(stride):7} {padding:8} {differences[0]:.1e}, {differences[1]:.1e}"
            )
    # --8<-- [end:check]

    # --8<-- [start:mnist]
    import matplotlib.pyplot as plt

    from snippets.data import load_mnist

    data = load_mnist()
    print(data)
    digit = data.x_test[0]  # the first test image, a 7
    x = digit[None, :, :, None]  # (1, 28, 28, 1)
    maxed, averaged = max_pool2d(x)[0, :, :, 0], avg_pool2d(x)[0, :, :, 0]
    print(
        "label",
        data.y_test[0],
        "| image",
        digit.shape,
        "-> max pooled",
        maxed.shape,
        "and average pooled",
        averaged.shape,
    )

    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, picture, title in zip(
        axes, (digit, maxed, averaged), ("original", "2x2 max pooling", "2x2 average pooling")
    ):
        ax.imshow(picture, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"{title} {picture.shape}")
    plt.show()
    # --8<-- [end:mnist]

    # --8<-- [start:params]
    total = {}  # the model's parameters, with and without pooling
    for pooling in (True, False):
        model = notes_cnn(pooling)
        total[pooling] = model.count_params()
        print("with 2x2 max pooling:" if pooling else "without pooling:")
        for layer in model.layers:
            print(f"  {layer.name:12} {str(layer.output.shape):20} {layer.count_params():>12,}")
        print(f"  {'total':33} {total[pooling]:>12,}")
    # --8<-- [end:params]

    # --8<-- [start:receptive-field]
    from snippets.convolution import conv2d, receptive_field

    def top_unit(x, pool):  # 3x3 convolution, `pool`, 3x3 convolution, all weights 1; one unit of the top map
        ones = np.ones((3, 3, 1, 1))
        return conv2d(pool(conv2d(x, ones)), ones)[:, 1, 1, 0]

    base = np.random.default_rng(0).uniform(0, 1, size=(1, 14, 14, 1))
    raised = base + 100 * np.eye(14 * 14).reshape(-1, 14, 14, 1)  # 196 images: image p has pixel p raised by 100
    seen, fields = {}, {}
    for name, pool, kernel_sizes, strides in (
        ("no pooling", lambda a: a, [3, 3], [1, 1]),
        ("2x2 max pooling", max_pool2d, [3, 2, 3], [1, 2, 1]),
    ):
        changed = np.abs(top_unit(raised, pool) - top_unit(base, pool)) > 1e-6  # rounding aside
        seen[name], fields[name] = int(changed.sum()), receptive_field(kernel_sizes, strides)
        print(f"{name:16} the unit sees {seen[name]} pixels; receptive_field: {fields[name]}x{fields[name]}")
    # --8<-- [end:receptive-field]

    # --8<-- [start:toy-shift]
    feature = np.zeros((1, 4, 4, 1))
    feature[0, 1, 0, 0] = 9  # one strong response, e.g. the end of a stroke
    for column in range(3):
        moved = np.roll(feature, column, axis=2)  # the same response, `column` pixels further right
        print(f"response in column {column} -> pooled map {max_pool2d(moved)[0, :, :, 0].tolist()}")
    # --8<-- [end:toy-shift]

    # --8<-- [start:shift]
    images = data.x_test[:1000, :, :, None] / 255  # (1000, 28, 28, 1), ink 0 to 1
    print(f"the first 1,000 test images of the {data.description}, moved right")
    print("pixels  map                    cells unchanged  cosine similarity")
    unchanged, similarity = {}, {}  # by (pixels moved, map)
    for pixels in (1, 2):
        moved = np.pad(images, [(0, 0), (0, 0), (pixels, 0), (0, 0)])[:, :, :28]  # blank column(s) enter
        for name, pool in (("image", lambda a: a), ("max pooled", max_pool2d), ("average pooled", avg_pool2d)):
            side = pool(images).shape[1]  # 28, or 14 after pooling
            before, after = pool(images).reshape(1000, -1), pool(moved).reshape(1000, -1)  # a row per image
            ink = (before > 0) | (after > 0)  # cells with ink before or after (blank ones are equal anyway)
            unchanged[pixels, name] = np.mean(before[ink] == after[ink])
            norms = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
            cosine = np.sum(before * after, axis=1) / norms  # 1: the same map; 0: no ink in common
            similarity[pixels, name] = np.mean(cosine)
            print(
                f"{pixels:6}  {f'{name} {side}x{side}':22} {unchanged[pixels, name]:15.0%}  "
                f"{similarity[pixels, name]:17.2f}"
            )
    # --8<-- [end:shift]

    # --8<-- [start:trained]
    from snippets.mnist_data import prepare_mnist
    from snippets.mnist_training import trained

    mnist = prepare_mnist()  # the MNIST chapter's data: a row of 784 pixels in [0, 1] per digit
    cnn = trained("notes_cnn", epochs=10).model  # the chapter's CNN: 5x5 convolution, 2x2 max pooling, dense
    x, digits = mnist.x_test[:1000], mnist.digits_test[:1000]
    print("pixels moved  conv maps unchanged  pooled maps unchanged  accuracy")
    tolerance = {}
    for pixels in (0, 1, 2, 3, 4):
        tolerance[pixels] = shift_tolerance(cnn, x, digits, pixels)
        conv_kept, pooled_kept, accuracy = tolerance[pixels]
        print(f"{pixels:12} {conv_kept:20.0%} {pooled_kept:22.0%} {accuracy:9.1%}")
    # --8<-- [end:trained]

    # --8<-- [start:pitfall]
    ones = np.ones((1, 3, 3, 1))
    pad = [(0, 0), (0, 1), (0, 1), (0, 0)]  # 'same' adds one row below and one column right of a 3x3 map
    print("3x3 of ones, 2x2 average pooling, padding='same'")
    print("  zeros averaged in:", avg_pool2d(np.pad(ones, pad))[0, :, :, 0].tolist())
    print("  avg_pool2d:       ", avg_pool2d(ones, padding="same")[0, :, :, 0].tolist())
    keras_out = keras.layers.AveragePooling2D(2, padding="same")(ones.astype("float32"))
    print("  Keras:            ", keras.ops.convert_to_numpy(keras_out)[0, :, :, 0].tolist())
    print("3x3 of minus ones, 2x2 max pooling, padding='same'")
    print("  zeros in the max: ", max_pool2d(np.pad(-ones, pad))[0, :, :, 0].tolist())
    print("  max_pool2d:       ", max_pool2d(-ones, padding="same")[0, :, :, 0].tolist())
    # --8<-- [end:pitfall]

    # --8<-- [start:errors]
    for bad_call in (
        lambda: max_pool2d(digit),  # 2-D: no batch or channel axis
        lambda: max_pool2d(x, size=0),
        lambda: avg_pool2d(x, stride=-1),
        lambda: max_pool2d(x, padding="full"),
        lambda: max_pool2d(x, size=30),
    ):
        try:
            bad_call()
        except ValueError as error:
            print("ValueError:", error)
    # --8<-- [end:errors]

    # --8<-- [start:solution]
    for padding in ("valid", "same"):
        length = output_length(7, 2, 2, padding)[0]
        shape = max_pool2d(np.zeros((1, 7, 7, 1)), padding=padding).shape
        print(f"7x7 map, 2x2 pooling, padding={padding!r}: output length {length}, output shape {shape}")

    maps = rng.normal(size=(4, 7, 5, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras.layers.GlobalMaxPooling2D()(maps))
    print(
        "global_max_pool2d:",
        global_max_pool2d(maps).shape,
        f"max |NumPy - Keras| {np.max(np.abs(global_max_pool2d(maps) - expected)):.1e}",
    )
    # --8<-- [end:solution]
