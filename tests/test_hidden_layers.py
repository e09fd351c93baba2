"""The networks of docs/hidden_layers.md: NumPy against Keras, the counts, the claims, the errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from snippets import hidden_layers as hl

RNG = np.random.default_rng(0)
ARCHITECTURES = [(2, 1), (2, 2, 1), (2, 2, 2, 1), (2, 8, 1), (3, 4, 2), (5, 3, 3, 4)]


def random_weights(sizes, scale=1.5):
    """Weights and biases, all non-zero, large enough that tanh is far from linear."""
    return [
        RNG.normal(scale=scale, size=shape)
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
        for shape in ((n_in, n_out), (n_out,))
    ]


def float64_model(sizes):
    """hl.keras_mlp's layers in float64, so that Keras and NumPy can agree to more than float32's digits."""
    hidden = [keras.layers.Dense(n, activation="tanh", dtype="float64") for n in sizes[1:-1]]
    return keras.Sequential(
        [
            keras.Input((sizes[0],), dtype="float64"),
            *hidden,
            keras.layers.Dense(sizes[-1], activation="sigmoid", dtype="float64"),
        ]
    )


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
@pytest.mark.parametrize("n", [1, 7, 64])
def test_forward_equals_keras_predict(sizes, n):
    weights = random_weights(sizes)
    model = hl.keras_mlp(sizes)
    model.set_weights(weights)
    X = RNG.normal(scale=2.0, size=(n, sizes[0]))
    ours = hl.forward(X, weights)
    assert ours.shape == (n, sizes[-1])
    np.testing.assert_allclose(ours, model.predict(X, verbose=0), rtol=0, atol=1e-6)


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
def test_every_layer_output_equals_the_keras_layer(sizes):
    weights = random_weights(sizes)
    model = float64_model(sizes)
    model.set_weights(weights)
    X = RNG.normal(size=(20, sizes[0]))
    a = X
    for layer, ours in zip(model.layers, hl.layer_outputs(X, weights)[1:]):
        a = keras.ops.convert_to_numpy(layer(a))
        np.testing.assert_allclose(ours, a, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("sizes", ARCHITECTURES + [(784, 1024, 10), (3136, 1024, 10)], ids=str)
def test_parameter_counts_agree_with_keras(sizes):
    model = hl.keras_mlp(sizes)
    assert hl.count_parameters(sizes) == model.count_params()
    assert hl.parameters_per_layer(sizes) == [layer.count_params() for layer in model.layers]
    assert hl.count_parameters(sizes) == sum(w.size for w in hl.init_weights(sizes))


def test_the_notes_parameter_counts():
    assert hl.count_parameters((2, 2, 1)) == 9  # w1, w11, w12, w2, w21, w22, b, b1, b2 (section 2.2)
    assert hl.count_parameters((2, 2, 2, 1)) == 15  # section 2.3
    assert hl.parameters_per_layer((3136, 1024, 10)) == [3_212_288, 10_250]  # the notes' model.summary()
    assert 416 + hl.count_parameters((3136, 1024, 10)) == 3_222_954  # their total, with the convolution
    assert hl.count_parameters((784, 1024, 10)) == 814_090


@pytest.mark.parametrize("sizes", [(2, 1), (2, 2, 1), (2, 2, 2, 1), (3, 5, 4, 1)], ids=str)
def test_gradients_equal_gradient_tape(sizes):
    weights = random_weights(sizes, scale=0.8)
    X = RNG.normal(size=(30, sizes[0]))
    y = (RNG.random(30) < 0.5).astype(float)
    model = float64_model(sizes)
    model.set_weights(weights)
    with tf.GradientTape() as tape:
        p = model(X)[:, 0]
        loss = -tf.reduce_mean(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
    expected = tape.gradient(loss, model.trainable_variables)
    for ours, theirs in zip(hl.gradients(X, y, weights), expected):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_gradients_equal_central_differences():
    sizes = (2, 3, 2, 1)
    weights = random_weights(sizes, scale=0.8)
    X, y = hl.make_quadrants(25, seed=3)

    def loss(ws):
        p = hl.forward(X, ws)[:, 0]
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    h = 1e-6
    for array, grad in zip(weights, hl.gradients(X, y, weights)):
        numerical = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up = loss(weights)
            array[index] = saved - h
            down = loss(weights)
            array[index] = saved
            numerical[index] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numerical, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("sizes", [(2, 2, 1), (2, 3, 2, 1)], ids=str)
def test_train_does_what_keras_fit_does_with_full_batches(sizes):
    X, y = hl.make_quadrants(50, seed=1)
    model = float64_model(sizes)
    model.set_weights(hl.init_weights(sizes, seed=3))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="binary_crossentropy")
    model.fit(X, y, batch_size=len(X), epochs=10, verbose=0)
    ours = hl.train(X, y, sizes, seed=3, steps=10, learning_rate=0.1)
    start = hl.init_weights(sizes, seed=3)
    for w, theirs, w0 in zip(ours, model.get_weights(), start):
        assert np.max(np.abs(w - w0)) > 0.1  # the weights did move
        # Keras computes Adam's bias corrections 1 - 0.999^t in float32: steps differ by ~1e-5 relative
        np.testing.assert_allclose(w, theirs, rtol=0, atol=1e-4)


def test_init_weights_is_what_keras_dense_starts_from():
    layer = hl.keras_mlp((2, 2, 1)).layers[0]
    assert type(layer.kernel_initializer).__name__ == "GlorotUniform"
    assert type(layer.bias_initializer).__name__ == "Zeros"
    W1, b1, W2, b2 = hl.init_weights((2, 2, 1), seed=0)
    assert np.all(np.abs(W1) <= np.sqrt(6 / 4)) and np.all(np.abs(W2) <= np.sqrt(6 / 3))
    assert not b1.any() and not b2.any()
    many = hl.init_weights((300, 200), seed=1)[0]
    limit = np.sqrt(6 / 500)
    assert limit * 0.99 < np.max(np.abs(many)) <= limit  # uniform up to the Glorot limit


def test_the_data_sets():
    X, y = hl.make_wedge(500, seed=4)
    assert X.shape == (500, 2) and np.all(np.abs(X) <= 1)
    np.testing.assert_array_equal(y, (X[:, 1] > X[:, 0] - 0.5) & (X[:, 1] > -X[:, 0] - 0.5))
    assert 0.3 < y.mean() < 0.7
    np.testing.assert_array_equal(hl.make_wedge(500, seed=4)[0], X)  # the seed fixes the data

    X, y = hl.make_quadrants(400, seed=2, gap=0.2)
    assert np.all((np.abs(X) >= 0.2) & (np.abs(X) <= 1))
    quadrant = {(1, 1): 1, (-1, 1): 0, (-1, -1): 1, (1, -1): 0}  # quadrants 1 and 3 are class 1
    for point, label in zip(np.sign(X).astype(int), y):
        assert quadrant[tuple(point)] == label
    assert len({tuple(p) for p in np.sign(X).astype(int)}) == 4


def test_one_line_fails_two_units_do_not_solve_the_quadrants_two_layers_can():
    """The page's claims about the quadrant data, from the same 20 starts."""
    X, y = hl.make_quadrants(200, seed=0)
    seeds = range(20)
    logistic = max(hl.accuracy(X, y, hl.train(X, y, (2, 1), seed)) for seed in seeds)
    assert logistic < 0.6  # one line: about as good as always answering the larger class
    assert all(hl.accuracy(X, y, hl.train(X, y, (2, 2, 1), seed)) < 1 for seed in seeds)
    solved = [seed for seed in seeds if hl.accuracy(X, y, hl.train(X, y, (2, 2, 2, 1), seed)) == 1]
    assert 1 <= len(solved) <= 10  # it can be done, but from few starts
    longer = [seed for seed in seeds if hl.accuracy(X, y, hl.train(X, y, (2, 2, 2, 1), seed, steps=1000)) == 1]
    assert len(longer) == len(solved)  # training longer does not rescue the others
    assert all(hl.accuracy(X, y, hl.train(X, y, (2, 8, 1), seed)) == 1 for seed in seeds)

    # The notes: the first layer sends the classes to opposite corners of the (z1, z2) square.
    weights = hl.train(X, y, (2, 2, 2, 1), solved[0])
    Z = hl.layer_outputs(X, weights)[1]
    corners = {}
    for quadrant in [(1, 1), (-1, 1), (-1, -1), (1, -1)]:
        mean_z = Z[np.all(np.sign(X) == quadrant, axis=1)].mean(axis=0)
        assert np.all(np.abs(mean_z) > 0.5)  # near a corner of the square
        corners[quadrant] = tuple(np.sign(mean_z).astype(int))
    # crosses (quadrants 1, 3) at two opposite corners, circles (2, 4) at the other two: XOR in (z1, z2)
    assert corners[(1, 1)] == tuple(-c for c in corners[(-1, -1)])
    assert corners[(-1, 1)] == tuple(-c for c in corners[(1, -1)])
    assert len(set(corners.values())) == 4  # one corner per quadrant


