"""Loss, gradient descent and SGD of docs/gradient_descent.md, against TensorFlow and Keras."""

from __future__ import annotations

import io
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.artist import Artist
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Annotation

from snippets import gradient_descent as gd
from snippets.neuron import error as neuron_error

RNG = np.random.default_rng(0)


def central_differences(loss, params, h=1e-6):
    """(loss(theta + h) - loss(theta - h)) / 2h for every number in a dict of parameters, one at a time."""
    params = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    grads = {}
    for name, value in params.items():
        grads[name] = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += h
            down[index] -= h
            grads[name][index] = (loss({**params, name: up}) - loss({**params, name: down})) / (2 * h)
    return grads


def relative_difference(grads, reference):
    """|grads - reference| / |reference|, all parameters flattened into one vector."""
    a = np.concatenate([np.ravel(grads[name]) for name in sorted(reference)])
    b = np.concatenate([np.ravel(reference[name]) for name in sorted(reference)])
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# ---------------------------------------------------------------- the loss


@pytest.mark.parametrize("n", [1, 7, 300])
def test_binary_cross_entropy_equals_tensorflow_and_the_formula(n):
    logits = RNG.normal(scale=4.0, size=n)
    y = (RNG.random(n) < 0.5).astype(np.float64)
    expected = np.mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits).numpy())
    np.testing.assert_allclose(gd.binary_cross_entropy(y, logits), expected, rtol=1e-13)
    p = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(
        gd.binary_cross_entropy(y, logits), -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-10
    )
    keras_mean = keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64")(y, logits)
    np.testing.assert_allclose(gd.binary_cross_entropy(y, logits), float(keras_mean), rtol=1e-12)


def test_binary_cross_entropy_of_huge_logits_is_exact_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = gd.binary_cross_entropy(np.array([1.0, 0.0, 1.0]), np.array([-1000.0, 1000.0, 1000.0]))
    assert loss == pytest.approx((1000 + 1000 + 0) / 3)


def test_the_loss_is_minus_log_of_the_likelihood_over_n():
    X, y = gd.make_test_results(50, seed=3)
    params = {"w": np.array([0.7, 0.4]), "b": -5.0}
    p = 1 / (1 + np.exp(-(X @ params["w"] + params["b"])))
    likelihood = np.prod(np.where(y == 1, p, 1 - p))
    assert likelihood > 0  # 50 people: the product still fits in a float64
    np.testing.assert_allclose(gd.neuron_loss(params, X, y), -np.log(likelihood) / len(y), rtol=1e-10)


def test_the_likelihood_of_2000_people_underflows_but_the_loss_does_not():
    X, y = gd.make_test_results(2000)
    assert np.prod(np.full(len(y), 0.5)) == 0.0
    start = {"w": np.zeros(2), "b": 0.0}
    assert gd.neuron_loss(start, X, y) * len(y) == pytest.approx(2000 * np.log(2))


def test_neuron_gradients_equal_gradient_tape_and_central_differences():
    X, y = gd.make_test_results(300, seed=1)
    params = {"w": np.array([0.3, -0.2]), "b": 0.5}
    w, b = tf.Variable(params["w"]), tf.Variable(params["b"], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.linalg.matvec(X, w) + b))
    dw, db = tape.gradient(loss, [w, b])
    ours = gd.neuron_gradients(params, X, y)
    np.testing.assert_allclose(ours["w"], dw.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours["b"], db.numpy(), rtol=1e-10)
    numerical = central_differences(lambda q: gd.neuron_loss(q, X, y), params)
    assert relative_difference(ours, numerical) < 1e-6


# ---------------------------------------------------------------- gradient descent in 1-D


def test_two_valleys_slope_is_its_derivative_and_the_minima_are_where_the_page_says():
    x = np.linspace(-2, 2, 41)
    h = 1e-6
    numerical = (gd.two_valleys(x + h) - gd.two_valleys(x - h)) / (2 * h)
    np.testing.assert_allclose(gd.two_valleys_slope(x), numerical, rtol=1e-6, atol=1e-6)
    deep, hump, shallow = np.sort(np.roots([4, 0, -6, 1]).real)
    assert (deep, hump, shallow) == pytest.approx((-1.3008, 0.1699, 1.1309), abs=1e-4)
    assert gd.two_valleys(deep) < gd.two_valleys(shallow) < gd.two_valleys(hump)


