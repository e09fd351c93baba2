"""Looking inside the trained notes' CNN: intermediate outputs, the NumPy cross-check,
the selection of misclassified images, the figures and the confusion matrix."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import tensorflow as tf

from snippets.mnist_inside import (
    confusion_counts,
    conv_relu_pool,
    intermediate_model,
    misclassified,
    show_feature_maps,
    show_filters,
    show_predictions,
)


@pytest.fixture(scope="module")
def inner(model, mnist):
    conv_output, pool_output = intermediate_model(model).predict(mnist.x_test[:9], verbose=0)
    return conv_output, pool_output


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_intermediate_outputs_have_the_notes_shapes(inner, model, mnist):
    conv_output, pool_output = inner
    assert conv_output.shape == (9, 28, 28, 16)
    assert pool_output.shape == (9, 14, 14, 16)
    assert conv_output.min() >= 0  # after ReLU
    # the second model shares the first one's weights: its prediction path is unchanged
    probabilities = intermediate_model(model, ("softmax",)).predict(mnist.x_test[:9], verbose=0)
    assert np.allclose(probabilities, model.predict(mnist.x_test[:9], verbose=0), atol=1e-6)


def test_numpy_convolution_relu_and_pooling_match_the_trained_model(inner, model, mnist):
    kernels, bias = model.get_layer("conv_filter").get_weights()
    conv, pooled = conv_relu_pool(mnist.x_test[:9], kernels, bias)
    conv_output, pool_output = inner
    assert np.allclose(conv, conv_output, atol=1e-5)
    assert np.allclose(pooled, pool_output, atol=1e-5)


@pytest.mark.parametrize("n, filters", [(1, 1), (3, 4), (5, 16)])
def test_numpy_matches_keras_layers_on_random_weights(n, filters):
    rng = np.random.default_rng(filters)
    images = rng.uniform(0, 1, size=(n, 784)).astype(np.float32)
    kernels = rng.normal(0, 0.3, size=(5, 5, 1, filters)).astype(np.float32)
    bias = rng.normal(0, 0.3, size=filters).astype(np.float32)
    conv_layer = keras.layers.Conv2D(filters, (5, 5), padding="same", activation="relu")
    model = keras.Sequential(
        [keras.Input(shape=(784,)), keras.layers.Reshape((28, 28, 1)), conv_layer, keras.layers.MaxPooling2D((2, 2))]
    )
    conv_layer.set_weights([kernels, bias])
    conv, pooled = conv_relu_pool(images, kernels, bias)
    assert np.allclose(conv, keras.ops.convert_to_numpy(conv_layer(images.reshape(n, 28, 28, 1))), atol=1e-5)
    assert np.allclose(pooled, model.predict(images, verbose=0), atol=1e-5)


def test_bad_input_is_rejected(model):
    kernels = np.zeros((5, 5, 1, 2))
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        conv_relu_pool(np.zeros((2, 28, 28)), kernels, np.zeros(2))
    with pytest.raises(ValueError, match="at least one layer"):
        intermediate_model(model, ())
    with pytest.raises(ValueError):
        intermediate_model(model, ("no_such_layer",))
    with pytest.raises(ValueError, match="do not fill"):
        show_filters(np.zeros((5, 5, 1, 16)), rows=3)
    with pytest.raises(ValueError, match="height, width, 1, filters"):
        show_filters(np.zeros((5, 5, 16)))
    with pytest.raises(ValueError, match="maps"):
        show_feature_maps(kernels, np.zeros((3, 784)), [0, 1, 2], np.zeros((3, 28, 28, 4)))
    with pytest.raises(ValueError, match="at least one index"):
        show_predictions(np.zeros((3, 784)), np.zeros((3, 10)), np.zeros(3, int), [])


def notes_loop(probabilities, digits, count):
    """Note 003's selection, one image at a time: skip the correct ones, stop after `count`."""
    found = []
    for index, (p, digit) in enumerate(zip(probabilities, digits)):
        if np.argmax(p) == digit:
            continue
        found.append(index)
        if len(found) == count:
            break
    return found


def test_misclassified_picks_the_first_mistakes_in_order():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=300)
    digits = probabilities.argmax(axis=1)
    wrong = rng.choice(300, size=40, replace=False)
    digits[wrong] = (digits[wrong] + rng.integers(1, 10, size=40)) % 10  # make 40 of them wrong
    assert list(misclassified(probabilities, digits)) == notes_loop(probabilities, digits, 10)
    assert list(misclassified(probabilities, digits, count=None)) == sorted(wrong)
    assert len(misclassified(probabilities, digits, count=0)) == 0
    with pytest.raises(ValueError, match="count"):
        misclassified(probabilities, digits, count=-1)
    with pytest.raises(ValueError, match="probabilities"):
        misclassified(probabilities, digits[:-1])


def test_misclassified_test_images_of_the_trained_model(model, notes_cnn, mnist):
    probabilities = model.predict(mnist.x_test, batch_size=1000, verbose=0)
    predicted = probabilities.argmax(axis=1)
    first = misclassified(probabilities, mnist.digits_test)
    assert len(first) == 10 and np.all(np.diff(first) > 0)
    assert np.all(predicted[first] != mnist.digits_test[first])
    assert np.all(
        predicted[: first[-1] + 1][np.isin(np.arange(first[-1] + 1), first, invert=True)]
        == mnist.digits_test[: first[-1] + 1][np.isin(np.arange(first[-1] + 1), first, invert=True)]
    )
    everything = misclassified(probabilities, mnist.digits_test, count=None)
    assert len(everything) == round((1 - notes_cnn.test_accuracy) * len(mnist.x_test))


def test_figures_have_one_panel_per_picture(model, inner, mnist):
    kernels, _ = model.get_layer("conv_filter").get_weights()
    assert len(show_filters(kernels).axes) == 16 + 1  # 16 filters and the colour bar
    assert len(show_filters(kernels, rows=4).axes) == 16 + 1
    digits = mnist.digits_test[:9]
    for maps in inner:
        fig = show_feature_maps(kernels, mnist.x_test[:9], digits, maps)
        assert len(fig.axes) == 16 + 9 + 16 * 9  # filters, images, one map per filter and image
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == [str(d) for d in digits]
        assert sum(len(ax.images) for ax in fig.axes) == 16 + 9 + 16 * 9  # every map is drawn
    probabilities = model.predict(mnist.x_test[:500], verbose=0)
    indices = misclassified(probabilities, mnist.digits_test[:500], count=3)
    fig = show_predictions(mnist.x_test, probabilities, mnist.digits_test, indices)
    assert len(fig.axes) == 2 * len(indices)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"{probabilities[i].argmax()} / {mnist.digits_test[i]}" for i in indices]


def test_confusion_counts_match_tensorflow():
    rng = np.random.default_rng(1)
    for n in (0, 1, 500):
        digits, predicted = rng.integers(0, 10, n), rng.integers(0, 10, n)
        expected = tf.math.confusion_matrix(digits, predicted, num_classes=10).numpy()
        counts = confusion_counts(predicted, digits)
        assert np.array_equal(counts, expected) and counts.sum() == n
    with pytest.raises(ValueError, match="same length"):
        confusion_counts(np.zeros(3, int), np.zeros(4, int))
    with pytest.raises(ValueError, match=r"0\.\.9"):
        confusion_counts(np.array([10]), np.array([1]))
