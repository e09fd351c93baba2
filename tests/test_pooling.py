"""The NumPy pooling of docs/pooling.md agrees with Keras and with the notes."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from snippets import pooling as pool
from snippets.data import load_mnist

RNG = np.random.default_rng(0)
PAIRS = [(pool.max_pool2d, keras.layers.MaxPooling2D), (pool.avg_pool2d, keras.layers.AveragePooling2D)]
CASES = [  # (input shape, pool size, strides)
    ((2, 28, 28, 3), 2, None),
    ((1, 7, 7, 2), 2, None),  # odd size: 'valid' drops a row and a column, 'same' pads
    ((3, 9, 6, 1), 3, 2),  # overlapping windows
    ((1, 5, 8, 4), (2, 3), (1, 2)),
    ((2, 10, 11, 1), 2, 3),  # stride larger than the window: pixels skipped
    ((1, 6, 6, 2), (1, 4), 1),
    ((1, 3, 3, 1), 3, None),  # one window covers the whole map
    ((4, 1, 5, 2), (1, 2), None),
]


def keras_pool(layer, x, size, stride, padding):
    return keras.ops.convert_to_numpy(layer(size, strides=stride, padding=padding)(x))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("shape, size, stride", CASES, ids=str)
@pytest.mark.parametrize("ours, theirs", PAIRS, ids=["max", "avg"])
def test_numpy_equals_keras(ours, theirs, shape, size, stride, padding):
    x = RNG.normal(size=shape).astype(np.float32)
    expected = keras_pool(theirs, x, size, stride, padding)
    result = ours(x, size, stride, padding)
    assert result.shape == expected.shape
    assert np.max(np.abs(result - expected)) < 1e-6


@pytest.mark.parametrize(
    "n, k, s, padding",
    [
        (n, k, s, padding)
        for n, k, s, padding in itertools.product([1, 4, 7, 11, 28], [1, 2, 3], [1, 2, 3], ["valid", "same"])
        if padding == "same" or k <= n  # a window larger than the map is a ValueError, tested below
    ],
)
def test_output_length_equals_keras_output_shape(n, k, s, padding):
    layer = keras.layers.MaxPooling2D((k, 1), strides=(s, 1), padding=padding)
    assert pool.output_length(n, k, s, padding)[0] == layer.compute_output_shape((1, n, 1, 1))[1]


def test_the_notes_window_and_4x4_image():
    window = np.array([[1, 2], [7, 1]])[None, :, :, None]
    assert pool.max_pool2d(window).item() == 7
    assert pool.avg_pool2d(window).item() == 2.75
    image = np.array([[3, 0, 2, 2], [1, 0, 3, 1], [3, 2, 2, 0], [1, 2, 2, 1]])[
        None, :, :, None
    ]  # the notes' convolution example, section 3.3
    # by hand: max of [[3,0],[1,0]], [[2,2],[3,1]], [[3,2],[1,2]], [[2,0],[2,1]]
    np.testing.assert_array_equal(pool.max_pool2d(image)[0, :, :, 0], [[3, 3], [3, 2]])
    np.testing.assert_array_equal(pool.avg_pool2d(image)[0, :, :, 0], [[1, 2], [2, 1.25]])


def test_mnist_28x28_becomes_14x14_and_keeps_every_pixel_value_range():
    data = load_mnist()
    digits = data.x_test[:8, :, :, None]  # uint8 goes in as it is
    maxed, averaged = pool.max_pool2d(digits), pool.avg_pool2d(digits)
    assert maxed.shape == averaged.shape == (8, 14, 14, 1)
    assert maxed.dtype == np.float64
    np.testing.assert_array_equal(maxed, digits.reshape(8, 14, 2, 14, 2, 1).max(axis=(2, 4)))
    assert np.all(averaged <= maxed)
    assert np.isin(maxed, digits).all()  # max pooling only ever picks existing grey values


def test_the_notes_cnn_parameters_and_pooling_has_none():
    with_pooling, without = pool.notes_cnn(True), pool.notes_cnn(False)
    assert with_pooling.count_params() == 3_222_954  # the notes' model.summary()
    assert with_pooling.get_layer("max_pooling").count_params() == 0
    assert with_pooling.get_layer("flatten").output.shape == (None, 3136)
    assert without.get_layer("flatten").output.shape == (None, 4 * 3136)
    assert without.count_params() == 416 + (4 * 3136 * 1024 + 1024) + 10_250
    for layer in (keras.layers.MaxPooling2D(2), keras.layers.AveragePooling2D(2)):
        layer.build((None, 28, 28, 16))
        assert layer.count_params() == 0 and not layer.weights


def test_a_shift_inside_a_window_leaves_the_max_pooled_map_unchanged():
    feature = np.zeros((1, 4, 4, 1))
    feature[0, 1, 0, 0] = 9
    one = np.roll(feature, 1, axis=2)
    two = np.roll(feature, 2, axis=2)
    assert not np.array_equal(feature, one)
    np.testing.assert_array_equal(pool.max_pool2d(feature), pool.max_pool2d(one))  # tolerance
    assert not np.array_equal(pool.max_pool2d(one), pool.max_pool2d(two))  # across a window border: not


def test_shifted_digits_keep_more_of_their_max_pooled_map_than_of_their_pixels():
    images = load_mnist().x_test[:300, :, :, None] / 255
    moved = np.pad(images, [(0, 0), (0, 0), (1, 0), (0, 0)])[:, :, :28]

    def unchanged(before, after):
        ink = (before > 0) | (after > 0)
        return np.mean(before[ink] == after[ink])

    assert unchanged(pool.max_pool2d(images), pool.max_pool2d(moved)) > 1.5 * unchanged(images, moved)


def test_receptive_field_with_max_pooling_by_perturbation():
    from snippets import convolution as conv

    def stack(x):  # 3x3 conv, 2x2 max pooling, 3x3 conv: positive weights, so a bigger pixel always shows
        x = conv.conv2d(x, np.ones((3, 3, 1, 1)))
        return conv.conv2d(pool.max_pool2d(x), np.ones((3, 3, 1, 1)))[:, 1, 1, 0]

    base = np.random.default_rng(0).uniform(0, 1, size=(1, 14, 14, 1))
    perturbed = np.repeat(base, 14 * 14, axis=0) + 100 * np.eye(14 * 14).reshape(-1, 14, 14, 1)
    changed = (np.abs(stack(perturbed) - stack(base)) > 1e-6).reshape(14, 14)  # rounding aside
    assert changed.sum() == conv.receptive_field([3, 2, 3], [1, 2, 1]) ** 2 == 64


def test_same_padding_counts_only_real_pixels():
    ones = np.ones((1, 3, 5, 2))
    np.testing.assert_array_equal(pool.avg_pool2d(ones, padding="same"), np.ones((1, 2, 3, 2)))
    np.testing.assert_array_equal(pool.max_pool2d(-ones, padding="same"), -np.ones((1, 2, 3, 2)))
    expected = keras_pool(keras.layers.AveragePooling2D, ones.astype(np.float32), 2, None, "same")
    np.testing.assert_array_equal(expected, np.ones((1, 2, 3, 2)))


def test_valid_padding_drops_the_last_row_and_column_of_an_odd_map():
    x = np.zeros((1, 11, 11, 1))
    x[0, 10, :, 0] = x[0, :, 10, 0] = 100  # only the 11th row and column hold anything
    assert pool.max_pool2d(x).shape == (1, 5, 5, 1)  # the notes' Chollet convnet: 11x11 -> 5x5
    assert pool.max_pool2d(x).max() == 0
    assert pool.max_pool2d(x, padding="same").max() == 100


@pytest.mark.parametrize("shape", [(4, 7, 5, 3), (1, 1, 1, 1), (2, 28, 28, 16)])
def test_exercise_global_max_pool_equals_keras(shape):
    x = RNG.normal(size=shape).astype(np.float32)
    expected = keras.ops.convert_to_numpy(keras.layers.GlobalMaxPooling2D()(x))
    assert pool.global_max_pool2d(x).shape == (shape[0], shape[3])
    assert np.max(np.abs(pool.global_max_pool2d(x) - expected)) < 1e-6


def test_exercise_7x7_sizes():
    assert pool.max_pool2d(np.zeros((1, 7, 7, 1))).shape == (1, 3, 3, 1)
    assert pool.max_pool2d(np.zeros((1, 7, 7, 1)), padding="same").shape == (1, 4, 4, 1)


GOOD = np.zeros((1, 4, 4, 1))


@pytest.mark.parametrize("f", [pool.max_pool2d, pool.avg_pool2d, pool.global_max_pool2d])
@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((1, 4, 4)), np.zeros((1, 1, 4, 4, 1)), 3.0])
def test_wrong_rank_is_rejected(f, bad):
    with pytest.raises(ValueError, match=r"expected a 4-D array \(n, height, width, channels\)"):
        f(bad)


@pytest.mark.parametrize("f", [pool.max_pool2d, pool.avg_pool2d])
@pytest.mark.parametrize("bad", [np.array([["a"]] * 4).reshape(1, 2, 2, 1), np.full((1, 2, 2, 1), None)])
def test_non_numbers_are_rejected(f, bad):
    with pytest.raises(ValueError, match="expected real numbers"):
        f(bad)


@pytest.mark.parametrize("f", [pool.max_pool2d, pool.avg_pool2d])
@pytest.mark.parametrize("size", [0, -2, 1.5, True, (2,), (2, 2, 2), (2, 0), "2", None])
def test_bad_size_is_rejected(f, size):
    with pytest.raises(ValueError, match="size must be a positive integer or a pair of them"):
        f(GOOD, size=size)


@pytest.mark.parametrize("f", [pool.max_pool2d, pool.avg_pool2d])
@pytest.mark.parametrize("stride", [0, -1, 2.0, (1, -1)])
def test_bad_stride_is_rejected(f, stride):
    with pytest.raises(ValueError, match="stride must be a positive integer or a pair of them"):
        f(GOOD, stride=stride)


@pytest.mark.parametrize("f", [pool.max_pool2d, pool.avg_pool2d])
@pytest.mark.parametrize("padding", ["full", "VALID", "", None])
def test_unknown_padding_is_rejected(f, padding):
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        f(GOOD, padding=padding)


@pytest.mark.parametrize("f", [pool.max_pool2d, pool.avg_pool2d])
def test_a_window_larger_than_the_map_is_rejected_with_valid_padding(f):
    with pytest.raises(ValueError, match="a 5x5 window does not fit in a 4x4 map"):
        f(GOOD, size=5)
    assert f(GOOD, size=5, padding="same").shape == (1, 1, 1, 1)  # 'same' pads it to fit


def test_max_pooling_figure_shows_the_4x4_image_and_max_pool2d_outputs():
    import matplotlib.pyplot as plt

    image = np.array([[3, 0, 2, 2], [1, 0, 3, 1], [3, 2, 2, 0], [1, 2, 2, 1]])
    fig = pool.draw_max_pooling(image)
    try:
        texts = [text.get_text() for text in fig.axes[0].texts]
        pooled = pool.max_pool2d(image[None, :, :, None])[0, :, :, 0]
        for i, j in np.ndindex(*pooled.shape):  # per window: its four pixels, then its output cell
            window = image[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            start = 5 * (2 * i + j)
            assert texts[start : start + 4] == [f"{v:g}" for v in window.ravel()]
            assert texts[start + 4] == f"{pooled[i, j]:g}" == f"{window.max():g}"
        assert sorted(texts[:20]) == sorted([f"{v:g}" for v in image.ravel()] + [f"{v:g}" for v in pooled.ravel()])
    finally:
        plt.close(fig)


def test_moved_right_shifts_the_columns_and_brings_in_blank_ones():
    x = np.arange(2 * 784, dtype=float).reshape(2, 784) + 1
    moved = pool.moved_right(x, 3).reshape(2, 28, 28)
    assert (moved[:, :, :3] == 0).all()
    np.testing.assert_array_equal(moved[:, :, 3:], x.reshape(2, 28, 28)[:, :, :25])


def test_the_trained_cnn_tolerates_a_one_pixel_shift_and_not_four(model, mnist):
    """The page's trained-network table: unmoved digits keep every cell and the model's own
    accuracy; one pixel costs little; four pixels, beyond the 2x2 window, cost much more."""
    x, digits = mnist.x_test[:1000], mnist.digits_test[:1000]
    assert pool.shift_tolerance(model, x, digits, 0)[:2] == (1.0, 1.0)
    unmoved = pool.shift_tolerance(model, x, digits, 0)[2]
    assert unmoved == np.mean(model.predict(x, verbose=0).argmax(axis=1) == digits)
    conv_1, pooled_1, accuracy_1 = pool.shift_tolerance(model, x, digits, 1)
    accuracy_4 = pool.shift_tolerance(model, x, digits, 4)[2]
    assert 0 < conv_1 < 1 and 0 < pooled_1 < 1
    assert unmoved - accuracy_1 < 0.02 and accuracy_1 - accuracy_4 > 0.2
