"""The NumPy softmax and cross-entropy of docs/softmax.md agree with Keras and TensorFlow."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from snippets import softmax as sm
from snippets.activations import sigmoid
from tools.blocks import read_section

RNG = np.random.default_rng(0)
SHAPES = [(3,), (1, 2), (8, 10), (2, 3, 5)]


def keras_numpy(x):
    return keras.ops.convert_to_numpy(x)


def one_hot(shape):
    """Random one-hot labels of shape (..., K)."""
    return np.eye(shape[-1])[RNG.integers(0, shape[-1], size=shape[:-1])]


def soft_labels(shape):
    """Random label distributions of shape (..., K), like label smoothing produces."""
    return sm.softmax(RNG.normal(size=shape))


# ---------------------------------------------------------------- softmax


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis")  # size-1 axes: all ones, on purpose
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_equals_keras_along_every_axis(shape):
    z = RNG.normal(scale=5.0, size=shape)
    for axis in range(-len(shape), len(shape)):
        expected = keras_numpy(keras.activations.softmax(z, axis=axis))
        np.testing.assert_allclose(sm.softmax(z, axis=axis), expected, rtol=1e-6, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_float32_softmax_agrees_within_float32_precision(shape):
    z = RNG.normal(scale=5.0, size=shape).astype(np.float32)
    np.testing.assert_allclose(sm.softmax(z), keras_numpy(keras.activations.softmax(z)), rtol=1e-5, atol=1e-7)


def test_softmax_is_a_distribution_that_keeps_the_order_and_ignores_shifts():
    z = RNG.normal(scale=3.0, size=(50, 7))
    p = sm.softmax(z)
    assert np.all(p > 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(p.argmax(axis=-1), z.argmax(axis=-1))
    np.testing.assert_allclose(sm.softmax(z + 123.4), p, rtol=1e-12)


def test_large_logits_neither_overflow_nor_warn():
    z = np.array([1000.0, 999.0, 998.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        p = sm.softmax(z)
        assert np.isfinite(sm.softmax([1e5, -1e5])).all()
    np.testing.assert_allclose(p, sm.softmax([2.0, 1.0, 0.0]), rtol=1e-12)
    np.testing.assert_allclose(p, np.exp([0, -1, -2]) / np.exp([0, -1, -2]).sum(), rtol=1e-12)
    with np.errstate(over="ignore", invalid="ignore"):  # the naive formula the page shows failing
        assert np.isnan(np.exp(z) / np.exp(z).sum()).all()


def test_two_class_softmax_is_the_sigmoid_of_the_difference():
    z1, z2 = RNG.normal(scale=10.0, size=(2, 200))
    np.testing.assert_allclose(
        sm.softmax(np.stack([z1, np.zeros_like(z1)], axis=-1))[:, 0], sigmoid(z1), rtol=1e-12, atol=1e-300
    )
    np.testing.assert_allclose(sm.softmax(np.stack([z1, z2], axis=-1))[:, 0], sigmoid(z1 - z2), rtol=1e-12, atol=1e-300)


def test_three_classes_on_a_line_win_between_the_crossings():
    w, b = np.array([-2.0, 0.0, 2.0]), np.array([0.0, 1.0, 0.0])  # the page's example
    x = np.linspace(-3, 3, 6000)  # no grid point falls on a crossing
    scores = sm.line_scores(x, w, b)
    winner = sm.softmax(scores).argmax(axis=1)
    np.testing.assert_array_equal(winner, scores.argmax(axis=1))
    np.testing.assert_array_equal(winner, np.select([x < -0.5, x < 0.5], [0, 1], 2))
    for tie in (-0.5, 0.5):  # where two lines cross, their probabilities are equal
        p = np.sort(sm.softmax(sm.line_scores(tie, w, b)))
        assert p[1] == pytest.approx(p[2], rel=1e-12) and p[2] < 0.5
    np.testing.assert_allclose(sm.line_scores(x, w, b), keras_dense_1_to_3(x, w, b), rtol=1e-6, atol=1e-12)


def keras_dense_1_to_3(x, w, b):
    """The same three scores from a keras.layers.Dense(3) on one input."""
    layer = keras.layers.Dense(3, dtype="float64")
    layer.build((None, 1))
    layer.set_weights([w[None, :], b])
    return keras_numpy(layer(x[:, None]))


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("labels", [one_hot, soft_labels])
def test_crossentropy_from_logits_equals_keras(shape, labels):
    y, z = labels(shape), RNG.normal(scale=5.0, size=shape)
    ours = sm.categorical_crossentropy(y, z, from_logits=True)
    expected = keras_numpy(keras.losses.categorical_crossentropy(y, z, from_logits=True))
    assert ours.shape == shape[:-1]
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-12)
    mean = keras.losses.CategoricalCrossentropy(from_logits=True, dtype="float64")(y, z)
    assert ours.mean() == pytest.approx(float(mean), rel=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("labels", [one_hot, soft_labels])
def test_crossentropy_from_probabilities_equals_keras_clipping_included(shape, labels):
    y = labels(shape)
    p = sm.softmax(RNG.normal(scale=20.0, size=shape))  # wide logits: many probabilities get clipped
    ours = sm.categorical_crossentropy(y, p)
    np.testing.assert_allclose(ours, keras_numpy(keras.losses.categorical_crossentropy(y, p)), rtol=1e-6, atol=1e-12)
    mean = keras.losses.CategoricalCrossentropy(dtype="float64")(y, p)
    assert ours.mean() == pytest.approx(float(mean), rel=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_float32_crossentropy_agrees_within_float32_precision(from_logits):
    y = one_hot((64, 10)).astype(np.float32)
    z = RNG.normal(scale=4.0, size=(64, 10)).astype(np.float32)
    y_pred = z if from_logits else sm.softmax(z).astype(np.float32)
    expected = keras_numpy(keras.losses.categorical_crossentropy(y, y_pred, from_logits=from_logits))
    assert expected.dtype == np.float32
    np.testing.assert_allclose(
        sm.categorical_crossentropy(y, y_pred, from_logits=from_logits), expected, rtol=1e-5, atol=1e-6
    )


def test_one_hot_crossentropy_is_minus_log_of_the_true_class_probability():
    z = RNG.normal(size=(20, 10))
    y = one_hot((20, 10))
    p_true = sm.softmax(z)[y == 1]
    np.testing.assert_allclose(sm.categorical_crossentropy(y, z, from_logits=True), -np.log(p_true), rtol=1e-12)
    assert sm.categorical_crossentropy([0.0, 1.0], [0.0, 1.0]) < 1e-6  # a sure, right answer costs (almost) 0


@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_p_minus_y_equals_gradient_tape(shape):
    y, z = soft_labels(shape), RNG.normal(scale=3.0, size=shape)
    logits = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = keras.losses.categorical_crossentropy(y, logits, from_logits=True)
    np.testing.assert_allclose(
        sm.categorical_crossentropy_grad(y, z), tape.gradient(loss, logits).numpy(), rtol=1e-6, atol=1e-12
    )


def test_gradient_equals_central_differences():
    y, z = one_hot((6,)), RNG.normal(size=6)
    h, eye = 1e-6, np.eye(6)
    numerical = [
        (
            sm.categorical_crossentropy(y, z + h * e, from_logits=True)
            - sm.categorical_crossentropy(y, z - h * e, from_logits=True)
        )
        / (2 * h)
        for e in eye
    ]
    np.testing.assert_allclose(sm.categorical_crossentropy_grad(y, z), numerical, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- the from_logits pitfall


def test_a_confident_mistake_costs_50_from_logits_but_16_1_from_probabilities():
    logits, y = np.array([[0.0, 50.0]]), np.array([[1.0, 0.0]])
    p = sm.softmax(logits)
    assert sm.categorical_crossentropy(y, logits, from_logits=True)[0] == pytest.approx(50.0, rel=1e-12)
    assert float(keras.losses.CategoricalCrossentropy(from_logits=True)(y, logits)) == pytest.approx(50.0)
    clipped = -np.log(1e-7)
    assert clipped == pytest.approx(16.1181, abs=1e-4)
    assert sm.categorical_crossentropy(y, p)[0] == pytest.approx(clipped, rel=1e-9)
    assert float(keras.losses.CategoricalCrossentropy()(y, p)) == pytest.approx(clipped, rel=1e-6)


def test_clipped_probabilities_give_no_gradient_but_logits_give_p_minus_y():
    y = np.array([[1.0, 0.0]], dtype=np.float32)
    logits = tf.constant([[0.0, 50.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        through_p = keras.losses.categorical_crossentropy(y, tf.nn.softmax(logits))
        from_logits = keras.losses.categorical_crossentropy(y, logits, from_logits=True)
    np.testing.assert_array_equal(tape.gradient(through_p, logits).numpy(), [[0.0, 0.0]])
    np.testing.assert_allclose(tape.gradient(from_logits, logits).numpy(), [[-1.0, 1.0]], atol=1e-6)


def test_from_logits_is_exact_where_the_probability_underflows_to_zero():
    z = np.array([0.0, 1000.0])
    assert sm.softmax(z)[0] == 0.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert sm.categorical_crossentropy([1.0, 0.0], z, from_logits=True) == 1000.0
        assert sm.log_softmax(z)[0] == -1000.0


def test_tensorflow_keras_recovers_logits_from_its_own_softmax_but_not_from_numpy():
    logits, y = np.array([[0.0, 50.0]], dtype=np.float32), np.array([[1.0, 0.0]], dtype=np.float32)
    p_tensor = keras.activations.softmax(logits)
    loss = keras.losses.CategoricalCrossentropy()
    assert float(loss(y, p_tensor)) == pytest.approx(50.0)
    assert float(loss(y, keras_numpy(p_tensor))) == pytest.approx(-np.log(1e-7), rel=1e-5)


def test_a_model_ending_in_dense_softmax_is_rescued_too():
    """The info box's claim about the notes' models: Dense(K, activation="softmax") + categorical_crossentropy."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.array([[0.0, 50.0]], np.float32), np.zeros(2, np.float32)])
    model.compile(loss="categorical_crossentropy")
    loss = model.evaluate(np.ones((1, 1), np.float32), np.array([[1.0, 0.0]], np.float32), verbose=0)
    assert loss == pytest.approx(50.0)


