"""The neuron of docs/neuron.md: its error and gradient are right, and Keras learns the same line."""

from __future__ import annotations

import io
import re

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from matplotlib.patches import FancyArrowPatch

from snippets import neuron as nn

RNG = np.random.default_rng(0)
W0, B0 = np.array([1.0, -2.0]), 0.0  # the page's starting line
LEARNING_RATE, STEPS = 0.002, 500  # the page's schedule


def random_problem(n, d):
    X = RNG.normal(scale=2.0, size=(n, d))
    t = RNG.integers(0, 2, size=n).astype(float)
    return X, t, RNG.normal(size=d), float(RNG.normal())


@pytest.mark.parametrize("n, d", [(1, 1), (7, 2), (50, 2), (30, 5)])
def test_error_is_summed_binary_crossentropy_of_keras(n, d):
    X, t, w, b = random_problem(n, d)
    p = nn.predict_proba(X, w, b)
    mean = keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(t[:, None], p[:, None]))
    # Keras clips p to [1e-7, 1 - 1e-7] before log; these p stay far from the clip
    assert np.all((p > 1e-6) & (p < 1 - 1e-6))
    assert nn.error(X, t, w, b) == pytest.approx(np.sum(mean), rel=1e-9)


@pytest.mark.parametrize("n, d", [(5, 2), (40, 3)])
def test_error_is_minus_log_of_the_likelihood(n, d):
    X, t, w, b = random_problem(n, d)
    p = nn.predict_proba(X, w, b)
    likelihood = np.prod(np.where(t == 1, p, 1 - p))
    # 1 - p loses digits when p is close to 1, so the product is only good to ~1e-9
    assert nn.error(X, t, w, b) == pytest.approx(-np.log(likelihood), rel=1e-7)


def test_error_stays_finite_where_p_rounds_to_0_or_1():
    X = np.array([[40.0, 0.0], [-40.0, 0.0]])
    t = np.array([0.0, 1.0])  # confidently wrong about both: p rounds to 1 and to 0
    assert nn.error(X, t, [1.0, 0.0], 0.0) == pytest.approx(80.0)


@pytest.mark.parametrize("n, d", [(1, 1), (9, 2), (60, 4)])
def test_gradient_equals_gradient_tape_of_keras_loss(n, d):
    X, t, w, b = random_problem(n, d)
    kernel, bias = tf.Variable(w[:, None]), tf.Variable(np.array([b]))
    with tf.GradientTape() as tape:
        p = keras.activations.sigmoid(tf.constant(X) @ kernel + bias)
        total = n * tf.reduce_mean(keras.losses.binary_crossentropy(t[:, None], p))
    grad_kernel, grad_bias = tape.gradient(total, [kernel, bias])
    grad_w, grad_b = nn.gradient(X, t, w, b)
    np.testing.assert_allclose(grad_w, grad_kernel.numpy()[:, 0], rtol=1e-9, atol=1e-12)
    assert grad_b == pytest.approx(grad_bias.numpy()[0], rel=1e-9, abs=1e-12)


def test_gradient_equals_central_differences():
    X, t, w, b = random_problem(20, 2)
    h = 1e-6
    grad_w, grad_b = nn.gradient(X, t, w, b)
    for j in range(2):
        step = np.eye(2)[j] * h
        numerical = (nn.error(X, t, w + step, b) - nn.error(X, t, w - step, b)) / (2 * h)
        assert grad_w[j] == pytest.approx(numerical, rel=1e-6)
    assert grad_b == pytest.approx((nn.error(X, t, w, b + h) - nn.error(X, t, w, b - h)) / (2 * h), rel=1e-6)


def test_predict_proba_equals_a_dense_sigmoid_unit():
    X, _, w, b = random_problem(25, 2)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([w.reshape(2, 1), np.array([b])])
    np.testing.assert_allclose(nn.predict_proba(X, w, b), model.predict(X, verbose=0)[:, 0], atol=1e-6)
    assert np.array_equal(nn.predict_proba(X, w, b) > 0.5, nn.weighted_sum(X, w, b) > 0)


