"""The from-scratch optimizers of docs/optimizers.md make the same updates as keras.optimizers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from snippets import optimizers as opt
from tools.blocks import read_section

SHAPES = [(), (7,), (3, 4), (2, 3, 5)]
# our class, Keras class, hyper-parameters both get (neither the page's nor Keras's defaults), Keras-only extras
CASES = [
    (opt.SGD, "SGD", dict(learning_rate=0.05), {}),
    (opt.Momentum, "SGD", dict(learning_rate=0.02, momentum=0.8), {}),
    (opt.AdaGrad, "Adagrad", dict(learning_rate=0.3, initial_accumulator_value=0.5, epsilon=1e-6), {}),
    (opt.RMSprop, "RMSprop", dict(learning_rate=0.05, rho=0.95, epsilon=1e-5), {}),
    (opt.Adam, "Adam", dict(learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-6), {}),
    (opt.Nesterov, "SGD", dict(learning_rate=0.02, momentum=0.8), dict(nesterov=True)),
]
IDS = [case[0].__name__ for case in CASES]


def random_bowl(shape, seed):
    """The gradient of 0.5 * sum(a * (w - c)^2): a random convex bowl whose minimum c is away from 0."""
    rng = np.random.default_rng(seed)
    a, c = rng.uniform(0.5, 3.0, size=shape), rng.normal(size=shape) + 2.0
    return lambda w: a * (np.asarray(w) - c), c


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("ours, keras_name, hyper, extra", CASES, ids=IDS)
def test_same_update_as_keras_at_every_step(ours, keras_name, hyper, extra, shape):
    gradient, minimum = random_bowl(shape, seed=len(shape))
    start = np.random.default_rng(1).normal(size=shape)
    differences = opt.side_by_side(
        ours(**hyper), opt.keras_optimizer(keras_name, **hyper, **extra), start, gradient, steps=120
    )
    assert differences.shape == (120,)
    assert differences.max() <= 1e-6
    # and the runs went somewhere: the comparison is not between two points standing still
    end = opt.run(ours(**hyper), start, 120, gradient)[-1]
    assert np.linalg.norm(end - minimum) < 0.5 * np.linalg.norm(start - minimum)


@pytest.mark.parametrize("label", list(opt.CHOICES))
def test_the_pages_settings_match_keras_on_the_valley(label):
    ours, keras_name, hyper = opt.CHOICES[label]
    differences = opt.side_by_side(
        ours(**hyper), opt.keras_optimizer(keras_name, **hyper), opt.START, opt.loss_gradient, steps=150
    )
    assert differences.max() <= 1e-6


def test_keras_rounds_python_float_hyperparameters_to_float32():
    """The pitfall on the page: with plain Python floats Adam drifts past 1e-6; keras_optimizer does not."""
    assert float(keras.ops.cast(0.999, "float64")) == float(np.float32(0.999)) != 0.999
    assert keras.optimizers.Adam(learning_rate=0.3).learning_rate.dtype == "float32"
    ours, keras_name, hyper = opt.CHOICES["Adam"]
    plain = opt.side_by_side(ours(**hyper), keras.optimizers.Adam(**hyper), opt.START, opt.loss_gradient, 150)
    assert plain.max() > 1e-6


def test_keras_optimizer_restores_floatx_even_after_an_error():
    before = keras.config.floatx()
    assert opt.keras_optimizer("Adam", learning_rate=0.1).learning_rate.dtype == "float64"
    with pytest.raises(ValueError):
        opt.keras_optimizer("SGD", learning_rate=0.1, momentum=2.0)  # Keras rejects it
    assert keras.config.floatx() == before


def test_sgd_and_momentum_by_hand():
    np.testing.assert_allclose(opt.SGD(learning_rate=0.1).step([1.0, 2.0], [0.5, -1.0]), [0.95, 2.1], rtol=1e-15)
    momentum = opt.Momentum(learning_rate=0.1, momentum=0.9)
    w1 = momentum.step([0.0], [1.0])  # v = -0.1
    w2 = momentum.step(w1, [1.0])  # v = 0.9 * -0.1 - 0.1 = -0.19
    np.testing.assert_allclose([w1[0], w2[0]], [-0.1, -0.29], rtol=1e-14)


def test_momentum_velocity_reaches_learning_rate_times_gradient_over_one_minus_momentum():
    momentum, w, g = opt.Momentum(learning_rate=0.01, momentum=0.9), np.zeros(3), np.array([1.0, -2.0, 0.5])
    for _ in range(400):
        w = momentum.step(w, g)
    np.testing.assert_allclose(momentum.velocity, -0.01 * g / (1 - 0.9), rtol=1e-12)


def test_momentum_zero_is_plain_sgd():
    np.testing.assert_array_equal(
        opt.run(opt.Momentum(learning_rate=0.9, momentum=0.0), opt.START, 20),
        opt.run(opt.SGD(learning_rate=0.9), opt.START, 20),
    )


def test_adagrad_effective_learning_rate_never_grows_but_rmsprops_does():
    rng = np.random.default_rng(3)
    gradients = rng.normal(size=(300, 4)) * np.geomspace(10, 0.01, 300)[:, None]  # gradients that fade away
    adagrad, rmsprop, w = opt.AdaGrad(learning_rate=0.1), opt.RMSprop(learning_rate=0.1), np.zeros(4)
    adagrad_rates, rmsprop_rates = [], []
    for g in gradients:
        adagrad.step(w, g)
        rmsprop.step(w, g)
        adagrad_rates.append(0.1 / np.sqrt(adagrad.accumulator + adagrad.epsilon))
        rmsprop_rates.append(0.1 / np.sqrt(rmsprop.average + rmsprop.epsilon))
    assert np.all(np.diff(adagrad_rates, axis=0) <= 0)
    assert np.all(rmsprop_rates[-1] > 100 * rmsprop_rates[0])


def test_the_memory_table():
    """Steep for 50 steps, then flat: AdaGrad's step stays tiny, RMSprop's recovers, Adam's is in between."""
    gradients = np.r_[np.full(50, 10.0), np.full(950, 0.1)]
    sizes = {}
    for optimizer in (opt.AdaGrad(learning_rate=0.1), opt.RMSprop(learning_rate=0.1), opt.Adam(learning_rate=0.1)):
        w, path = np.zeros(1), [0.0]
        for g in gradients:
            w = optimizer.step(w, [g])
            path.append(w[0])
        sizes[type(optimizer).__name__] = np.abs(np.diff(path))
    assert np.all(sizes["AdaGrad"][50:] < 0.1 / 500)  # "about 1/700 of its learning rate"
    assert np.all(np.diff(sizes["AdaGrad"][50:]) <= 0)  # and it never recovers
    assert sizes["RMSprop"][199] == pytest.approx(0.1, rel=0.01)  # back to the learning rate by step 200
    assert sizes["AdaGrad"][999] < sizes["Adam"][999] < sizes["RMSprop"][999]