# ---------------------------------------------------------------- the exercise


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0, 3.0, 100.0])
def test_temperature_softmax_equals_keras(temperature):
    z = RNG.normal(scale=3.0, size=(4, 6))
    expected = keras_numpy(keras.activations.softmax(z / temperature))
    np.testing.assert_allclose(sm.softmax_with_temperature(z, temperature), expected, rtol=1e-6, atol=1e-15)


def test_temperature_limits_are_argmax_and_uniform():
    z = RNG.normal(size=(30, 5))
    with np.errstate(over="raise", invalid="raise"):  # z / 1e-6 reaches millions: the stable softmax must cope
        cold = sm.softmax_with_temperature(z, 1e-6)
    np.testing.assert_allclose(cold, np.eye(5)[z.argmax(axis=1)], atol=1e-12)
    np.testing.assert_allclose(sm.softmax_with_temperature(z, 1e9), 0.2, rtol=1e-6)
    np.testing.assert_allclose(sm.softmax_with_temperature([3.0, 3.0, 1.0], 1e-3), [0.5, 0.5, 0.0], atol=1e-12)
    for temperature in (0.01, 1.0, 100.0):  # the winner never changes
        np.testing.assert_array_equal(sm.softmax_with_temperature(z, temperature).argmax(axis=1), z.argmax(axis=1))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "f",
    [sm.softmax, sm.log_softmax, lambda z: sm.softmax_with_temperature(z, 1.0)],
    ids=["softmax", "log_softmax", "temperature"],
)
def test_a_single_number_has_no_class_axis(f):
    with pytest.raises(ValueError, match=r"class axis, shape \(\.\.\., K\), got a single number"):
        f(3.0)