def test_two_units_solve_the_four_point_xor_but_not_the_filled_quadrants():
    """The page: the classic four-point XOR is solved by 2 -> 2 -> 1; the filled quadrants defeat it here."""
    X4 = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    y4 = np.array([1.0, 1.0, 0.0, 0.0])  # same sign: a cross
    # By hand: two parallel lines x1 - x2 = -1 and x1 - x2 = 1, and the output keeps the band between them.
    band = [np.array([[5.0, 5.0], [-5.0, -5.0]]), np.array([5.0, -5.0]), np.array([[5.0], [-5.0]]), np.array([-5.0])]
    assert hl.accuracy(X4, y4, band) == 1
    # Trained: some of the page's 20 starts find it on the four points too.
    assert any(hl.accuracy(X4, y4, hl.train(X4, y4, (2, 2, 1), seed)) == 1 for seed in range(20))
    # The same band on the filled quadrants (at least 0.1 from the axes) gets points near the origin wrong.
    X, y = hl.make_quadrants(200, seed=0)
    assert hl.accuracy(X, y, band) < 1


def test_a_hidden_layer_of_two_learns_the_wedge():
    X, y = hl.make_wedge(200, seed=0)
    weights = hl.train(X, y, (2, 2, 1), seed=0)
    assert hl.accuracy(X, y, weights) >= 0.95
    assert max(hl.accuracy(X, y, hl.train(X, y, (2, 1), seed)) for seed in range(3)) < 0.9  # one line is not enough


