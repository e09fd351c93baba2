"""docs/mnist_data.md: MNIST scaled to [0, 1], one-hot labels, shuffled, shown."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from snippets.data import MnistData, load_mnist
from snippets.mnist_data import mean_digits, one_hot, prepare_mnist, scale_pixels, show_digits

matplotlib.use("Agg")
RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def data() -> MnistData:
    return load_mnist()


def tiny_mnist(source: str, n: int = 40) -> MnistData:
    """A made-up data set in load_mnist's layout, sorted by label like the sample."""
    digits = np.repeat(np.arange(10, dtype=np.uint8), n // 10)
    images = RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return MnistData(images, digits, images[:10], digits[:10], source, f"tiny {source}")


# ---------------------------------------------------------------- scale_pixels


@pytest.mark.parametrize("n", [0, 1, 7, 100])
def test_scale_pixels_gives_float32_rows_in_0_1_that_are_the_pixels_over_255(n):
    images = RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    scaled = scale_pixels(images)
    assert scaled.shape == (n, 784) and scaled.dtype == np.float32
    assert np.all((scaled >= 0) & (scaled <= 1))
    np.testing.assert_allclose(
        scaled.reshape(n, 28, 28) * 255, images, atol=1e-4
    )  # row-major: pixel (r, c) is column 28r + c


def test_scale_pixels_maps_0_and_255_exactly_to_0_and_1(data):
    extremes = np.zeros((1, 28, 28), np.uint8)
    extremes[0, 0, 1] = 255
    assert scale_pixels(extremes)[0, :2].tolist() == [0.0, 1.0]
    scaled = scale_pixels(data.x_test)
    assert (scaled.min(), scaled.max()) == (0.0, 1.0)


def test_scale_pixels_equals_the_notes_code(data):
    notes = data.x_train.reshape((len(data.x_train), 784)).astype("float32") / 255  # note 003, section 4
    np.testing.assert_array_equal(scale_pixels(data.x_train), notes)


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 28, 28), np.float32),  # already scaled
        np.zeros((2, 28, 28), np.int64),  # right values, wrong dtype
        np.zeros((28, 28), np.uint8),  # one image without the batch axis
        np.zeros((2, 784), np.uint8),  # already flat
        np.zeros((2, 28, 27), np.uint8),
    ],
    ids=["float32", "int64", "one image", "flat", "28x27"],
)
def test_scale_pixels_rejects_what_is_not_a_batch_of_uint8_images(images):
    with pytest.raises(ValueError, match=r"uint8 images of shape \(n, 28, 28\)"):
        scale_pixels(images)


# ---------------------------------------------------------------- one_hot


@pytest.mark.parametrize("n, classes", [(1, 10), (50, 10), (13, 3), (200, 25), (0, 10)])
def test_one_hot_equals_keras_to_categorical(n, classes):
    digits = RNG.integers(0, classes, size=n)
    ours = one_hot(digits, classes)
    theirs = keras.utils.to_categorical(digits, classes)
    assert ours.shape == theirs.shape == (n, classes)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_one_hot_rows_have_a_single_1_where_the_digit_is(mnist):
    assert np.all(mnist.y_train.sum(axis=1) == 1) and np.all(mnist.y_test.sum(axis=1) == 1)
    np.testing.assert_array_equal(mnist.y_train.argmax(axis=1), mnist.digits_train)  # the notes' np.argmax(label)
    np.testing.assert_array_equal(mnist.y_test, keras.utils.to_categorical(mnist.digits_test, 10))
    assert one_hot(np.array([5])).tolist() == [[0, 0, 0, 0, 0, 1, 0, 0, 0, 0]]  # the notes' train_labels[0]


@pytest.mark.parametrize(
    "digits, classes",
    [
        (np.array([0, 10]), 10),  # 10 is not a digit
        (np.array([-1, 3]), 10),
        (np.array([[1, 2]]), 10),  # 2-D
        (np.array([1.0, 2.0]), 10),  # floats, e.g. already one-hot or scaled
        (np.array([2]), 2),
        (np.array(["1"]), 10),
    ],
)
def test_one_hot_rejects_what_are_not_digits(digits, classes):
    with pytest.raises(ValueError, match="1-D array of integer digits"):
        one_hot(digits, classes)


@pytest.mark.parametrize("classes", [0, -3, 2.5, True])
def test_one_hot_rejects_a_class_count_that_is_not_a_positive_whole_number(classes):
    with pytest.raises(ValueError, match="classes must be a positive whole number"):
        one_hot(np.array([0]), classes)


# ---------------------------------------------------------------- prepare_mnist