@pytest.mark.parametrize("d", [1, 2, 10])
def test_parameter_count_is_inputs_plus_one(d):
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, activation="sigmoid")])
    assert model.count_params() == d + 1  # d weights and 1 bias
    X, t = nn.make_clouds(5)
    assert nn.train_keras(X, t, W0, B0, 0.1, 0).count_params() == 3  # the page's neuron


def test_training_on_the_page_data_descends_and_converges():
    X, t = nn.make_clouds(100, seed=0)
    path = nn.train(X, t, W0, B0, LEARNING_RATE, STEPS)
    errors = [nn.error(X, t, w, b) for w, b in path]
    assert len(path) == STEPS + 1 and np.array_equal(path[0][0], W0)
    assert np.all(np.diff(errors) < 0)  # "E goes down at every step"
    assert nn.accuracy(X, t, *path[0]) < 0.6 and nn.accuracy(X, t, *path[-1]) > 0.9
    grad_w, grad_b = nn.gradient(X, t, *path[-1])
    assert np.max(np.abs(np.append(grad_w, grad_b))) < 0.1  # near the minimum: the gradient is ~0
    w, b = path[-1]
    assert w[0] > 0 and w[1] > 0  # the line runs from the upper left to the lower right


def test_make_clouds_is_reproducible_and_balanced():
    X, t = nn.make_clouds(100, seed=0)
    assert X.shape == (200, 2) and t.shape == (200,) and t.sum() == 100
    np.testing.assert_array_equal(X, nn.make_clouds(100, seed=0)[0])
    assert np.all(X[t == 1].mean(axis=0) > X[t == 0].mean(axis=0))  # infected: higher test values


@pytest.mark.parametrize("steps", [1, 20, 500])
def test_keras_float32_reaches_the_same_line(steps):
    X, t = nn.make_clouds(100, seed=0)
    w, b = nn.train(X, t, W0, B0, LEARNING_RATE, steps)[-1]
    kernel, bias = nn.train_keras(X, t, W0, B0, LEARNING_RATE, steps).get_weights()
    assert kernel.dtype == np.float32
    np.testing.assert_allclose(np.append(kernel[:, 0], bias), np.append(w, b), atol=1e-5)


@pytest.mark.parametrize("n, d, learning_rate, steps", [(200, 2, 0.002, 500), (50, 3, 0.01, 100)])
def test_keras_float64_reaches_the_same_line(float64_keras, n, d, learning_rate, steps):
    X, t, w0, b0 = random_problem(n, d)
    w, b = nn.train(X, t, w0, b0, learning_rate, steps)[-1]
    kernel, bias = nn.train_keras(X, t, w0, b0, learning_rate, steps).get_weights()
    assert kernel.dtype == np.float64
    np.testing.assert_allclose(np.append(kernel[:, 0], bias), np.append(w, b), rtol=1e-10, atol=1e-10)


