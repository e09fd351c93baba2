"""The NumPy convolution of docs/convolution.md agrees with Keras, TensorFlow, SciPy and the notes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from snippets import convolution as conv

RNG = np.random.default_rng(0)

# (images shape, kernels shape, stride): square and not, odd and even kernels, 1 to 4 channels.
CASES = [
    ((1, 4, 4, 1), (3, 3, 1, 1), 1),
    ((2, 8, 8, 1), (3, 3, 1, 4), 1),
    ((2, 8, 8, 1), (3, 3, 1, 4), 2),
    ((3, 9, 7, 3), (5, 3, 3, 2), 2),
    ((2, 10, 11, 2), (4, 4, 2, 3), 1),
    ((1, 12, 9, 4), (2, 5, 4, 2), 3),
    ((2, 7, 7, 3), (1, 1, 3, 5), 2),
    ((1, 28, 28, 16), (3, 3, 16, 8), 2),
    ((1, 6, 6, 1), (3, 3, 1, 1), 4),  # stride larger than the kernel
]


def uniform(shape):
    return RNG.uniform(-1, 1, size=shape).astype(np.float32)


def keras_conv2d(images, kernels, bias, stride, padding):
    layer = keras.layers.Conv2D(kernels.shape[3], kernels.shape[:2], strides=stride, padding=padding)
    layer.build(images.shape)
    layer.set_weights([kernels, bias])
    return keras.ops.convert_to_numpy(layer(images))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("shape, kernel_shape, stride", CASES, ids=str)
def test_conv2d_equals_keras_conv2d_and_tf_nn_conv2d(shape, kernel_shape, stride, padding):
    images, kernels, bias = uniform(shape), uniform(kernel_shape), uniform(kernel_shape[3])
    ours = conv.conv2d(images, kernels, bias, stride, padding)
    by_keras = keras_conv2d(images, kernels, bias, stride, padding)
    by_tf = tf.nn.conv2d(images, kernels, strides=stride, padding=padding.upper()).numpy() + bias
    assert ours.shape == by_keras.shape == by_tf.shape
    assert np.max(np.abs(ours - by_keras)) < 1e-5
    assert np.max(np.abs(ours - by_tf)) < 1e-5


def test_notes_example_gives_2_2_1_minus_4():
    # The notes' own products for d (section 3.3): they add up to -4, not the 4 of their grid.
    d = 0 * -1 + 3 * 0 + 1 * 1 + 2 * -2 + 2 * 0 + 0 * 2 + 2 * -1 + 2 * 0 + 1 * 1
    assert d == -4
    expected = np.array([[2, 2], [1, d]])  # a=2, c=2 / b=1, d, laid out as in the notes
    np.testing.assert_array_equal(conv.correlate2d(conv.IMAGE, conv.VERTICAL_EDGE), expected)
    np.testing.assert_array_equal(scipy.signal.correlate2d(conv.IMAGE, conv.VERTICAL_EDGE, mode="valid"), expected)
    image = conv.IMAGE[None, :, :, None].astype(np.float32)
    kernel = conv.VERTICAL_EDGE[:, :, None, None].astype(np.float32)
    by_keras = keras_conv2d(image, kernel, np.zeros(1, np.float32), 1, "valid")
    np.testing.assert_array_equal(by_keras[0, :, :, 0], expected)


def test_textbook_convolution_flips_the_kernel():
    np.testing.assert_array_equal(conv.convolve2d(conv.IMAGE, conv.VERTICAL_EDGE), [[-2, -2], [-1, 4]])
    for image_shape, kernel_shape in [((6, 7), (3, 3)), ((9, 5), (2, 4)), ((5, 5), (5, 1))]:
        image, kernel = RNG.normal(size=image_shape), RNG.normal(size=kernel_shape)
        np.testing.assert_allclose(
            conv.convolve2d(image, kernel), scipy.signal.convolve2d(image, kernel, mode="valid"), atol=1e-12
        )
        np.testing.assert_allclose(
            conv.correlate2d(image, kernel), scipy.signal.correlate2d(image, kernel, mode="valid"), atol=1e-12
        )


@pytest.mark.parametrize("kernel_shape", [(3, 3), (5, 5), (3, 5)])
def test_same_padding_with_odd_kernels_and_stride_1_centres_the_kernel(kernel_shape):
    image, kernel = RNG.normal(size=(7, 9)), RNG.normal(size=kernel_shape)
    same = conv.correlate2d(image, kernel, padding="same")
    assert same.shape == image.shape
    np.testing.assert_allclose(same, scipy.signal.correlate2d(image, kernel, mode="same"), atol=1e-12)


def test_output_channel_is_sum_over_input_channels_plus_bias():
    x, w, b = RNG.normal(size=(2, 6, 5, 3)), RNG.normal(size=(3, 2, 3, 4)), RNG.normal(size=4)
    y = conv.conv2d(x, w, b)
    for n in range(2):
        for o in range(4):
            by_channel = sum(scipy.signal.correlate2d(x[n, :, :, c], w[:, :, c, o], mode="valid") for c in range(3))
            np.testing.assert_allclose(y[n, :, :, o], by_channel + b[o], atol=1e-12)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 28])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_length_equals_keras_and_the_formula(n, k, stride, padding):
    out, before, after = conv.output_length(n, k, stride, padding)
    keras_out = keras.layers.Conv2D(1, (k, 1), strides=stride, padding=padding).compute_output_shape((None, n, 1, 1))
    assert out == keras_out[1]
    assert 0 <= before <= after <= before + 1  # the odd zero goes after: bottom or right
    assert out == (n + before + after - k) // stride + 1  # floor((n + 2p - k) / s) + 1, with 2p = before + after


def test_same_padding_with_stride_2_is_asymmetric_like_tensorflow():
    assert conv.output_length(6, 3, 2, "same") == (3, 0, 1)
    assert conv.output_length(28, 5, 2, "same") == (14, 1, 2)
    image = uniform((1, 6, 6, 1))
    kernel = uniform((3, 3, 1, 1))
    tf_same = tf.nn.conv2d(image, kernel, strides=2, padding="SAME").numpy()
    tf_bottom_right = tf.nn.conv2d(image, kernel, strides=2, padding=[[0, 0], [0, 1], [0, 1], [0, 0]]).numpy()
    tf_symmetric = tf.nn.conv2d(image, kernel, strides=2, padding=[[0, 0], [1, 1], [1, 1], [0, 0]]).numpy()
    np.testing.assert_allclose(tf_same, tf_bottom_right, atol=1e-6)
    assert np.max(np.abs(tf_same - tf_symmetric)) > 0.1  # same shape, different numbers: the pitfall
    np.testing.assert_allclose(conv.conv2d(image, kernel, stride=2, padding="same"), tf_same, atol=1e-5)


def test_notes_conv_layer_has_416_parameters():
    layer = keras.layers.Conv2D(16, (5, 5), padding="same")
    layer.build((None, 28, 28, 1))
    assert layer.count_params() == 416 == (5 * 5 * 1 + 1) * 16
    assert conv.conv2d_shape_and_params((28, 28, 1), 16, (5, 5), padding="same") == ((28, 28, 16), 416)
    assert layer.compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 16)


@pytest.mark.parametrize(
    "input_shape, filters, kernel_size, stride, padding",
    [
        ((28, 28, 16), 32, (3, 3), 1, "valid"),
        ((28, 28, 16), 32, (3, 3), 1, "same"),
        ((28, 28, 1), 16, (5, 5), 2, "same"),
        ((32, 24, 3), 8, (4, 2), 3, "valid"),
        ((7, 7, 64), 10, (1, 1), 1, "same"),
    ],
)
def test_exercise_shape_and_params_equal_keras(input_shape, filters, kernel_size, stride, padding):
    layer = keras.layers.Conv2D(filters, kernel_size, strides=stride, padding=padding)
    layer.build((None, *input_shape))
    expected = (layer.compute_output_shape((None, *input_shape))[1:], layer.count_params())
    assert conv.conv2d_shape_and_params(input_shape, filters, kernel_size, stride, padding) == expected


def test_exercise_answer():
    assert conv.conv2d_shape_and_params((28, 28, 16), 32, (3, 3)) == ((26, 26, 32), 4640)
    assert conv.conv2d_shape_and_params((28, 28, 16), 32, (3, 3), padding="same") == ((28, 28, 32), 4640)


def test_four_filters_at_once_equal_four_filters_one_at_a_time():
    digit = RNG.uniform(size=(28, 28))
    filters = [conv.VERTICAL_EDGE, conv.VERTICAL_EDGE.T, np.ones((3, 3)) / 9, RNG.normal(size=(3, 3))]
    together = conv.conv2d(digit[None, :, :, None], np.stack(filters, axis=-1)[:, :, None, :], padding="same")[0]
    for index, kernel in enumerate(filters):
        np.testing.assert_allclose(together[:, :, index], conv.correlate2d(digit, kernel, padding="same"), atol=1e-12)


def test_integers_work_and_results_are_float64():
    y = conv.conv2d(np.ones((1, 3, 3, 1), dtype=np.uint8), np.ones((3, 3, 1, 1), dtype=np.int64))
    assert y.dtype == np.float64 and y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 9.0


IMAGES, KERNELS = np.zeros((1, 8, 8, 3)), np.zeros((3, 3, 3, 2))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv.conv2d(np.zeros((8, 8)), KERNELS), "images must be 4-D"),
        (lambda: conv.conv2d(np.zeros((1, 8, 8, 3, 1)), KERNELS), "images must be 4-D"),
        (lambda: conv.conv2d(IMAGES, np.zeros((3, 3, 3))), "kernels must be 4-D"),
        (lambda: conv.conv2d(IMAGES, np.zeros((3, 3, 1, 2))), "images have 3 channels but kernels expect 1"),
        (lambda: conv.conv2d(IMAGES, KERNELS, bias=np.zeros(3)), r"bias must have shape \(2,\)"),
        (lambda: conv.conv2d(IMAGES, KERNELS, stride=0), "stride must be a positive integer"),
        (lambda: conv.conv2d(IMAGES, KERNELS, stride=-1), "stride must be a positive integer"),
        (lambda: conv.conv2d(IMAGES, KERNELS, stride=1.5), "stride must be a positive integer"),
        (lambda: conv.conv2d(IMAGES, KERNELS, stride=True), "stride must be a positive integer"),
        (lambda: conv.conv2d(IMAGES, KERNELS, padding="full"), "padding must be 'valid' or 'same'"),
        (lambda: conv.conv2d(IMAGES, KERNELS, padding="SAME"), "padding must be 'valid' or 'same'"),
        (lambda: conv.conv2d(np.zeros((1, 2, 8, 3)), KERNELS), "does not fit"),
        (lambda: conv.conv2d(np.full((1, 8, 8, 3), "a"), KERNELS), "images must hold real numbers"),
        (lambda: conv.conv2d(IMAGES, KERNELS.astype(complex)), "kernels must hold real numbers"),
        (lambda: conv.correlate2d(np.zeros(8), np.zeros((3, 3))), "expected a 2-D image and a 2-D kernel"),
        (lambda: conv.convolve2d(np.zeros((8, 8)), np.zeros((3, 3, 1))), "expected a 2-D image and a 2-D kernel"),
        (lambda: conv.conv2d_shape_and_params((28, 28), 32, (3, 3)), "expected input_shape"),
        (lambda: conv.conv2d_shape_and_params((28, 28, 1), 0, (3, 3)), "must be positive"),
        (lambda: conv.conv2d_shape_and_params((28, 28, 1), 8, (3, 3), stride=-2), "must be positive"),
        (lambda: conv.conv2d_shape_and_params((28, 28, 1), 8, (3, 3), padding="full"), "padding 'valid' or 'same'"),
        (lambda: conv.conv2d_shape_and_params((2, 28, 1), 8, (3, 3)), "does not fit"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def figure_texts(fig):
    return [[text.get_text() for text in ax.texts] for ax in fig.axes]


def test_sliding_filter_figure_shows_the_notes_numbers_and_conv2d_outputs():
    import matplotlib.pyplot as plt

    fig = conv.draw_sliding_filter(conv.IMAGE, conv.VERTICAL_EDGE)
    expected = conv.conv2d(conv.IMAGE[None, :, :, None], conv.VERTICAL_EDGE[:, :, None, None])[0, :, :, 0]
    try:
        assert len(fig.axes) == expected.size == 4
        for ax, ((i, j), value) in zip(fig.axes, np.ndenumerate(expected)):
            texts = [text.get_text() for text in ax.texts if text.get_text()]  # not the arrow's empty label
            assert texts[:16] == [f"{v:g}" for v in conv.IMAGE.ravel()]  # the image's numbers, row by row
            assert texts[16:25] == [f"×{w:g}" for w in conv.VERTICAL_EDGE.ravel()]  # the filter's weights
            assert texts[25:] == [f"{v:g}" for v in expected.ravel()]  # the output grid
            assert ax.get_title().endswith(f"= {value:g}")
            assert value == np.sum(conv.IMAGE[i : i + 3, j : j + 3] * conv.VERTICAL_EDGE)
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    "kernel_sizes, strides, expected",
    [([3], [1], 3), ([3, 3], [1, 1], 5), ([3, 2, 3], [1, 2, 1], 8), ([5, 2], [1, 2], 6), ([3, 3, 3], [2, 1, 2], 11)],
)
def test_receptive_field_equals_the_perturbed_pixels(kernel_sizes, strides, expected):
    field = conv.receptive_field(kernel_sizes, strides)
    assert field == expected
    seen = conv.influence(field + 6, kernel_sizes, strides, unit=(1, 1))
    rows, columns = np.nonzero(seen)
    assert seen.sum() == field * field  # a full square of that side
    assert np.ptp(rows) + 1 == np.ptp(columns) + 1 == field


def test_receptive_field_rejects_mismatched_lists():
    with pytest.raises(ValueError, match="one stride per kernel size"):
        conv.receptive_field([3, 3], [1])


def test_receptive_field_figure_fills_the_computed_squares():
    import matplotlib.pyplot as plt

    fig = conv.draw_receptive_field({"two 3x3": ([3, 3], [1, 1], ["conv", "conv"])})
    try:
        texts = figure_texts(fig)[0]
        assert "5x5 reach it" in texts and "3x3 reach it" in texts and "one unit" in texts
        filled = [p for p in fig.axes[0].patches if p.get_facecolor()[3] > 0]
        assert len(filled) == 25 + 9 + 1
    finally:
        plt.close(fig)


@pytest.mark.parametrize("shift", [1, 2, 3])
def test_convolution_is_translation_equivariant_on_a_digit(shift):
    from snippets.data import load_mnist

    digit = load_mnist().x_test[0] / 255.0
    assert not digit[:, -shift:].any()  # the blank right border: nothing leaves the image

    def moved(a):
        return np.pad(a, [(0, 0), (0, 0), (shift, 0), (0, 0)])[:, :, :28]

    x = digit[None, :, :, None]
    kernel = RNG.normal(size=(3, 3, 1, 2))
    np.testing.assert_allclose(
        conv.conv2d(moved(x), kernel, padding="same"), moved(conv.conv2d(x, kernel, padding="same")), atol=1e-12
    )