def test_prepare_mnist_shapes_dtypes_and_ranges(mnist, data):
    n, m = len(data.x_train), len(data.x_test)
    assert (mnist.x_train.shape, mnist.y_train.shape, mnist.digits_train.shape) == ((n, 784), (n, 10), (n,))
    assert (mnist.x_test.shape, mnist.y_test.shape, mnist.digits_test.shape) == ((m, 784), (m, 10), (m,))
    for x in (mnist.x_train, mnist.x_test):
        assert x.dtype == np.float32 and x.min() == 0 and x.max() == 1


def test_prepare_mnist_keeps_the_test_set_in_its_order(mnist, data):
    np.testing.assert_array_equal(mnist.digits_test, data.y_test)
    np.testing.assert_array_equal(mnist.x_test, scale_pixels(data.x_test))


def test_the_shuffled_training_set_is_the_same_images_with_their_labels(mnist, data):
    as_stored = {(image.tobytes(), digit) for image, digit in zip(scale_pixels(data.x_train), data.y_train)}
    shuffled = {(image.tobytes(), digit) for image, digit in zip(mnist.x_train, mnist.digits_train)}
    assert shuffled == as_stored  # every image kept its own label
    assert not np.array_equal(mnist.digits_train, data.y_train)


def test_the_description_says_which_data_how_many_images_and_the_shuffle(mnist, data):
    assert mnist.description == f"{data}, training images shuffled (seed 0)"
    assert str(mnist) == mnist.description
    assert "5,000 training + 10,000 test images" in str(mnist)
    assert str(prepare_mnist(data, seed=3)).endswith("(seed 3)")


def test_the_shuffle_puts_several_digits_among_the_first_ten_and_all_in_the_last_tenth(mnist, data):
    assert len(set(data.y_train[:10])) == 1  # as stored: ten 0s
    assert len(set(mnist.digits_train[:10].tolist())) >= 5
    held_out = np.bincount(mnist.digits_train[-len(mnist.digits_train) // 10 :], minlength=10)
    assert held_out.min() >= 25  # validation_split=0.1 sees every digit, roughly equally (50 each on average)


def test_the_shuffle_is_fixed_by_the_seed(data):
    again, other = prepare_mnist(data, seed=0), prepare_mnist(data, seed=1)
    np.testing.assert_array_equal(again.digits_train, prepare_mnist(data).digits_train)
    assert not np.array_equal(again.digits_train, other.digits_train)


def test_full_mnist_keeps_its_own_order():
    full = tiny_mnist("full")
    prepared = prepare_mnist(full)
    np.testing.assert_array_equal(prepared.digits_train, full.y_train)
    np.testing.assert_array_equal(prepared.x_train, scale_pixels(full.x_train))
    assert prepared.description == str(full)  # no shuffle to report


# ---------------------------------------------------------------- show_digits and mean_digits


def test_show_digits_draws_the_first_ten_titled_with_their_digits(mnist):
    import matplotlib.pyplot as plt

    fig = show_digits(mnist.x_train, mnist.digits_train)
    try:
        assert len(fig.axes) == 10
        assert [ax.get_title() for ax in fig.axes] == [str(d) for d in mnist.digits_train[:10]]
        np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), mnist.x_train[3].reshape(28, 28))
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    "images, digits, rows, cols",
    [
        (np.zeros((10, 28, 28)), range(10), 2, 5),  # not flattened
        (np.zeros((9, 784)), range(9), 2, 5),  # too few images
        (np.zeros((10, 784)), range(3), 2, 5),  # too few titles
        (np.zeros((10, 784)), range(10), 0, 5),
    ],
)
def test_show_digits_rejects_bad_input(images, digits, rows, cols):
    with pytest.raises(ValueError):
        show_digits(images, digits, rows, cols)


def test_mean_digits_is_the_average_image_of_each_digit(mnist):
    means = mean_digits(mnist.x_train, mnist.digits_train)
    assert means.shape == (10, 784)
    for digit in (0, 1, 7):
        np.testing.assert_allclose(means[digit], mnist.x_train[mnist.digits_train == digit].mean(axis=0), atol=1e-5)
    ink = means.sum(axis=1)
    assert ink.argmin() == 1 and ink.argmax() == 0  # the page's remark: a 1 has the least ink, a 0 the most
    nearest = np.argmin(((mnist.x_test[:2000, None, :] - means) ** 2).sum(axis=2), axis=1)
    assert 0.75 < np.mean(nearest == mnist.digits_test[:2000]) < 0.9  # "right about four times in five"


@pytest.mark.parametrize(
    "images, digits",
    [
        (np.zeros((4, 784)), np.array([0, 1, 2])),  # lengths differ
        (np.zeros((4, 28, 28)), np.array([0, 1, 2, 3])),  # not flat
        (np.zeros((3, 784)), np.array([0, 1, 2])),  # digits 3..9 missing
    ],
)
def test_mean_digits_rejects_bad_input(images, digits):
    with pytest.raises(ValueError):
        mean_digits(images, digits)