@pytest.mark.parametrize("rate", [0.01, 0.3, 0.7, 0.95, 1.05])
def test_on_a_parabola_every_step_multiplies_the_distance_by_one_minus_rate_times_curvature(rate):
    curvature, minimum, x0 = 2.0, 1.5, -3.0  # f(x) = (x - 1.5)^2, f'(x) = 2 (x - 1.5)
    path = gd.gradient_descent(lambda x: curvature * (x - minimum), x0, rate, steps=25)
    expected = minimum + (1 - rate * curvature) ** np.arange(26) * (x0 - minimum)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "x0, valley", [(-2.0, "deep"), (0.0, "deep"), (0.16, "deep"), (0.18, "shallow"), (0.3, "shallow"), (1.8, "shallow")]
)
def test_the_starting_point_decides_the_valley(x0, valley):
    deep, hump, shallow = np.sort(np.roots([4, 0, -6, 1]).real)
    end = gd.gradient_descent(gd.two_valleys_slope, x0, learning_rate=0.05, steps=400)[-1]
    assert end == pytest.approx(deep if valley == "deep" else shallow, abs=1e-8)


def test_learning_rates_below_two_over_curvature_converge_and_larger_ones_do_not():
    deep = np.sort(np.roots([4, 0, -6, 1]).real)[0]
    limit = 2 / (12 * deep**2 - 6)
    for rate in (0.01, 0.05, 0.1, 0.13):
        assert rate < limit
        assert gd.gradient_descent(gd.two_valleys_slope, -0.5, rate, steps=2000)[-1] == pytest.approx(deep)
    bouncing = gd.gradient_descent(gd.two_valleys_slope, -0.5, 0.15, steps=200)
    assert np.ptp(bouncing[-20:]) > 0.3  # a 2-cycle around the minimum, for ever
    assert gd.gradient_descent(gd.two_valleys_slope, -0.5, 0.25, steps=10)[-1] > 0.17  # thrown into the other valley
    assert abs(gd.gradient_descent(gd.two_valleys_slope, -0.5, 0.3, steps=10)[-1]) > 1e100  # diverges


def test_keras_sgd_takes_the_same_steps(float64_keras):
    x = keras.Variable(0.3, dtype="float64")
    optimizer = keras.optimizers.SGD(learning_rate=0.05)
    for _ in range(30):
        with tf.GradientTape() as tape:
            loss = x**4 - 3 * x**2 + x
        optimizer.apply_gradients([(tape.gradient(loss, x), x)])
    ours = gd.gradient_descent(gd.two_valleys_slope, 0.3, learning_rate=0.05, steps=30)[-1]
    assert float(x) == pytest.approx(ours, rel=1e-13)


def test_an_array_of_starts_is_many_independent_runs_and_noise_is_seeded():
    starts = np.array([-1.0, 0.0, 0.5, 1.5])
    together = gd.gradient_descent(gd.two_valleys_slope, starts, 0.05, steps=30)
    for i, x0 in enumerate(starts):
        np.testing.assert_allclose(together[:, i], gd.gradient_descent(gd.two_valleys_slope, x0, 0.05, steps=30))
    noisy = gd.gradient_descent(gd.two_valleys_slope, starts, 0.05, steps=30, noise=2.0, seed=1)
    np.testing.assert_array_equal(noisy, gd.gradient_descent(gd.two_valleys_slope, starts, 0.05, 30, 2.0, seed=1))
    assert not np.allclose(noisy, gd.gradient_descent(gd.two_valleys_slope, starts, 0.05, 30, 2.0, seed=2))
    assert not np.allclose(noisy, together)


def test_noise_helps_out_of_the_shallow_valley_only_in_a_band_of_noise_levels():
    deep, hump, shallow = np.sort(np.roots([4, 0, -6, 1]).real)

    def ends_deep(x0, noise):
        noisy = gd.gradient_descent(gd.two_valleys_slope, np.full(300, x0), 0.05, steps=1000, noise=noise)[-1]
        return np.mean(gd.gradient_descent(gd.two_valleys_slope, noisy, 0.05, steps=200)[-1] < hump)

    assert ends_deep(shallow, 0.0) == 0.0 and ends_deep(deep, 0.0) == 1.0
    assert ends_deep(shallow, 2.0) == 0.0  # too little noise: nothing escapes
    assert ends_deep(shallow, 4.0) > 0.8 and ends_deep(deep, 4.0) > 0.95  # escapes, mostly one way
    assert ends_deep(deep, 8.0) < 0.9  # too much noise: even good starts are lost