@pytest.mark.parametrize("scale", [0.1, 1.0, 1e3])
def test_adams_first_step_is_the_learning_rate_in_every_coordinate(scale):
    rng = np.random.default_rng(4)
    g = rng.choice([-1, 1], size=(5, 2)) * rng.uniform(1, 100, size=(5, 2)) * scale  # magnitudes over 4 decades
    step = opt.Adam(learning_rate=0.3).step(np.zeros((5, 2)), g)
    np.testing.assert_allclose(np.abs(step), 0.3, rtol=1e-3)
    np.testing.assert_array_equal(np.sign(step), -np.sign(g))


def test_adam_equals_the_papers_bias_corrected_form_with_epsilon_hat():
    """Kingma and Ba: w -= lr * m_hat / (sqrt(v_hat) + eps_hat), with eps_hat = eps / sqrt(1 - beta_2^t)."""
    gradient, _ = random_bowl((6,), seed=5)
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-7
    adam, w, paper, m, v = opt.Adam(lr, b1, b2, eps), np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6)
    for t in range(1, 80):
        w = adam.step(w, gradient(w))
        g = gradient(paper)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        paper = paper - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
        np.testing.assert_allclose(w, paper, rtol=1e-10)


def test_sgd_converges_below_learning_rate_one_and_diverges_above():
    for lr, grows in [(0.05, False), (0.95, False), (0.99, False), (1.01, True), (1.05, True)]:
        losses = opt.loss(opt.run(opt.SGD(learning_rate=lr), opt.START, 400))
        assert (losses[-1] > losses[0]) == grows, lr
    # in the long run the fastest is 2 / (largest + smallest curvature), where both directions shrink by 0.905
    late = {lr: opt.loss(opt.run(opt.SGD(learning_rate=lr), opt.START, 300))[-1] for lr in (0.5, 0.9, 2 / 2.1, 0.99)}
    assert min(late, key=late.get) == 2 / 2.1
    assert late[2 / 2.1] == pytest.approx(opt.loss(opt.START) * (1.9 / 2.1) ** 600, rel=1e-6)


def test_every_optimizer_on_the_page_goes_down_the_valley():
    for label, (ours, _, hyper) in opt.CHOICES.items():
        losses = opt.loss(opt.run(ours(**hyper), opt.START, 30))
        assert losses[-1] < losses[0] / 50, label
    assert opt.loss(opt.run(opt.RMSprop(learning_rate=0.5), opt.START, 30)[-1]) < 1e-8  # the page says so
    hyper = dict(learning_rate=0.1, momentum=0.9)
    nesterov, momentum = opt.run(opt.Nesterov(**hyper), opt.START, 30), opt.run(opt.Momentum(**hyper), opt.START, 30)
    assert opt.loss(nesterov[-1]) < opt.loss(momentum[-1])