@pytest.mark.parametrize("bad", ["1.0", None, [1 + 2j, 0], ["a", "b"]])
def test_non_numbers_are_rejected(bad):
    with pytest.raises(ValueError, match="expected real numbers"):
        sm.softmax(bad)


@pytest.mark.parametrize("axis", [2, -3, 5])
def test_axis_out_of_range(axis):
    with pytest.raises(ValueError, match=r"axis must be in \[-2, 1\] for z of shape \(2, 3\)"):
        sm.softmax(np.zeros((2, 3)), axis=axis)


@pytest.mark.parametrize(
    "f",
    [
        lambda y, z: sm.categorical_crossentropy(y, z, from_logits=True),
        sm.categorical_crossentropy,
        sm.categorical_crossentropy_grad,
    ],
    ids=["from_logits", "from_probabilities", "gradient"],
)
def test_loss_rejects_bad_labels_and_shapes(f):
    z = np.full((2, 3), 1 / 3)  # valid as logits and as probabilities
    with pytest.raises(ValueError, match="y_true must have a class axis"):
        f(1.0, 0.0)
    with pytest.raises(ValueError, match=r"same shape \(\.\.\., K\).*got \(2, 4\) and \(2, 3\)"):
        f(one_hot((2, 4)), z)
    with pytest.raises(ValueError, match=r"got \(3,\) and \(1, 3\)"):
        f(np.array([1.0, 0.0, 0.0]), z[:1])
    for labels in (
        [[2.0, 0, 0], [0, 1, 0]],  # a row sums to 2
        [[1.5, -0.5, 0], [0, 1, 0]],  # sums to 1 but has a negative entry
        [[np.nan, 1, 0], [0, 1, 0]],
        [[0.0, 0, 0], [0, 1, 0]],
    ):  # no class at all
        with pytest.raises(ValueError, match="y_true must hold probability distributions"):
            f(np.array(labels), z)