def bad_forward_inputs():
    W = [np.ones((2, 2)), np.zeros(2), np.ones((2, 1)), np.zeros(1)]
    return [
        (np.ones(2), W, "X must be 2-D"),
        (np.ones((1, 2, 2)), W, "X must be 2-D"),
        ([["a", "b"]], W, "expected real numbers"),
        (np.ones((3, 2)), W[:3], "even number of arrays"),
        (np.ones((3, 2)), [], "even number of arrays"),
        (np.ones((3, 2)), np.ones((2, 2)), "as model.get_weights"),
        (np.ones((3, 3)), W, "layer 1 does not chain"),
        (np.ones((3, 2)), [np.ones((2, 2)), np.zeros(3), *W[2:]], "layer 1 does not chain"),
        (np.ones((3, 2)), [*W[:2], np.ones((3, 1)), np.zeros(1)], "layer 2 does not chain"),
        (np.ones((3, 2)), [*W[:2], np.ones(2), np.zeros(1)], "layer 2 does not chain"),
    ]


@pytest.mark.parametrize("X, weights, message", bad_forward_inputs())
def test_bad_network_input_gets_a_clear_error(X, weights, message):
    with pytest.raises(ValueError, match=message):
        hl.forward(X, weights)


@pytest.mark.parametrize("sizes", [(2,), (2, 0), (2, -1, 1), (2.5, 1), "21", 5, (True, 1)], ids=repr)
def test_bad_sizes_are_rejected(sizes):
    for f in (hl.count_parameters, hl.parameters_per_layer, hl.init_weights, hl.keras_mlp):
        with pytest.raises(ValueError, match="sizes must be at least 2 positive integers"):
            f(sizes)


@pytest.mark.parametrize("n", [0, -3, 2.5, "10", None])
def test_bad_point_counts_are_rejected(n):
    for make in (hl.make_wedge, hl.make_quadrants):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            make(n)


@pytest.mark.parametrize("gap", [-0.1, 1, 1.5, "0.1", None])
def test_bad_gaps_are_rejected(gap):
    with pytest.raises(ValueError, match=r"gap must be a number in \[0, 1\)"):
        hl.make_quadrants(10, gap=gap)


@pytest.mark.parametrize("steps, learning_rate", [(0, 0.1), (-5, 0.1), (1.5, 0.1), (10, 0), (10, -0.1), (10, "0.1")])
def test_bad_training_settings_are_rejected(steps, learning_rate):
    X, y = hl.make_quadrants(10)
    with pytest.raises(ValueError, match="steps must be a positive integer and learning_rate > 0"):
        hl.train(X, y, (2, 2, 1), steps=steps, learning_rate=learning_rate)


