"""The NumPy dropout of docs/dropout.md behaves as keras.layers.Dropout, and dropout reduces overfitting."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from snippets import dropout as do
from snippets.data import load_mnist

SHAPES = [(7,), (3, 4), (2, 5, 5, 3)]
RATES = [0.1, 0.3, 0.5, 0.8]
SIGMAS = 5  # statistical checks allow 5 standard deviations


def ours(x, rate, seed):
    return do.dropout(x, rate, training=True, rng=np.random.default_rng(seed))


def theirs(x, rate, seed):
    return keras.ops.convert_to_numpy(keras.layers.Dropout(rate, seed=seed)(x, training=True))


IMPLEMENTATIONS = pytest.mark.parametrize("drop", [ours, theirs], ids=["numpy", "keras"])


def positive_inputs(shape, seed=0):
    """float32 values in [1, 2): no 0 among them, so an output of 0 means 'dropped'."""
    return np.random.default_rng(seed).uniform(1, 2, size=shape).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rate", RATES)
def test_inference_is_the_identity_in_numpy_and_keras(shape, rate):
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    np.testing.assert_array_equal(do.dropout(x, rate), x)
    np.testing.assert_array_equal(do.dropout(x, rate, training=False, rng=np.random.default_rng(0)), x)
    layer = keras.layers.Dropout(rate, seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)  # training defaults to False


@IMPLEMENTATIONS
@pytest.mark.parametrize("shape", [(400, 500), (50, 20, 20, 10)])
@pytest.mark.parametrize("rate", RATES)
def test_training_drops_a_fraction_rate_and_keeps_the_expected_value(drop, shape, rate):
    x = positive_inputs(shape)
    y = drop(x, rate, seed=3)
    n = x.size
    assert y.shape == x.shape
    dropped = y == 0
    # every output is 0 or x / (1 - rate) (Keras multiplies by 1 / (1 - rate) in float32)
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - rate), rtol=1e-6)
    # the number dropped is binomial(n, rate)
    assert abs(dropped.mean() - rate) < SIGMAS * np.sqrt(rate * (1 - rate) / n)
    # the mean is preserved: Var[output] = rate / (1 - rate) * x^2 for each unit
    sd_mean = np.sqrt(np.sum(x.astype(np.float64) ** 2) * rate / (1 - rate)) / n
    assert abs(y.mean() - x.mean()) < SIGMAS * sd_mean


@IMPLEMENTATIONS
def test_each_unit_is_dropped_independently_of_the_others(drop):
    """Every position is dropped about `rate` of the time, and two positions are not correlated."""
    rate, passes = 0.3, 4000
    x = positive_inputs((passes, 8))  # 4,000 draws of the same 8 units
    dropped = drop(x, rate, seed=5) == 0
    per_unit = dropped.mean(axis=0)
    assert np.all(np.abs(per_unit - rate) < SIGMAS * np.sqrt(rate * (1 - rate) / passes))
    both = (dropped[:, 0] & dropped[:, 1]).mean()
    assert abs(both - rate**2) < SIGMAS * np.sqrt(rate**2 * (1 - rate**2) / passes)


def test_averaging_many_training_passes_gives_the_inference_output():
    rng = np.random.default_rng(0)
    h = np.array([0.5, 1.0, 2.0, 3.0, -1.5])
    passes = np.array([do.dropout(h, 0.5, training=True, rng=rng) for _ in range(20_000)])
    sd = np.abs(h) * np.sqrt(0.5 / 0.5) / np.sqrt(len(passes))
    assert np.all(np.abs(passes.mean(axis=0) - do.dropout(h, 0.5)) < SIGMAS * sd)


def test_a_new_mask_on_every_call_and_the_same_mask_from_the_same_seed():
    x = np.ones(1000)
    rng = np.random.default_rng(0)
    first, second = (do.dropout(x, 0.5, training=True, rng=rng) for _ in range(2))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(ours(x, 0.5, seed=9), ours(x, 0.5, seed=9))


@IMPLEMENTATIONS
def test_rate_zero_drops_nothing_even_in_training(drop):
    x = positive_inputs((5, 6))
    np.testing.assert_array_equal(drop(x, 0.0, seed=0), x)


def test_results_are_float64_of_the_input_shape():
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    for training in (False, True):
        y = do.dropout(x, 0.25, training=training, rng=np.random.default_rng(0))
        assert y.dtype == np.float64 and y.shape == (3, 4)


def test_keras_rate_is_the_fraction_dropped_not_kept():
    """The pitfall: Dropout(0.9) drops 90% and multiplies the survivors by 10."""
    y = theirs(np.ones((1, 100_000), dtype=np.float32), 0.9, seed=0)
    assert abs(np.mean(y == 0) - 0.9) < SIGMAS * np.sqrt(0.9 * 0.1 / y.size)
    np.testing.assert_allclose(y[y != 0], 10.0, rtol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "0.5", None, True, [0.5]])
@pytest.mark.parametrize("f", [do.dropout, do.old_dropout])
def test_a_rate_outside_0_to_1_is_rejected(f, bad):
    with pytest.raises(ValueError, match=r"rate is the fraction of units to DROP and must be a number in \[0, 1\)"):
        f(np.ones(3), bad, training=True, rng=np.random.default_rng(0))


@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, ["a", "b"], {"x": 1}])
@pytest.mark.parametrize("f", [do.dropout, do.old_dropout])
def test_input_that_is_not_real_numbers_is_rejected(f, bad):
    for training in (False, True):
        with pytest.raises(ValueError, match="expected real numbers"):
            f(bad, 0.5, training=training, rng=np.random.default_rng(0))


@pytest.mark.parametrize("f", [do.dropout, do.old_dropout])
def test_training_must_be_a_bool_and_training_needs_a_generator(f):
    with pytest.raises(ValueError, match="training must be True or False"):
        f(np.ones(3), 0.5, training="yes")
    with pytest.raises(ValueError, match="rng must be a np.random.Generator"):
        f(np.ones(3), 0.5, training=True)
    with pytest.raises(ValueError, match="rng must be a np.random.Generator"):
        f(np.ones(3), 0.5, training=True, rng=0)


def test_exercise_old_dropout_scales_at_inference_and_has_the_same_expected_output():
    h = np.array([0.5, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(do.old_dropout(h, 0.3), 0.7 * h)
    # same mask: the old form is the inverted one times (1 - rate), in training and at inference
    old = do.old_dropout(h, 0.3, training=True, rng=np.random.default_rng(4))
    np.testing.assert_allclose(old, (1 - 0.3) * ours(h, 0.3, seed=4))
    np.testing.assert_allclose(do.old_dropout(h, 0.3) / (1 - 0.3), do.dropout(h, 0.3), rtol=1e-15)
    # on average a training pass gives what inference gives
    rng = np.random.default_rng(0)
    passes = np.array([do.old_dropout(h, 0.3, training=True, rng=rng) for _ in range(20_000)])
    sd = h * np.sqrt(0.3 * 0.7) / np.sqrt(len(passes))
    assert np.all(np.abs(passes.mean(axis=0) - do.old_dropout(h, 0.3)) < SIGMAS * sd)


def test_small_mnist_is_a_shuffled_subset_scaled_to_0_1():
    data = load_mnist()
    (x_train, y_train), (x_val, y_val) = do.small_mnist(data)
    assert x_train.shape == (1000, 28, 28) and x_val.shape == (2000, 28, 28)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    assert np.all(np.bincount(y_train, minlength=10) > 50)  # all digits, not the first 1,000 (only 0s and 1s)
    np.testing.assert_array_equal(y_val, data.y_test[:2000])
    np.testing.assert_array_equal(x_val * 255, data.x_test[:2000])


def test_both_models_have_the_same_weights_to_start_with():
    keras.utils.set_random_seed(0)
    plain = do.mlp(0.0, 0.0)
    keras.utils.set_random_seed(0)
    with_dropout = do.mlp(0.2, 0.5)
    assert plain.count_params() == with_dropout.count_params() == 784 * 512 + 512 + 512 * 10 + 10 == 407_050
    for a, b in zip(plain.get_weights(), with_dropout.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def experiment():
    train_set, val_set = do.small_mnist(load_mnist())
    return {rates: do.train(*rates, train_set, val_set) for rates in [(0.0, 0.0), (0.2, 0.5)]}


def test_without_dropout_the_network_memorizes_and_dropout_narrows_the_gap(experiment):
    (plain, (plain_loss, plain_train)), (dropped, (dropped_loss, dropped_train)) = experiment.values()
    assert len(plain["loss"]) == len(dropped["loss"]) == 30
    assert plain_train >= 0.999 and plain_loss < 0.05  # 1,000 images learned by heart
    plain_gap = plain_train - plain["val_accuracy"][-1]
    dropped_gap = dropped_train - dropped["val_accuracy"][-1]
    assert plain_gap > 0.1  # real overfitting: over 10 points between training and validation
    assert dropped_gap < plain_gap
    assert dropped["val_accuracy"][-1] > plain["val_accuracy"][-1]
    assert dropped["val_loss"][-1] < plain["val_loss"][-1]
    # without dropout the validation loss rises again after its minimum: the signature of overfitting
    assert plain["val_loss"][-1] > 1.05 * min(plain["val_loss"])