def test_noise_leaves_a_saddle_point_that_exact_descent_cannot():
    def saddle_slope(p):
        return np.array([2 * p[0], p[1] ** 3 - p[1]])

    plain = gd.gradient_descent(saddle_slope, [1.0, 0.0], learning_rate=0.1, steps=300)[-1]
    noisy = gd.gradient_descent(saddle_slope, [1.0, 0.0], learning_rate=0.1, steps=300, noise=0.1)[-1]
    np.testing.assert_allclose(plain, [0.0, 0.0], atol=1e-12)
    assert abs(abs(noisy[1]) - 1) < 0.1


# ---------------------------------------------------------------- mini-batch SGD


def test_batch_size_n_is_gradient_descent_and_batches_partition_each_epoch():
    X, y = gd.make_test_results(60, seed=2)
    start = {"w": np.zeros(2), "b": 0.0}
    history = gd.minibatch_sgd(gd.neuron_gradients, start, X, y, learning_rate=0.1, epochs=5, batch_size=60)
    params = start
    for epoch in range(1, 6):
        grads = gd.neuron_gradients(params, X, y)
        params = {name: params[name] - 0.1 * grads[name] for name in params}
        np.testing.assert_allclose(history[epoch]["w"], params["w"], rtol=1e-13)

    seen = []

    def recording(params, X_batch, y_batch):
        seen.append(X_batch[:, 0].copy())
        return {name: np.zeros_like(value) for name, value in params.items()}

    gd.minibatch_sgd(recording, start, X, y, learning_rate=0.1, epochs=2, batch_size=25)
    assert [len(batch) for batch in seen] == [25, 25, 10] * 2  # ceil(60 / 25) steps, the last one smaller
    for epoch in (seen[:3], seen[3:]):
        np.testing.assert_array_equal(np.sort(np.concatenate(epoch)), np.sort(X[:, 0]))  # every example once
    assert not np.array_equal(np.concatenate(seen[:3]), np.concatenate(seen[3:]))  # a new order each epoch


def test_mini_batch_gradients_average_to_the_full_gradient():
    X, y = gd.make_test_results(64, seed=4)
    params = {"w": np.array([0.2, -0.1]), "b": 0.3}
    full = gd.neuron_gradients(params, X, y)
    order = np.random.default_rng(0).permutation(64)
    batches = [gd.neuron_gradients(params, X[b], y[b]) for b in order.reshape(8, 8)]
    np.testing.assert_allclose(np.mean([g["w"] for g in batches], axis=0), full["w"], rtol=1e-12)
    np.testing.assert_allclose(np.mean([g["b"] for g in batches]), full["b"], rtol=1e-12)


def test_for_the_same_epochs_sgd_gets_lower_than_gradient_descent_on_the_page_data():
    X, y = gd.make_test_results(2000)
    start = {"w": np.zeros(2), "b": 0.0}
    loss = {}
    for batch_size in (2000, 32):
        final = gd.minibatch_sgd(gd.neuron_gradients, start, X, y, 0.1, epochs=100, batch_size=batch_size)[-1]
        loss[batch_size] = gd.neuron_loss(final, X, y)
    assert loss[32] < 0.25 < 0.55 < loss[2000]


# ---------------------------------------------------------------- bad input


def slope(x):
    return 2 * x


@pytest.mark.parametrize("rate", [0, 0.0, -0.1, np.nan, np.inf, True, "0.1", None, [0.1]])
def test_learning_rate_must_be_a_positive_number(rate):
    with pytest.raises(ValueError, match="learning_rate must be a number > 0"):
        gd.gradient_descent(slope, 1.0, rate, steps=3)
    X, y = gd.make_test_results(10)
    with pytest.raises(ValueError, match="learning_rate must be a number > 0"):
        gd.minibatch_sgd(gd.neuron_gradients, {"w": np.zeros(2), "b": 0.0}, X, y, rate, epochs=1, batch_size=2)


@pytest.mark.parametrize("steps", [-1, 2.5, True, "3", None])
def test_steps_and_epochs_must_be_whole_numbers_at_least_zero(steps):
    with pytest.raises(ValueError, match="steps must be a whole number >= 0"):
        gd.gradient_descent(slope, 1.0, 0.1, steps=steps)
    X, y = gd.make_test_results(10)
    with pytest.raises(ValueError, match="epochs must be a whole number >= 0"):
        gd.minibatch_sgd(gd.neuron_gradients, {"w": np.zeros(2), "b": 0.0}, X, y, 0.1, epochs=steps, batch_size=2)


