"""The first page, docs/deep_learning.md: its rules, shapes, None axis and training, against references."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from snippets import deep_learning as dl
from snippets.data import load_mnist
from snippets.mnist_data import prepare_mnist


@pytest.fixture(scope="module")
def data():
    return load_mnist("sample")


@pytest.fixture(scope="module")
def mnist(data):
    return prepare_mnist(data)


@pytest.fixture(scope="module")
def trained(mnist):
    """The page's model and training: the same seed, data and schedule."""
    model = dl.build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(mnist.x_train, mnist.digits_train, batch_size=32, epochs=3, verbose=0)
    return model, history.history


def test_pick_pair_keeps_only_the_two_digits_with_0_1_labels(data):
    images, t = dl.pick_pair(data.x_train, data.y_train, 1, 7)
    expected = [i for i, d in enumerate(data.y_train) if d in (1, 7)]
    np.testing.assert_array_equal(images, data.x_train[expected])
    np.testing.assert_array_equal(t, [int(data.y_train[i] == 7) for i in expected])


def test_hand_rule_matches_a_loop_over_rows_and_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28)).astype(np.uint8)
    images[::2, :10] = 0  # half the images have no ink at the top at all
    expected = []
    for image in images:
        widest = max(sum(1 for pixel in image[row] if pixel > 127) for row in range(10))
        expected.append(int(widest >= 8))
    np.testing.assert_array_equal(dl.hand_rule(images), expected)
    bar = np.zeros((1, 28, 28), np.uint8)
    bar[0, 3, 5:13] = 255  # a bar of exactly 8 pixels in row 3: a 7
    assert dl.hand_rule(bar)[0] == 1 and dl.hand_rule(bar[:, ::-1])[0] == 0  # upside down: the bar is at the bottom


def test_learned_rule_is_the_difference_of_the_class_means(data):
    images, t = dl.pick_pair(data.x_train, data.y_train, 1, 7)
    w, b = dl.learn_rule(images, t)
    x = images.reshape(len(images), 784).astype(np.float64) / 255
    sevens, ones = x[t == 1], x[t == 0]
    np.testing.assert_allclose(w, sevens.sum(0) / len(sevens) - ones.sum(0) / len(ones), atol=1e-12)
    assert b == pytest.approx(-((sevens @ w).mean() + (ones @ w).mean()) / 2)
    # the bias sits halfway: a score of 0 at the midpoint of the two average scores
    assert (sevens @ w + b).mean() == pytest.approx(-(ones @ w + b).mean())


def test_rule_accuracies_agree_with_an_independent_count(data):
    train, t = dl.pick_pair(data.x_train, data.y_train, 1, 7)
    test, test_t = dl.pick_pair(data.x_test, data.y_test, 1, 7)
    assert len(train) == np.sum((data.y_train == 1) | (data.y_train == 7))
    assert len(test) == np.sum(data.y_test == 1) + np.sum(data.y_test == 7)
    w, b = dl.learn_rule(train, t)
    for predicted in (dl.hand_rule(test), dl.learned_rule(test, w, b)):
        right = sum(
            int(p) == int(d == 7) for p, d in zip(predicted, data.y_test[(data.y_test == 1) | (data.y_test == 7)])
        )
        assert dl.accuracy(predicted, test_t) == pytest.approx(right / len(test))
    # what the page states: both rules are good on 1 or 7, and neither is perfect
    hand, learned = dl.accuracy(dl.hand_rule(test), test_t), dl.accuracy(dl.learned_rule(test, w, b), test_t)
    assert 0.9 < hand < 1 and 0.9 < learned < 1
    # the learned weights put ink of 7s (its bar, upper rows) positive and a 1's central stroke negative
    image = w.reshape(28, 28)
    assert image[5:10].max() > 0 and image[10:20, 10:16].min() < 0