def test_keras_fit_full_batch_without_shuffle_takes_the_same_steps():
    """What the page says: fit(batch_size=N, shuffle=False) = one train_on_batch per epoch."""
    X, t = nn.make_clouds(100, seed=0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([W0.reshape(2, 1), np.array([B0])])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE * len(X)), loss="binary_crossentropy")
    model.fit(X, t, batch_size=len(X), epochs=5, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    w, b = nn.train(X, t, W0, B0, LEARNING_RATE, 5)[-1]
    np.testing.assert_allclose(np.append(kernel[:, 0], bias), np.append(w, b), atol=1e-6)


def test_the_product_underflows_where_the_log_sum_does_not():
    X, t = nn.make_clouds(10000, seed=1)
    w, b = nn.train(*nn.make_clouds(100, seed=0), W0, B0, LEARNING_RATE, STEPS)[-1]
    p = nn.predict_proba(X, w, b)
    P_each = np.where(t == 1, p, 1 - p)
    assert np.prod(P_each) == 0.0
    assert np.isfinite(nn.error(X, t, w, b)) and nn.error(X, t, w, b) == pytest.approx(-np.sum(np.log(P_each)))
    # the page's remark: p = 0.5 for everyone underflows at 1,075 people, not before
    assert np.prod(np.full(1074, 0.5)) > 0.0 and np.prod(np.full(1075, 0.5)) == 0.0


def test_exercise_l2_zero_is_plain_training_and_larger_l2_shrinks_w():
    X, t = nn.make_clouds(100, seed=0)
    w, b = nn.train(X, t, W0, B0, LEARNING_RATE, STEPS)[-1]
    w_l2, b_l2 = nn.train_l2(X, t, W0, B0, LEARNING_RATE, STEPS, 0.0)
    np.testing.assert_allclose(np.append(w_l2, b_l2), np.append(w, b), rtol=1e-12)
    norms = [np.linalg.norm(nn.train_l2(X, t, W0, B0, LEARNING_RATE, STEPS, l2)[0]) for l2 in (0.0, 10.0, 100.0)]
    assert norms[0] > norms[1] > norms[2]


def test_exercise_l2_minimises_the_penalised_error():
    """At the end of training the gradient of E + l2/2 |w|^2 is ~0 (checked by central differences)."""
    X, t = nn.make_clouds(100, seed=0)
    l2, h = 10.0, 1e-5
    w, b = nn.train_l2(X, t, W0, B0, LEARNING_RATE, 2000, l2)

    def penalised(w, b):
        return nn.error(X, t, w, b) + l2 / 2 * np.sum(w**2)

    for j in range(2):
        step = np.eye(2)[j] * h
        assert abs(penalised(w + step, b) - penalised(w - step, b)) / (2 * h) < 1e-3


@pytest.mark.parametrize("l2", [1.0, 10.0])
def test_exercise_l2_equals_keras_kernel_regularizer(float64_keras, l2):
    X, t = nn.make_clouds(100, seed=0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(l2 / (2 * len(X)))),
        ]
    )
    model.set_weights([W0.reshape(2, 1), np.array([B0])])
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE * len(X)), loss="binary_crossentropy")
    for _ in range(100):
        model.train_on_batch(X, t)
    kernel, bias = model.get_weights()
    w, b = nn.train_l2(X, t, W0, B0, LEARNING_RATE, 100, l2)
    # ~1e-9, not 1e-15: Keras rounds the factor c to float32 before casting it to float64;
    # a wrong c (l2 / N, say) would be off by ~1e-1
    np.testing.assert_allclose(np.append(kernel[:, 0], bias), np.append(w, b), rtol=1e-7, atol=1e-9)


X_OK, T_OK = nn.make_clouds(3)


@pytest.mark.parametrize(
    "X, t, w, message",
    [
        (X_OK[:, 0], T_OK, W0, "X must be 2-D"),
        (X_OK[None], T_OK, W0, "X must be 2-D"),
        (X_OK, T_OK, np.ones(3), r"w must have one weight per input, shape \(2,\)"),
        (X_OK, T_OK[:-1], W0, r"t must hold one label per example, shape \(6,\)"),
        (X_OK, T_OK[:, None], W0, r"t must hold one label per example"),
        (X_OK, T_OK * 2, W0, "labels must be 0 or 1"),
        (X_OK, T_OK - 0.5, W0, "labels must be 0 or 1"),
        (X_OK.astype(str), T_OK, W0, "expected real numbers"),
    ],
    ids=["X-1d", "X-3d", "w-size", "t-short", "t-2d", "t-2", "t-half", "X-text"],
)
@pytest.mark.parametrize("use", ["error", "gradient", "train", "train_keras", "train_l2"])
def test_bad_data_gets_a_clear_error(use, X, t, w, message):
    calls = {
        "error": lambda: nn.error(X, t, w, 0.0),
        "gradient": lambda: nn.gradient(X, t, w, 0.0),
        "train": lambda: nn.train(X, t, w, 0.0, 0.1, 1),
        "train_keras": lambda: nn.train_keras(X, t, w, 0.0, 0.1, 1),
        "train_l2": lambda: nn.train_l2(X, t, w, 0.0, 0.1, 1, 1.0),
    }
    with pytest.raises(ValueError, match=message):
        calls[use]()