@pytest.mark.parametrize("y_pred", [[[2.0, 1.0, 0.1]], [[0.5, 0.6, -0.1]], [[0.2, 0.2, 0.2]]])
def test_probabilities_that_are_not_a_distribution_hint_at_from_logits(y_pred):
    with pytest.raises(ValueError, match="y_pred must hold probability distributions.*from_logits=True"):
        sm.categorical_crossentropy([[1.0, 0.0, 0.0]], y_pred)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sm.softmax_with_temperature([1.0, 2.0], temperature)


@pytest.mark.parametrize(
    "x, w, b",
    [
        (np.zeros((2, 2)), np.zeros(3), np.zeros(3)),  # x must be (N,) or a number
        (np.zeros(4), np.zeros((1, 3)), np.zeros(3)),  # w must be (K,)
        (np.zeros(4), np.zeros(3), np.zeros(2)),  # w and b must match
    ],
)
def test_line_scores_rejects_bad_shapes(x, w, b):
    with pytest.raises(ValueError, match=r"expected x of shape \(N,\) or \(\), w and b of one shape \(K,\)"):
        sm.line_scores(x, w, b)


@pytest.mark.parametrize("section", ["numpy", "scores", "loss"])
def test_the_page_shows_the_formulas_and_leaves_the_checks_to_one_line_helpers(section):
    """softmax, line_scores and the loss on the page call a checker in one line; none raises itself."""
    code = read_section(f"snippets/softmax.py:{section}")
    assert "raise ValueError" not in code and "isinstance(" not in code, section