def test_accuracy_counts_matches():
    assert dl.accuracy(np.array([1, 0, 1, 1]), np.array([1, 1, 1, 0])) == 0.5


def test_nearest_mean_accuracy_against_a_loop():
    rng = np.random.default_rng(1)
    train, digits = rng.normal(size=(200, 5)), np.repeat(np.arange(10), 20)
    train += digits[:, None]  # each digit's cloud around its own point
    test, test_digits = rng.normal(size=(50, 5)) + np.arange(50)[:, None] % 10, np.arange(50) % 10
    means = [train[digits == d].mean(0) for d in range(10)]
    expected = np.mean([np.argmin([np.sum((x - m) ** 2) for m in means]) == d for x, d in zip(test, test_digits)])
    assert dl.nearest_mean_accuracy(train, digits, test, test_digits) == pytest.approx(expected)


def test_shapes_the_page_prints_are_the_datas(data, mnist):
    assert data.x_train.shape == (5000, 28, 28) and data.y_train.shape == (5000,)
    assert [np.ndim(t) for t in (data.x_train[0, 14, 14], data.x_train[0, 14], data.x_train[0], data.x_train)] == [
        0,
        1,
        2,
        3,
    ]
    assert mnist.x_train.shape == (len(data.x_train), 28 * 28) and mnist.x_train[:32].shape == (32, 784)


def test_the_batch_axis_is_none_and_any_batch_size_works(mnist):
    model = dl.build_model()
    assert tuple(model.inputs[0].shape) == (None, 784)
    assert [tuple(layer.output.shape) for layer in model.layers] == [(None, 32), (None, 10)]
    assert [layer.count_params() for layer in model.layers] == [784 * 32 + 32, 32 * 10 + 10]
    for n in (1, 32, 777):
        assert model.predict(mnist.x_test[:n], verbose=0).shape == (n, 10)


def test_one_image_without_a_batch_axis_is_refused(mnist):
    model = dl.build_model()
    with pytest.raises(ValueError, match=r"Expected shape \(None, 784\), but input has incompatible shape \(32,\)"):
        model.predict(mnist.x_test[0], verbose=0)
    assert model.predict(mnist.x_test[0][None], verbose=0).shape == (1, 10)


def test_the_seed_fixes_the_starting_weights():
    for a, b in zip(dl.build_model().get_weights(), dl.build_model().get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_loss_falls_every_epoch_and_the_model_learns(trained, mnist):
    model, history = trained
    losses = history["loss"]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]
    # the loss Keras reports is the cross-entropy: recompute it for the trained model by hand
    p = model.predict(mnist.x_test, verbose=0).astype(np.float64)
    cross_entropy = -np.mean(np.log(np.clip(p[np.arange(len(p)), mnist.digits_test], 1e-7, 1)))
    test_loss, test_accuracy = model.evaluate(mnist.x_test, mnist.digits_test, verbose=0)
    assert test_loss == pytest.approx(cross_entropy, rel=1e-4)
    assert test_accuracy == pytest.approx(np.mean(p.argmax(1) == mnist.digits_test), abs=1e-6)
    assert test_accuracy > 0.8  # far above a guess (10%)


def test_the_hidden_representation_helps_a_nearest_mean_rule(trained, mnist):
    model, _ = trained
    hidden = keras.Model(model.inputs, model.get_layer("hidden").output)
    h_train, h_test = hidden.predict(mnist.x_train, verbose=0), hidden.predict(mnist.x_test, verbose=0)
    kernel, bias = model.get_layer("hidden").get_weights()
    np.testing.assert_allclose(h_test, np.maximum(mnist.x_test @ kernel + bias, 0), atol=1e-4)  # ReLU(xW + b)
    pixels = dl.nearest_mean_accuracy(mnist.x_train, mnist.digits_train, mnist.x_test, mnist.digits_test)
    assert dl.nearest_mean_accuracy(h_train, mnist.digits_train, h_test, mnist.digits_test) > pixels