@pytest.mark.parametrize("train", [nn.train, nn.train_keras, lambda *a: nn.train_l2(*a, 1.0)])
@pytest.mark.parametrize(
    "learning_rate, steps, message",
    [
        (0.0, 1, "learning_rate must be > 0"),
        (-0.1, 1, "learning_rate must be > 0"),
        (float("nan"), 1, "learning_rate must be > 0"),
        (0.1, -1, "steps must be an integer >= 0"),
        (0.1, 2.5, "steps must be an integer >= 0"),
    ],
)
def test_bad_schedule_gets_a_clear_error(train, learning_rate, steps, message):
    with pytest.raises(ValueError, match=message):
        train(X_OK, T_OK, W0, 0.0, learning_rate, steps)


def test_bad_sizes_and_penalties_get_a_clear_error():
    with pytest.raises(ValueError, match="n_per_class must be a positive integer"):
        nn.make_clouds(0)
    with pytest.raises(ValueError, match="n_per_class must be a positive integer"):
        nn.make_clouds(2.5)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        nn.train_l2(X_OK, T_OK, W0, 0.0, 0.1, 1, -1.0)
    with pytest.raises(ValueError, match="X must be 2-D"):
        nn.predict_proba(X_OK[:, 0], W0, 0.0)


# ---------------------------------------------------------------- the figures


def test_the_neuron_figure_labels_every_input_weight_and_stage():
    fig = nn.draw_neuron()
    try:
        (ax,) = fig.axes
        texts = [text.get_text() for text in ax.texts]
        for i in ("1", "2", "n"):
            assert f"$x_{i}$" in texts and f"$w_{i}$" in texts
        for part in ("$b$", r"$\Sigma$", r"$\sigma$", "$f$", "$p$", r"$p = \sigma(f)$"):
            assert part in texts
        assert ax.get_title() == "One neuron: weighted sum, bias, activation"
        arrows = [patch for patch in ax.patches if isinstance(patch, FancyArrowPatch)]
        assert len(arrows) == 3 + 1 + 2  # three inputs, the bias, sum to activation, activation to output
        fig.savefig(io.StringIO(), format="svg")  # it draws
    finally:
        plt.close(fig)
    assert not plt.fignum_exists(fig.number)


@pytest.mark.parametrize("n_inputs, n_hidden", [(2, 2), (3, 4), (1, 1)])
def test_the_network_figure_labels_every_parameter_keras_counts(n_inputs, n_hidden):
    fig = nn.draw_network(n_inputs, n_hidden)
    try:
        (ax,) = fig.axes
        labels = [
            text.get_text() for text in ax.texts if re.fullmatch(r"\$(w_\{?\d+\}?|\+\\,b(_\d)?)\$", text.get_text())
        ]
        model = keras.Sequential([keras.Input((n_inputs,)), layers.Dense(n_hidden), layers.Dense(1)])
        assert len(labels) == len(set(labels)) == model.count_params()
        assert f"{model.count_params()} parameters" in ax.get_title()
        if (n_inputs, n_hidden) == (2, 2):  # the notes' names, as on the gradient descent page
            names = ["w_{11}", "w_{12}", "w_{21}", "w_{22}", r"+\,b_1", "w_1", r"+\,b_2", "w_2", r"+\,b"]
            assert labels == [f"${name}$" for name in names]
            assert ax.get_title() == "A 2-2-1 network: 9 parameters"
        fig.savefig(io.StringIO(), format="svg")
    finally:
        plt.close(fig)
    assert not plt.fignum_exists(fig.number)


@pytest.mark.parametrize("n_inputs, n_hidden", [(0, 2), (2, 10), (2.0, 2), (True, 2)])
def test_the_network_figure_rejects_sizes_it_cannot_label(n_inputs, n_hidden):
    with pytest.raises(ValueError, match="must be a whole number from 1 to 9"):
        nn.draw_network(n_inputs, n_hidden)
    assert not plt.get_fignums()  # nothing left open