def test_bad_labels_and_outputs_are_rejected():
    X, y = hl.make_quadrants(10)
    with pytest.raises(ValueError, match="y must hold one label, 0 or 1, per point"):
        hl.train(X, y[:5], (2, 2, 1), steps=1)
    with pytest.raises(ValueError, match="y must hold one label, 0 or 1, per point"):
        hl.accuracy(X, 2 * y, hl.init_weights((2, 1)))
    with pytest.raises(ValueError, match="layer 1 does not chain"):
        hl.train(X, y, (3, 2, 1), steps=1)  # 3 inputs declared, 2 in X
    with pytest.raises(ValueError, match="gradients needs one output unit"):
        hl.gradients(X, y, hl.init_weights((2, 2, 2)))


# ---------------------------------------------------------------- backpropagation, from the gradient descent page

# (inputs d, hidden units H, points N): the notes' 2-2 network and other sizes
SIZES = [(2, 2, 200), (3, 5, 17), (1, 1, 1), (4, 3, 50)]


def random_params(n_inputs, n_hidden, scale=1.0):
    """[W1, b1, W2, b2], random weights and biases (zero biases would hide bias mistakes)."""
    return [
        RNG.normal(scale=scale, size=(n_inputs, n_hidden)),
        RNG.normal(size=n_hidden),
        RNG.normal(scale=scale, size=(n_hidden, 1)),
        RNG.normal(size=1),
    ]


def random_data(n_inputs, n):
    return RNG.normal(size=(n, n_inputs)), (RNG.random(n) < 0.5).astype(np.float64)


def tape_gradients(weights, X, y, activation="tanh"):
    """The loss and gradient of the mean binary cross-entropy of a float64 Keras model, by tf.GradientTape."""
    n_inputs, n_hidden = weights[0].shape
    model = keras.Sequential(
        [
            keras.Input(shape=(n_inputs,), dtype="float64"),
            keras.layers.Dense(n_hidden, activation=activation, dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )
    model.set_weights(weights)
    with tf.GradientTape() as tape:
        logits = model(tf.constant(X))[:, 0]
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(y), logits=logits))
    grads = tape.gradient(loss, model.trainable_weights)
    return float(loss), [g.numpy() for g in grads], model


@pytest.mark.parametrize("n_inputs, n_hidden, n", SIZES)
def test_backprop_equals_gradient_tape(n_inputs, n_hidden, n):
    weights = random_params(n_inputs, n_hidden)
    X, y = random_data(n_inputs, n)
    loss, tape, model = tape_gradients(weights, X, y)
    assert hl.network_loss(X, y, weights) == pytest.approx(loss, rel=1e-12)
    logits = model(X).numpy()
    np.testing.assert_allclose(hl.forward(X, weights), 1 / (1 + np.exp(-logits)), rtol=1e-12, atol=1e-14)
    assert hl.relative_difference(hl.network_gradients(X, y, weights), tape) < 1e-10


@pytest.mark.parametrize("n_inputs, n_hidden, n", SIZES)
def test_backprop_equals_central_differences(n_inputs, n_hidden, n):
    weights = random_params(n_inputs, n_hidden)
    X, y = random_data(n_inputs, n)
    numerical = hl.numerical_gradient(lambda ws: hl.network_loss(X, y, ws), weights, h=1e-6)
    assert hl.relative_difference(hl.network_gradients(X, y, weights), numerical) < 1e-6