def test_zero_steps_and_zero_epochs_return_the_start():
    np.testing.assert_array_equal(gd.gradient_descent(slope, 1.0, 0.1, steps=0), [1.0])
    X, y = gd.make_test_results(10)
    assert len(gd.minibatch_sgd(gd.neuron_gradients, {"w": np.zeros(2), "b": 0.0}, X, y, 0.1, 0, 2)) == 1


def test_noise_must_not_be_negative_and_slope_must_keep_the_shape():
    with pytest.raises(ValueError, match="noise must be a number >= 0"):
        gd.gradient_descent(slope, 1.0, 0.1, steps=3, noise=-1.0)
    with pytest.raises(ValueError, match=r"slope\(x\) must have the shape of x"):
        gd.gradient_descent(lambda x: np.array([1.0, 2.0]), 1.0, 0.1, steps=3)


@pytest.mark.parametrize("batch_size", [0, -1, 11, 2.0])
def test_batch_size_must_be_between_one_and_the_number_of_examples(batch_size):
    X, y = gd.make_test_results(10)
    with pytest.raises(ValueError, match="batch_size must be"):
        gd.minibatch_sgd(gd.neuron_gradients, {"w": np.zeros(2), "b": 0.0}, X, y, 0.1, epochs=1, batch_size=batch_size)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros((5, 2)), np.zeros(4), r"expected labels y of shape \(N,\) = \(5,\)"),
        (np.zeros((5, 2)), np.zeros((5, 1)), r"expected labels y of shape \(N,\)"),
        (np.zeros(5), np.zeros(5), r"expected inputs X of shape \(N, D\)"),
        (np.zeros((0, 2)), np.zeros(0), r"expected inputs X of shape \(N, D\) with N >= 1"),
        (np.zeros((3, 2)), np.array([0.0, 1.0, 2.0]), r"labels y must lie in \[0, 1\]"),
        (np.array([["a", "b"]]), np.zeros(1), "expected real numbers"),
    ],
)
def test_mismatched_or_malformed_data_is_rejected(X, y, message):
    params = {"w": np.zeros(2), "b": 0.0}
    for call in (
        lambda: gd.neuron_gradients(params, X, y),
        lambda: gd.neuron_loss(params, X, y),
        lambda: gd.minibatch_sgd(gd.neuron_gradients, params, X, y, 0.1, 1, 1),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_missing_or_misshapen_parameters_are_rejected():
    X, y = gd.make_test_results(5)
    for params in ({"w": np.zeros(2)}, {"w": np.zeros(2), "b": 0.0, "extra": 1.0}, [np.zeros(2), 0.0]):
        with pytest.raises(ValueError, match="expected a dict of parameters"):
            gd.neuron_gradients(params, X, y)
    with pytest.raises(ValueError, match="expected parameter shapes"):
        gd.neuron_loss({"w": np.zeros(2), "b": np.zeros(1)}, X, y)
    with pytest.raises(ValueError, match="expected parameter shapes"):
        gd.neuron_gradients({"w": np.zeros(3), "b": 0.0}, X, y)


def test_other_bad_input_is_rejected():
    with pytest.raises(ValueError, match=r"labels and logits of one shape \(N,\)"):
        gd.binary_cross_entropy(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="n must be a whole number >= 0"):
        gd.make_test_results(-5)
    with pytest.raises(ValueError, match="n must be a whole number >= 0"):
        gd.make_test_results(2.5)
    X, y = gd.make_test_results(10)
    for decay in (-0.1, np.nan, np.inf):
        with pytest.raises(ValueError, match="decay must be a number >= 0"):
            gd.sgd_with_decay(gd.neuron_gradients, {"w": np.zeros(2), "b": 0.0}, X, y, 0.1, 1, 2, decay=decay)


# ---------------------------------------------------------------- the exercise


def test_sgd_with_decay_takes_steps_at_the_decayed_rate():
    """With batch_size = N every epoch is one exact step, at rate / (1 + decay * epoch)."""
    X, y = gd.make_test_results(50, seed=6)
    params = start = {"w": np.array([0.1, -0.2]), "b": 0.3}
    history = gd.sgd_with_decay(gd.neuron_gradients, start, X, y, 0.2, epochs=6, batch_size=50, decay=0.5)
    assert len(history) == 7
    for epoch in range(6):
        grads = gd.neuron_gradients(params, X, y)
        rate = 0.2 / (1 + 0.5 * epoch)
        params = {name: params[name] - rate * grads[name] for name in params}
        np.testing.assert_allclose(history[epoch + 1]["w"], params["w"], rtol=1e-13)
        np.testing.assert_allclose(history[epoch + 1]["b"], params["b"], rtol=1e-13)


def test_decay_calms_the_jitter_of_sgd_on_the_page_data():
    X, y = gd.make_test_results(2000)
    start = {"w": np.zeros(2), "b": 0.0}
    spread = {}
    for decay in (0.0, 0.1):
        history = gd.sgd_with_decay(gd.neuron_gradients, start, X, y, 0.3, epochs=100, batch_size=32, decay=decay)
        spread[decay] = np.std([gd.neuron_loss(params, X, y) for params in history[81:]])
    assert spread[0.1] < spread[0.0] / 10  # "the jitter almost disappears"


# ---------------------------------------------------------------- the page's claims and figure


def test_the_neuron_page_reports_the_sum_and_this_page_the_mean():
    """docs/neuron.md shows E, this page E / N: the same loss, divided by the number of examples."""
    X, y = gd.make_test_results(50, seed=3)
    w, b = np.array([0.4, -0.7]), 1.5
    assert gd.neuron_loss({"w": w, "b": b}, X, y) == pytest.approx(neuron_error(X, y, w, b) / len(y), rel=1e-12)


def batch_spread(X, y, batch_size, draws=500, seed=0):
    """The page's measure: rms |batch gradient - full gradient| / |full gradient| at w = 0, b = 0."""
    start = {"w": np.zeros(2), "b": 0.0}
    full = np.append(*gd.neuron_gradients(start, X, y).values())
    rng = np.random.default_rng(seed)
    batches = [rng.choice(len(y), size=batch_size, replace=False) for _ in range(draws)]
    errors = [np.append(*gd.neuron_gradients(start, X[b], y[b]).values()) - full for b in batches]
    return np.sqrt(np.mean(np.sum(np.square(errors), axis=1))) / np.linalg.norm(full)


def test_batch_noise_falls_as_one_over_sqrt_b_and_vanishes_for_the_whole_data_set():
    """The page: spread x sqrt(B) stays near the B = 1 value for small batches; B = N has no noise.

    Drawing without replacement shrinks the noise by sqrt((N - B) / (N - 1)) exactly."""
    X, y = gd.make_test_results(2000)
    n = len(y)
    scaled = {b: batch_spread(X, y, b) * np.sqrt(b) for b in (1, 8, 32, 128)}
    for b, value in scaled.items():
        assert value == pytest.approx(scaled[1], rel=0.1)
        assert round(value) == round(scaled[1])  # "stays near {{ spreads[1] | .0f }}"
        assert value / np.sqrt((n - b) / (n - 1)) == pytest.approx(scaled[1], rel=0.1)
    assert batch_spread(X, y, n, draws=3) < 1e-12  # the whole data set: the exact gradient


def test_the_training_loop_figure_has_its_five_stages_in_order_and_closes():
    fig = gd.draw_training_loop()
    try:
        (ax,) = fig.axes
        stages = ["data", "model", "loss", "gradients", "optimizer"]
        boxes = {patch.get_label(): patch for patch in ax.patches if isinstance(patch, FancyBboxPatch)}
        assert list(boxes) == stages
        names = [text.get_text() for text in ax.texts if text.get_text() in stages]
        assert names == stages  # each box has its name written in it, in the loop's order
        arrows = [
            (arrow.anncoords.get_label(), arrow.xycoords.get_label())
            for arrow in ax.texts
            if isinstance(arrow, Annotation) and isinstance(arrow.xycoords, Artist)
        ]
        cycle = list(zip(stages, stages[1:])) + [("optimizer", "model")]  # and round again
        assert arrows == cycle + [("data", "loss")]  # plus the labels, which go to the loss
        assert ax.get_title() == "The training loop"
        fig.savefig(io.StringIO(), format="svg")  # the arrows find their boxes when drawn
    finally:
        plt.close(fig)
    assert not plt.fignum_exists(fig.number)
