"""The NumPy activations of docs/activations.md agree with Keras and TensorFlow, on random
inputs and at the delicate points (DELICATE below), which every test's inputs include."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from snippets import activations as act

RNG = np.random.default_rng(0)
SHAPES = [(), (7,), (3, 4), (2, 3, 5), (4, 10)]  # the last holds every delicate point and as many random ones
PAIRS = [
    (act.sigmoid, keras.activations.sigmoid),
    (act.tanh, keras.activations.tanh),
    (act.relu, keras.activations.relu),
]


# Where activations are delicate: at 0 (ReLU's kink, -0.0 included), very near it, where
# sigmoid and tanh saturate (|x| = 20: 1 - tanh(20) is below float64's resolution near 1),
# and far out where exp() overflows or underflows in float64 (e^710 is inf, e^-746 is 0).
DELICATE = np.array(
    [
        0.0,
        -0.0,
        1e-300,
        -1e-300,
        1e-12,
        -1e-12,
        1e-8,
        -1e-8,
        20.0,
        -20.0,
        40.0,
        -40.0,
        700.0,
        -700.0,
        745.0,
        -745.0,
        800.0,
        -800.0,
        1000.0,
        -1000.0,
    ]
)


def samples(shape, scale=6.0):
    """Inputs of `shape`, in random places: up to half of them delicate points (every one of
    DELICATE once there is room for twice as many), the rest normal with the given scale."""
    size = math.prod(shape)
    delicate = RNG.choice(DELICATE, size=min(len(DELICATE), size // 2), replace=False)
    values = np.concatenate([delicate, RNG.normal(scale=scale, size=size - len(delicate))])
    return RNG.permutation(values).reshape(shape)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=lambda f: getattr(f, "__name__", ""))
def test_numpy_equals_keras_at_the_delicate_points(ours, theirs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp() would be a bug
        got = ours(DELICATE)
    expected = keras.ops.convert_to_numpy(theirs(DELICATE))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ours, theirs", PAIRS, ids=lambda f: getattr(f, "__name__", ""))
def test_numpy_equals_keras(ours, theirs, shape):
    x = samples(shape)
    expected = keras.ops.convert_to_numpy(theirs(x))
    assert ours(x).shape == np.shape(x)
    np.testing.assert_allclose(ours(x), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=lambda f: getattr(f, "__name__", ""))
def test_float32_inputs_agree_within_float32_precision(ours, theirs):
    x = samples((100,)).astype(np.float32)
    np.testing.assert_allclose(ours(x), keras.ops.convert_to_numpy(theirs(x)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "derivative, activation",
    [
        (act.sigmoid_grad, keras.activations.sigmoid),
        (act.tanh_grad, keras.activations.tanh),
        (act.relu_grad, keras.activations.relu),
    ],
    ids=["sigmoid", "tanh", "relu"],
)
def test_derivatives_equal_gradient_tape(derivative, activation):
    x = np.concatenate([samples((200,)), [0.0, -1e-9, 1e-9]])
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = activation(inputs)
    # 1 - tanh(x)^2 cancels for large |x|: absolute agreement is what float64 allows there
    np.testing.assert_allclose(derivative(x), tape.gradient(outputs, inputs).numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "f, df",
    [(act.sigmoid, act.sigmoid_grad), (act.tanh, act.tanh_grad), (act.relu, act.relu_grad), (act.step, act.step_grad)],
    ids=["sigmoid", "tanh", "relu", "step"],
)
def test_derivatives_equal_central_differences_away_from_kinks(f, df):
    x = samples((200,), scale=3.0)
    x = x[np.abs(x) > 1e-3]  # relu and step have a kink at 0
    h = 1e-6
    numerical = (f(x + h) - f(x - h)) / (2 * h)
    np.testing.assert_allclose(df(x), numerical, rtol=1e-6, atol=1e-8)


def test_values_the_page_states():
    assert act.sigmoid(0.0) == 0.5
    assert act.sigmoid_grad(0.0) == 0.25 == np.max(act.sigmoid_grad(np.linspace(-10, 10, 2001)))
    assert act.tanh_grad(0.0) == 1.0
    assert act.tanh_grad(2.0) == pytest.approx(0.0707, abs=5e-5)
    assert act.relu(0.5) == 0.5  # ReLU keeps values between 0 and 1 (a note said "1 or more")
    np.testing.assert_array_equal(act.step([-1.0, 0.0, 1e-9]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(act.relu_grad([-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    assert act.sigmoid_grad(0.0) ** 10 < 1e-6  # the vanishing-gradient table


def test_sigmoid_never_overflows_and_saturates_exactly():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        np.testing.assert_array_equal(act.sigmoid([-1000.0, 1000.0]), [0.0, 1.0])
        assert np.all(np.isfinite(act.sigmoid_grad(np.array([-1e308, 1e308]))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        act.sigmoid(np.linspace(-1e4, 1e4, 11))


def test_results_are_float64_arrays_of_the_input_shape():
    for f in (act.step, act.sigmoid, act.tanh, act.relu, act.leaky_relu):
        y = f(np.arange(6, dtype=np.int64).reshape(2, 3))
        assert y.dtype == np.float64 and y.shape == (2, 3)
        assert f(True).dtype == np.float64  # booleans are numbers too


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1.0])
def test_exercise_leaky_relu_equals_keras(slope):
    x = samples((50,))
    expected = keras.ops.convert_to_numpy(keras.activations.leaky_relu(x, negative_slope=slope))
    np.testing.assert_allclose(act.leaky_relu(x, negative_slope=slope), expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, ["a", "b"], {"x": 1}])
@pytest.mark.parametrize("f", [act.step, act.sigmoid, act.tanh, act.relu, act.sigmoid_grad, act.leaky_relu])
def test_bad_input_gets_a_clear_error(f, bad):
    with pytest.raises(ValueError, match="expected real numbers"):
        f(bad)


def test_negative_leaky_slope_is_rejected():
    with pytest.raises(ValueError, match="negative_slope must be >= 0"):
        act.leaky_relu([1.0], negative_slope=-0.1)