def test_the_valley_and_its_gradient():
    points = np.random.default_rng(6).normal(size=(50, 2)) * 3
    h = 1e-6
    for p in points:
        numerical = [(opt.loss(p + h * e) - opt.loss(p - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(opt.loss_gradient(p), numerical, rtol=1e-6, atol=1e-8)
    assert opt.loss(points.reshape(5, 10, 2)).shape == (5, 10)
    assert opt.loss([0.0, 0.0]) == 0.0


def test_step_returns_new_float64_parameters_and_leaves_its_inputs_alone():
    params, grads = np.array([1, 2, 3]), np.array([1.0, 1.0, 1.0])
    for ours, _, hyper, _ in CASES:
        new = ours(**hyper).step(params, grads)
        assert new.dtype == np.float64 and new.shape == (3,) and not np.shares_memory(new, params)
        np.testing.assert_array_equal(params, [1, 2, 3])
        np.testing.assert_array_equal(grads, [1.0, 1.0, 1.0])


BAD_HYPERPARAMETERS = [
    (lambda: opt.SGD(learning_rate=0), r"learning_rate must be in \(0, inf\)"),
    (lambda: opt.SGD(learning_rate=-0.1), r"learning_rate must be in \(0, inf\)"),
    (lambda: opt.Adam(learning_rate=float("nan")), "learning_rate must be in"),
    (lambda: opt.Adam(learning_rate=float("inf")), "learning_rate must be in"),
    (lambda: opt.SGD(learning_rate="0.1"), "learning_rate must be a real number"),
    (lambda: opt.SGD(learning_rate=None), "learning_rate must be a real number"),
    (lambda: opt.SGD(learning_rate=True), "learning_rate must be a real number"),
    (lambda: opt.Momentum(momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda: opt.Momentum(momentum=-0.1), r"momentum must be in \[0, 1\)"),
    (lambda: opt.Nesterov(momentum=1.5), r"momentum must be in \[0, 1\)"),
    (lambda: opt.RMSprop(rho=1.0), r"rho must be in \[0, 1\)"),
    (lambda: opt.Adam(beta_1=1.0), r"beta_1 must be in \[0, 1\)"),
    (lambda: opt.Adam(beta_2=-0.5), r"beta_2 must be in \[0, 1\)"),
    (lambda: opt.AdaGrad(epsilon=-1e-7), r"epsilon must be in \[0, inf\)"),
    (lambda: opt.RMSprop(epsilon=-1e-7), r"epsilon must be in \[0, inf\)"),
    (lambda: opt.Adam(epsilon=-1e-7), r"epsilon must be in \[0, inf\)"),
    (lambda: opt.AdaGrad(initial_accumulator_value=-0.1), r"initial_accumulator_value must be in \[0, inf\)"),
]


@pytest.mark.parametrize("make, message", BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_get_a_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("params_shape, grads_shape", [((2,), (3,)), ((2, 3), (3, 2)), ((), (1,)), ((4,), (1,))])
@pytest.mark.parametrize("ours, keras_name, hyper, extra", CASES, ids=IDS)
def test_gradients_of_the_wrong_shape_are_rejected(ours, keras_name, hyper, extra, params_shape, grads_shape):
    with pytest.raises(ValueError, match=r"grads must have the shape of params"):
        ours(**hyper).step(np.zeros(params_shape), np.ones(grads_shape))  # (4,) and (1,) would broadcast


def test_one_optimizer_holds_state_for_one_shape():
    adam = opt.Adam()
    adam.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"state for params of shape \(3,\), got \(4,\)"):
        adam.step(np.zeros(4), np.ones(4))


@pytest.mark.parametrize(
    "grads, message",
    [
        ([np.nan, 1.0], "grads must be finite"),
        (["a", "b"], "grads must hold real"),
        ([1 + 2j, 1.0], "grads must hold real"),
        (None, "grads must hold real"),
    ],
)
def test_gradients_that_are_not_finite_real_numbers_are_rejected(grads, message):
    with pytest.raises(ValueError, match=message):
        opt.SGD().step(np.zeros(2), grads)


def test_bad_points_and_steps_are_rejected():
    with pytest.raises(ValueError, match=r"points must have shape \(\.\.\., 2\)"):
        opt.loss(np.zeros(3))
    with pytest.raises(ValueError, match=r"point must have shape \(2,\)"):
        opt.loss_gradient(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="steps must be a non-negative integer"):
        opt.run(opt.SGD(), opt.START, -1)


@pytest.mark.parametrize("section", ["base", "sgd", "momentum", "adagrad", "rmsprop", "adam", "choices"])
def test_the_page_shows_the_rules_and_leaves_the_checks_to_one_line_helpers(section):
    """The optimizers on the page show their update rule; check_hyperparameters and check_step do the checking."""
    code = read_section(f"snippets/optimizers.py:{section}")
    assert "raise ValueError" not in code and "isinstance(" not in code, section


def test_check_hyperparameters_returns_floats_by_name():
    checked = opt.check_hyperparameters(learning_rate=1, momentum=np.float32(0.5), epsilon=0)
    assert checked == {"learning_rate": 1.0, "momentum": 0.5, "epsilon": 0.0}
    assert all(type(value) is float for value in checked.values())
    assert set(opt.RANGES) == {
        "learning_rate",
        "momentum",
        "rho",
        "beta_1",
        "beta_2",
        "epsilon",
        "initial_accumulator_value",
    }