@pytest.mark.parametrize("n_inputs, n_hidden, n", SIZES)
def test_the_loop_gradients_are_network_gradients_for_one_hidden_layer(n_inputs, n_hidden, n):
    weights = random_params(n_inputs, n_hidden)
    X, y = random_data(n_inputs, n)
    for ours, loop in zip(hl.network_gradients(X, y, weights), hl.gradients(X, y, weights)):
        np.testing.assert_allclose(ours, loop, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n_inputs, n_hidden, n", SIZES)
def test_relu_backprop_equals_gradient_tape(n_inputs, n_hidden, n):
    weights = random_params(n_inputs, n_hidden)
    X, y = random_data(n_inputs, n)
    _, tape, _ = tape_gradients(weights, X, y, activation="relu")
    assert hl.relative_difference(hl.relu_network_gradients(X, y, weights), tape) < 1e-10


def test_the_notes_network_has_nine_parameters_like_keras():
    weights = hl.init_weights((2, 2, 1))
    assert sum(value.size for value in weights) == 9
    assert tape_gradients(weights, *random_data(2, 5))[2].count_params() == 9


def test_keras_fit_with_sgd_is_sgd_with_backpropagation():
    """The page's Keras tab: float64 layers and a Dataset; fit would cast NumPy arrays to float32."""
    X, y = hl.make_wedge(60, seed=5)
    start = hl.init_weights((2, 2, 1), seed=3)
    ours = hl.sgd(X, y, start, 0.5, epochs=4, batch_size=16)[-1]  # batches of 16, 16, 16, 12

    def fitted(data, **options):
        _, _, model = tape_gradients(start, X, y)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.5),
            loss=keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64"),
        )
        model.fit(data, epochs=4, shuffle=False, verbose=0, **options)
        return model.get_weights()

    assert hl.relative_difference(fitted(tf.data.Dataset.from_tensor_slices((X, y)).batch(16)), ours) < 1e-12
    if keras.config.floatx() == "float32":  # NumPy arrays are cast to floatx: only float32's digits agree
        from_arrays = fitted(X, y=y, batch_size=16)
        assert 1e-10 < hl.relative_difference(from_arrays, ours) < 1e-5


def test_keras_fit_with_numpy_arrays_in_float64_is_sgd_too(float64_keras):
    X, y = hl.make_wedge(60, seed=5)
    start = hl.init_weights((2, 2, 1), seed=3)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2, activation="tanh"), keras.layers.Dense(1)])
    model.set_weights(start)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.5), loss=keras.losses.BinaryCrossentropy(from_logits=True)
    )
    model.fit(X, y, batch_size=16, epochs=4, shuffle=False, verbose=0)
    ours = hl.sgd(X, y, start, 0.5, epochs=4, batch_size=16)[-1]
    assert hl.relative_difference(model.get_weights(), ours) < 1e-12


def test_training_the_network_finds_the_two_lines_of_the_wedge():
    """The page: 100 epochs of SGD, batches of 20, rate 0.5; each hidden unit learns one of the data's lines."""
    X, y = hl.make_wedge(200, seed=0)
    history = hl.sgd(X, y, hl.init_weights((2, 2, 1), seed=0), 0.5, epochs=100, batch_size=20)
    assert hl.network_loss(X, y, history[-1]) < 0.07 < 0.5 < hl.network_loss(X, y, history[0])
    assert hl.accuracy(X, y, history[-1]) >= 0.98
    W1, b1 = history[-1][:2]
    norms = np.linalg.norm(W1, axis=0)
    normals = W1 / norms  # each hidden unit's line w_1j x_1 + w_2j x_2 + b_j = 0
    lines = np.array([[-1.0, 1.0], [1.0, 1.0]]).T / np.sqrt(2)  # x2 = x1 - 0.5 and x2 = -x1 - 0.5
    match = np.abs(normals.T @ lines)
    assert np.all(match.max(axis=1) > 0.99)  # each unit found one of the lines ...
    assert set(match.argmax(axis=1)) == {0, 1}  # ... and they found different ones
    # the data's lines lie 0.5 / sqrt(2) from the origin; so do the units' lines
    np.testing.assert_allclose(np.abs(b1) / norms, 0.5 / np.sqrt(2), atol=0.02)


def test_the_finite_difference_error_is_smallest_for_a_middle_step():
    weights = random_params(2, 2)
    X, y = random_data(2, 100)
    exact = hl.network_gradients(X, y, weights)
    error = {
        h: hl.relative_difference(hl.numerical_gradient(lambda ws: hl.network_loss(X, y, ws), weights, h), exact)
        for h in (1e-1, 1e-6, 1e-12)
    }
    assert error[1e-6] < 1e-8 and error[1e-6] < error[1e-1] / 1000 and error[1e-6] < error[1e-12] / 1000


def test_in_float32_no_step_h_gives_a_gradient_check_near_float64_accuracy():
    weights = random_params(2, 2)
    X, y = random_data(2, 100)
    exact = hl.network_gradients(X, y, weights)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    w32 = [value.astype(np.float32) for value in weights]

    def loss32(ws):  # the page's loss, every number in float32
        v = (np.tanh(X32 @ ws[0] + ws[1]) @ ws[2] + ws[3])[:, 0]
        return np.mean(np.maximum(v, 0) - v * y32 + np.log1p(np.exp(-np.abs(v))))

    def float32_error(h):
        numerical = []
        for k, value in enumerate(w32):
            numerical.append(np.zeros(value.shape))
            for index in np.ndindex(value.shape):
                up, down = value.copy(), value.copy()
                up[index] += np.float32(h)
                down[index] -= np.float32(h)
                step = float(up[index]) - float(down[index])  # 2h, as float32 could represent it
                with_up, with_down = [*w32[:k], up, *w32[k + 1 :]], [*w32[:k], down, *w32[k + 1 :]]
                numerical[k][index] = float(loss32(with_up) - loss32(with_down)) / step
        return hl.relative_difference(numerical, exact)

    assert loss32(w32).dtype == np.float32
    errors = [float32_error(h) for h in (1e-1, 1e-2, 1e-3, 1e-4)]
    assert 1e-6 < min(errors) < 1e-3


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.zeros((5, 2)), np.zeros(4), r"y must hold one label, 0 or 1, per point: shape \(5,\)"),
        (np.zeros((5, 2)), np.zeros((5, 1)), "y must hold one label"),
        (np.zeros(5), np.zeros(5), "X must be 2-D"),
        (np.zeros((3, 2)), np.array([0.0, 1.0, 2.0]), "y must hold one label, 0 or 1"),
        (np.array([["a", "b"]]), np.zeros(1), "expected real numbers"),
    ],
)
def test_mismatched_or_malformed_data_is_rejected_by_backprop(X, y, message):
    weights = hl.init_weights((2, 2, 1))
    for call in (
        lambda: hl.network_gradients(X, y, weights),
        lambda: hl.relu_network_gradients(X, y, weights),
        lambda: hl.network_loss(X, y, weights),
        lambda: hl.sgd(X, y, weights, 0.1, 1, 1),
    ):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize(
    "change, message",
    [
        ({0: np.zeros((3, 2))}, "layer 1 does not chain"),  # 3 inputs, but X has 2
        ({1: np.zeros(3)}, "layer 1 does not chain"),
        ({2: np.zeros(2)}, "layer 2 does not chain"),  # a column (2, 1) is expected
        ({3: np.zeros(2)}, "layer 2 does not chain"),
        ({2: np.zeros((2, 2)), 3: np.zeros(2)}, "gradients needs one output unit"),
    ],
)
def test_wrong_weight_shapes_are_rejected_by_backprop(change, message):
    weights = [change.get(k, w) for k, w in enumerate(hl.init_weights((2, 2, 1)))]
    X, y = random_data(2, 5)
    for function in (hl.network_gradients, hl.relu_network_gradients, hl.network_loss):
        with pytest.raises(ValueError, match=message):
            function(X, y, weights)


def test_network_gradients_wants_exactly_one_hidden_layer():
    X, y = random_data(2, 5)
    for sizes in [(2, 1), (2, 2, 2, 1)]:
        with pytest.raises(ValueError, match="network_gradients is for one hidden layer"):
            hl.network_gradients(X, y, hl.init_weights(sizes))
    with pytest.raises(ValueError, match="even number of arrays"):
        hl.network_gradients(X, y, hl.init_weights((2, 2, 1))[:3])


def test_other_bad_backprop_input_is_rejected():
    with pytest.raises(ValueError, match="the step h must be a number > 0"):
        hl.numerical_gradient(lambda ws: 0.0, [np.zeros(2)], h=0.0)
    with pytest.raises(ValueError, match="expected arrays of the same shapes"):
        hl.relative_difference([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="expected arrays of the same shapes"):
        hl.relative_difference([np.zeros(2)], [np.zeros(2), np.zeros(1)])
    X, y = hl.make_wedge(10)
    weights = hl.init_weights((2, 2, 1))
    for epochs, batch_size in [(-1, 2), (1.5, 2), (1, 0), (1, 11), (1, 2.0), (True, 2)]:
        with pytest.raises(ValueError, match="epochs must be a whole number >= 0 and batch_size one between 1"):
            hl.sgd(X, y, weights, 0.1, epochs, batch_size)
    with pytest.raises(ValueError, match="learning_rate must be a number > 0"):
        hl.sgd(X, y, weights, 0.0, 1, 2)
