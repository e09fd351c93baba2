"""Hidden layers: tanh units that each draw a line, layers that combine them, and backpropagation, beside Keras.

Page: docs/hidden_layers.md. Tests: tests/test_hidden_layers.py.
Run the page as a script: ``python -m snippets.hidden_layers``.

Shapes: X is (N, d), N points with d inputs each (d = 2 on the page); y holds
the N labels, 0 or 1. A network is the list ``[W1, b1, W2, b2, ...]`` exactly as
Keras's ``model.get_weights()`` returns it: kernel W_k of shape (n_in, n_out),
so W_k[i, j] connects input i to unit j, and bias b_k of shape (n_out,). Hidden
layers use tanh, the output layer sigmoid.
"""

# --8<-- [start:data]
import keras
import numpy as np


def check_count(n):
    """n as an int, checked to be a positive number of points."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (how many points), got {n!r}")
    return int(n)


def make_wedge(n, seed=0):
    """n points uniform in [-1, 1]^2 and labels: 1 above both lines x2 = x1 - 0.5 and x2 = -x1 - 0.5.

    Two crossing lines cut the square into 4 regions, as in the notes' picture;
    the top region is class 1. One line cannot separate it; two lines can.
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(check_count(n), 2))
    return X, (X[:, 1] > np.abs(X[:, 0]) - 0.5).astype(np.float64)


# --8<-- [end:data]


# --8<-- [start:numpy]
from snippets.activations import as_real_array, sigmoid


def check_network(X, weights):
    """X as float64 (N, d) and the weights as float64 arrays, checked to chain: d -> n1 -> n2 -> ..."""
    X = as_real_array(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, shape (N points, d inputs), got shape {X.shape}")
    if not isinstance(weights, (list, tuple)) or len(weights) == 0 or len(weights) % 2:
        count = len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__
        raise ValueError(
            f"weights must be a list [W1, b1, W2, b2, ...] (an even number of arrays, "
            f"as model.get_weights() returns), got {count}"
        )
    weights = [as_real_array(w) for w in weights]
    width = X.shape[1]
    for k, (W, b) in enumerate(zip(weights[::2], weights[1::2]), start=1):
        if W.ndim != 2 or W.shape[0] != width or b.shape != (W.shape[1],):
            raise ValueError(
                f"layer {k} does not chain: expected a kernel of shape ({width}, n_out) for the "
                f"{width} values coming in and a bias of shape (n_out,), got {W.shape} and {b.shape}"
            )
        width = W.shape[1]
    return X, weights


def layer_outputs(X, weights):
    """[X, a1, a2, ..., P]: what every layer outputs; a_k = tanh(a_(k-1) W_k + b_k), P = sigmoid(...)."""
    X, weights = check_network(X, weights)
    outputs = [X]
    for k in range(0, len(weights), 2):
        z = outputs[-1] @ weights[k] + weights[k + 1]  # one column per unit: w_1j a_1 + w_2j a_2 + ... + b_j
        outputs.append(np.tanh(z) if k + 2 < len(weights) else sigmoid(z))
    return outputs


def forward(X, weights):
    """The network's output P for every point, shape (N, n_out): what model.predict(X) returns."""
    return layer_outputs(X, weights)[-1]


def count_parameters(sizes):
    """sum over layers of (n_in + 1) * n_out: a weight per input plus one bias, for every unit."""
    if (
        not isinstance(sizes, (list, tuple))
        or len(sizes) < 2
        or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in sizes)
    ):
        raise ValueError(f"sizes must be at least 2 positive integers (inputs, ..., outputs), got {sizes!r}")
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


# --8<-- [end:numpy]


# --8<-- [start:backprop]
from snippets.gradient_descent import binary_cross_entropy, check_rate


def init_weights(sizes, seed=0):
    """Random kernels, zero biases, as Keras starts: uniform in +-sqrt(6 / (n_in + n_out)) (Glorot)."""
    count_parameters(sizes)
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6 / (n_in + n_out))
        weights += [rng.uniform(-limit, limit, size=(n_in, n_out)), np.zeros(n_out)]
    return weights


def check_labels(y, n):
    """y as float64 of shape (n,), every label 0 or 1."""
    y = as_real_array(y)
    if y.shape != (n,) or not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold one label, 0 or 1, per point: shape ({n},), got shape {y.shape}")
    return y


def check_binary_network(X, y, weights):
    """X, y and weights checked together: the layers chain, one label per point, one output unit (P of class 1)."""
    X, weights = check_network(X, weights)
    if weights[-1].shape != (1,):
        raise ValueError(f"gradients needs one output unit (P of class 1), got {weights[-1].shape[0]}")
    return X, check_labels(y, len(X)), weights


def network_loss(X, y, weights):
    """E / N, the mean binary cross-entropy of P against y, computed from the output's logit v."""
    X, y, weights = check_binary_network(X, y, weights)
    a = layer_outputs(X, weights)[-2]  # what comes into the output neuron: z for one hidden layer
    return binary_cross_entropy(y, (a @ weights[-2] + weights[-1])[:, 0])  # v = w_1 z_1 + w_2 z_2 + b


def check_one_hidden_layer(X, y, weights):
    """check_binary_network, and exactly one hidden layer: weights = [W1, b1, W2, b2]."""
    X, y, weights = check_binary_network(X, y, weights)
    if len(weights) != 4:
        raise ValueError(
            f"network_gradients is for one hidden layer, [W1, b1, W2, b2], got {len(weights) // 2} layers "
            "(gradients takes any number)"
        )
    return X, y, weights


def network_gradients(X, y, weights):
    """dE/dW1, dE/db1, dE/dW2, dE/db2 for one tanh hidden layer, by backpropagation (the chain rule).

    One forward pass keeps z and P; one backward pass reuses them, from the loss back to W1.
    """
    X, y, (W1, b1, W2, b2) = check_one_hidden_layer(X, y, weights)
    _, z, P = layer_outputs(X, [W1, b1, W2, b2])
    dv = (P - y[:, None]) / len(y)  # (N, 1) dE/dv: sigmoid and cross-entropy cancel to P - y
    dW2 = z.T @ dv  # (H, 1) dE/dw_j = dE/dv * z_j, summed over the points
    db2 = dv.sum(axis=0)  # (1,) dE/db = dE/dv * 1
    dz = dv @ W2.T  # (N, H) dE/dz_j = dE/dv * w_j
    du = dz * (1 - z**2)  # (N, H) dE/du_j = dE/dz_j * tanh'(u_j), and tanh' = 1 - tanh^2
    dW1 = X.T @ du  # (d, H) dE/dw_ij = dE/du_j * x_i
    db1 = du.sum(axis=0)  # (H,) dE/db_j = dE/du_j * 1
    return [dW1, db1, dW2, db2]


# --8<-- [end:backprop]


# --8<-- [start:numerical]
def numerical_gradient(loss, weights, h=1e-6):
    """Central differences (loss(w + h) - loss(w - h)) / 2h for every number in weights, one at a time.

    Two loss evaluations per parameter, each a full forward pass: a fine check
    for 9 parameters, hopeless as a way to train millions.
    """
    if not 0 < h < np.inf:
        raise ValueError(f"the step h must be a number > 0, got {h!r}")
    weights = [as_real_array(w) for w in weights]
    grads = []
    for k, w in enumerate(weights):
        grads.append(np.zeros_like(w))
        for index in np.ndindex(w.shape):
            up, down = w.copy(), w.copy()
            up[index] += h
            down[index] -= h
            with_up, with_down = [*weights[:k], up, *weights[k + 1 :]], [*weights[:k], down, *weights[k + 1 :]]
            grads[k][index] = (loss(with_up) - loss(with_down)) / (2 * h)
    return grads


def relative_difference(grads, reference):
    """|grads - reference| / |reference|, with all the arrays flattened into one vector."""
    if len(grads) != len(reference) or any(np.shape(a) != np.shape(b) for a, b in zip(grads, reference)):
        raise ValueError(
            f"expected arrays of the same shapes, got {[np.shape(a) for a in grads]} "
            f"and {[np.shape(b) for b in reference]}"
        )
    a = np.concatenate([np.ravel(g) for g in grads])
    b = np.concatenate([np.ravel(r) for r in reference])
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# --8<-- [end:numerical]


# --8<-- [start:sgd]
def check_sgd_args(X, y, weights, learning_rate, epochs, batch_size):
    """The network as network_gradients wants it, learning_rate > 0, epochs a whole number >= 0, and
    batch_size one between 1 and the number of points."""
    X, y, weights = check_one_hidden_layer(X, y, weights)
    whole = all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in (epochs, batch_size))
    if not whole or epochs < 0 or not 1 <= batch_size <= len(X):
        raise ValueError(
            f"epochs must be a whole number >= 0 and batch_size one between 1 and the number of points, "
            f"{len(X)}, got {epochs!r} and {batch_size!r}"
        )
    return X, y, weights, check_rate(learning_rate), int(epochs), int(batch_size)


def sgd(X, y, weights, learning_rate, epochs, batch_size):
    """Mini-batch SGD with network_gradients, the batches in the data's order; the weights after every epoch.

    What model.fit(X, y, batch_size, epochs, shuffle=False) does with keras.optimizers.SGD.
    """
    X, y, weights, learning_rate, epochs, batch_size = check_sgd_args(X, y, weights, learning_rate, epochs, batch_size)
    history = [weights]
    for _ in range(epochs):
        weights = history[-1]
        for start in range(0, len(X), batch_size):
            batch = slice(start, start + batch_size)
            grads = network_gradients(X[batch], y[batch], weights)
            weights = [w - learning_rate * g for w, g in zip(weights, grads)]  # a step against the gradient
        history.append(weights)
    return history


def accuracy(X, y, weights):
    """The fraction of points on the right side of P = 0.5."""
    p = forward(X, weights)[:, 0]
    return np.mean((p > 0.5) == check_labels(y, len(p)))


# --8<-- [end:sgd]


# --8<-- [start:quadrant-data]
def make_quadrants(n, seed=0, gap=0.1):
    """n points in the four quadrants, at least `gap` from both axes; label 1 in quadrants 1 and 3.

    The label is 1 where x1 and x2 have the same sign: the XOR pattern of the
    notes (quadrants 1 and 3 are x, 2 and 4 are o). No single line separates it.
    """
    n = check_count(n)
    if not isinstance(gap, (int, float, np.integer, np.floating)) or not 0 <= gap < 1:
        raise ValueError(f"gap must be a number in [0, 1) (the points' |x1| and |x2| lie in [gap, 1]), got {gap!r}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(gap, 1, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))  # random signs: the quadrant
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.float64)


# --8<-- [end:quadrant-data]


# --8<-- [start:keras]
def keras_mlp(sizes):
    """keras.Sequential for sizes = (inputs, hidden..., outputs): tanh hidden layers, sigmoid output."""
    count_parameters(sizes)  # the same check of sizes
    hidden = [keras.layers.Dense(n, activation="tanh") for n in sizes[1:-1]]
    return keras.Sequential([keras.Input((sizes[0],)), *hidden, keras.layers.Dense(sizes[-1], activation="sigmoid")])


# --8<-- [end:keras]


# --8<-- [start:train]
def gradients(X, y, weights):
    """network_gradients for any number of tanh hidden layers: the same backward steps, in a loop."""
    X, y, weights = check_binary_network(X, y, weights)
    outputs = layer_outputs(X, weights)
    delta = (outputs[-1] - y[:, None]) / len(y)  # dE/dv at the output: sigmoid and cross-entropy give P - y
    grads = [None] * len(weights)
    for k in range(len(weights) - 2, -1, -2):  # from the last layer back to the first
        a = outputs[k // 2]  # what came into this layer
        grads[k], grads[k + 1] = a.T @ delta, delta.sum(axis=0)  # dE/dW_k, dE/db_k
        if k:  # on to the layer below: back through W_k, then through tanh' = 1 - tanh^2
            delta = (delta @ weights[k].T) * (1 - a**2)
    return grads


def check_training_args(steps, learning_rate):
    """steps a whole number >= 1 and learning_rate a number > 0."""
    if (
        not isinstance(steps, (int, np.integer))
        or steps < 1
        or not isinstance(learning_rate, (int, float, np.floating))
        or not learning_rate > 0
    ):
        raise ValueError(f"steps must be a positive integer and learning_rate > 0, got {steps!r}, {learning_rate!r}")


def train(X, y, sizes, seed=0, steps=300, learning_rate=0.1):
    """Full-batch Adam, the update of keras.optimizers.Adam: `steps` epochs of fit(batch_size=len(X))."""
    check_training_args(steps, learning_rate)
    weights = init_weights(sizes, seed)
    m = [np.zeros_like(w) for w in weights]  # running mean of each gradient
    v = [np.zeros_like(w) for w in weights]  # running mean of its square
    for t in range(1, steps + 1):
        alpha = learning_rate * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        for w, g, m_w, v_w in zip(weights, gradients(X, y, weights), m, v):
            m_w += 0.1 * (g - m_w)
            v_w += 0.001 * (g**2 - v_w)
            w -= alpha * m_w / (np.sqrt(v_w) + 1e-7)  # a step of about learning_rate against the gradient
    return weights


# --8<-- [end:train]


# --8<-- [start:plot]
import matplotlib.pyplot as plt


def draw_regions(ax, X, y, weights, title, lines=True):
    """Colour the plane by P (blue 0, red 1), draw P = 0.5 and, if lines, each first-layer unit's line."""
    X, weights = check_network(X, weights)
    low, high = X.min(axis=0) - 0.2, X.max(axis=0) + 0.2
    g1, g2 = np.meshgrid(np.linspace(low[0], high[0], 150), np.linspace(low[1], high[1], 150))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    p = forward(grid, weights)[:, 0].reshape(g1.shape)
    ax.contourf(g1, g2, p, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.45, rasterized=True)
    ax.contour(g1, g2, p, levels=[0.5], colors="C2", linewidths=2.5)
    if lines and len(weights) > 2:
        W, b = weights[0], weights[1]
        for j in range(W.shape[1]):  # unit j is 0 on the line w_1j x1 + w_2j x2 + b_j = 0
            ax.contour(
                g1,
                g2,
                (grid @ W[:, j] + b[j]).reshape(g1.shape),
                levels=[0],
                colors="C4",
                linestyles="--",
                linewidths=1.5,
            )
    ax.scatter(*X[y == 0].T, marker="o", facecolors="none", edgecolors="C0", s=18)
    ax.scatter(*X[y == 1].T, marker="x", color="C1", s=18)
    ax.set(title=title, xlim=(low[0], high[0]), ylim=(low[1], high[1]), aspect="equal")


# --8<-- [end:plot]


# --8<-- [start:exercise]
def parameters_per_layer(sizes):
    """[(n_in + 1) * n_out for each layer]: what model.summary() lists in its Param # column."""
    count_parameters(sizes)
    return [(n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]


# --8<-- [end:exercise]


# --8<-- [start:exercise-relu]
def relu_network_gradients(X, y, weights):
    """network_gradients with ReLU hidden units: z_j = max(0, u_j), so dz_j/du_j is 1 where u_j > 0, else 0."""
    X, y, (W1, b1, W2, b2) = check_one_hidden_layer(X, y, weights)
    u = X @ W1 + b1
    z = np.maximum(0, u)
    P = sigmoid(z @ W2 + b2)
    dv = (P - y[:, None]) / len(y)
    du = (dv @ W2.T) * (u > 0)  # the only change: ReLU's derivative instead of 1 - z^2
    return [X.T @ du, du.sum(axis=0), z.T @ dv, dv.sum(axis=0)]


# --8<-- [end:exercise-relu]


if __name__ == "__main__":
    # --8<-- [start:wedge]
    X, y = make_wedge(200, seed=0)
    print(f"X: {X.shape}, y: {y.shape}, {int(y.sum())} points of class 1 (x), {int(len(y) - y.sum())} of class 0 (o)")
    # --8<-- [end:wedge]

    # --8<-- [start:fit]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(2, activation="tanh"),  # the hidden layer: 2 units, 2 lines
            keras.layers.Dense(1, activation="sigmoid"),  # the output: P of class 1
        ]
    )
    print("parameters:", model.count_params(), "= (2 + 1) * 2 + (2 + 1) * 1 =", (2 + 1) * 2 + (2 + 1) * 1)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, batch_size=20, epochs=30, verbose=0)
    loss, acc = model.evaluate(X, y, verbose=0)
    print(f"after 30 epochs: loss {loss:.3f}, accuracy {acc:.1%}")
    # --8<-- [end:fit]

    # --8<-- [start:weights]
    W1, b1, W2, b2 = model.get_weights()
    print("W1 =", W1.shape, "b1 =", b1.shape, "W2 =", W2.shape, "b2 =", b2.shape)
    for j in range(2):
        print(f"hidden unit {j + 1}: z{j + 1} = tanh({W1[0, j]:+.2f} x1 {W1[1, j]:+.2f} x2 {b1[j]:+.2f})")
    print(f"output:        P  = sigmoid({W2[0, 0]:+.2f} z1 {W2[1, 0]:+.2f} z2 {b2[0]:+.2f})")
    # --8<-- [end:weights]

    # --8<-- [start:forward]
    p_numpy = forward(X, [W1, b1, W2, b2])
    p_keras = model.predict(X, verbose=0)
    print("P of the first 3 points, NumPy:", np.round(p_numpy[:3, 0], 4), "Keras:", np.round(p_keras[:3, 0], 4))
    print(f"largest |NumPy - Keras| over {len(X)} points: {np.max(np.abs(p_numpy - p_keras)):.0e}")
    # --8<-- [end:forward]

    # --8<-- [start:wedge-plot]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
    draw_regions(left, X, y, [W1, b1, W2, b2], "Input space: two lines (dashed), P = 0.5 (green)")
    left.set(xlabel="x1", ylabel="x2")
    Z = layer_outputs(X, [W1, b1, W2, b2])[1]  # (z1, z2) of every point
    draw_regions(right, Z, y, [W2, b2], "Hidden space (z1, z2): one line is enough")
    right.set(xlabel="z1 = tanh(line 1)", ylabel="z2 = tanh(line 2)")
    plt.show()
    # --8<-- [end:wedge-plot]

    # --8<-- [start:backprop-start]
    start = init_weights((2, 2, 1), seed=0)  # random weights, zero biases, as Keras starts
    for name, value in zip(["W1", "b1", "W2", "b2"], start):
        print(f"{name}: shape {value.shape}, values {value.ravel().round(3)}")
    print("parameters:", sum(value.size for value in start))
    initial_loss = network_loss(X, y, start)
    print(f"loss E / N of the untrained network on the {len(y)} points: {initial_loss:.4f}")
    # --8<-- [end:backprop-start]

    # --8<-- [start:grads]
    grads = network_gradients(X, y, start)  # backpropagation's gradient, the one both checks test
    # --8<-- [end:grads]

    # --8<-- [start:check-numerical]
    numerical = numerical_gradient(lambda ws: network_loss(X, y, ws), start, h=1e-6)
    for name, ours, theirs in zip(["W1", "b1", "W2", "b2"], grads, numerical):
        print(f"{name}: backprop  {ours.ravel().round(6)}\n    numerical {theirs.ravel().round(6)}")
    vs_numerical = relative_difference(grads, numerical)
    print(f"relative difference, backprop vs central differences: {vs_numerical:.1e}")
    # --8<-- [end:check-numerical]

    # --8<-- [start:check-keras]
    import tensorflow as tf

    # float64 throughout, like our NumPy code: the input, both layers and the loss
    logit_model = keras.Sequential(
        [
            keras.Input((2,), dtype="float64"),
            keras.layers.Dense(2, activation="tanh", dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),  # the logit v; the sigmoid is inside the loss
        ]
    )
    logit_model.set_weights(start)
    bce = keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64")
    with tf.GradientTape() as tape:
        keras_loss = bce(y, logit_model(X)[:, 0])
    tape_grads = [g.numpy() for g in tape.gradient(keras_loss, logit_model.trainable_weights)]
    print(f"loss: Keras {float(keras_loss):.10f}, ours {network_loss(X, y, start):.10f}")
    vs_tape = relative_difference(grads, tape_grads)
    print(f"relative difference, backprop vs GradientTape: {vs_tape:.1e}")
    # --8<-- [end:check-keras]

    # --8<-- [start:step-size]
    check_error = {}  # per step h
    print("   h       relative difference to backprop")
    for h in (1e-1, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12):
        numerical = numerical_gradient(lambda ws: network_loss(X, y, ws), start, h=h)
        check_error[h] = relative_difference(numerical, grads)
        print(f"{h:7.0e}   {check_error[h]:.0e}")
    # --8<-- [end:step-size]

    # --8<-- [start:train-numpy]
    history = sgd(X, y, start, learning_rate=0.5, epochs=100, batch_size=20)
    losses = [network_loss(X, y, weights) for weights in history]  # after every epoch
    accuracies = [accuracy(X, y, weights) for weights in history]
    for epoch in (0, 1, 10, 100):
        print(f"epoch {epoch:3}: loss {losses[epoch]:.4f}, accuracy {accuracies[epoch]:.1%}")
    W1, b1, W2, b2 = history[-1]
    for j in range(2):  # unit j is 0 on its line w_1j x1 + w_2j x2 + b_j = 0, that is x2 = -(w_1j x1 + b_j) / w_2j
        print(f"hidden unit {j + 1}: its line is x2 = {-W1[0, j] / W1[1, j]:+.2f} x1 {-b1[j] / W1[1, j]:+.2f}")
    # --8<-- [end:train-numpy]

    # --8<-- [start:train-keras]
    import tensorflow as tf

    logit_model = keras.Sequential(
        [
            keras.Input((2,), dtype="float64"),
            keras.layers.Dense(2, activation="tanh", dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),  # the logit v; the sigmoid is inside the loss
        ]
    )
    logit_model.set_weights(start)  # our 9 starting weights
    bce = keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64")
    logit_model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss=bce)
    batches = tf.data.Dataset.from_tensor_slices((X, y)).batch(20)  # in the data's order, and kept in float64
    logit_model.fit(batches, epochs=100, shuffle=False, verbose=0)
    ours = sgd(X, y, start, learning_rate=0.5, epochs=100, batch_size=20)[
        -1
    ]  # the NumPy tab's training, for comparison
    print(
        f"Keras after 100 epochs: loss {float(bce(y, logit_model(X)[:, 0])):.4f}; "
        f"relative difference of the 9 weights to ours: {relative_difference(logit_model.get_weights(), ours):.1e}"
    )
    # --8<-- [end:train-keras]

    # --8<-- [start:quadrants]
    X, y = make_quadrants(200, seed=0)
    print(
        f"X: {X.shape}, class 1 (x) in quadrants 1 and 3: {int(y.sum())} points, class 0 (o): {int(len(y) - y.sum())}"
    )
    # --8<-- [end:quadrants]

    # --8<-- [start:quadrants-train]
    SEEDS = range(20)
    NETWORKS = [(2, 1), (2, 2, 1), (2, 2, 2, 1)]  # one neuron; one hidden layer of 2; two hidden layers of 2
    runs = {sizes: [train(X, y, sizes, seed) for seed in SEEDS] for sizes in NETWORKS}
    best = {sizes: max(runs[sizes], key=lambda weights: accuracy(X, y, weights)) for sizes in NETWORKS}
    for sizes in NETWORKS:
        print(
            f"{' -> '.join(map(str, sizes)):16} {count_parameters(sizes):2} parameters: "
            f"best of {len(SEEDS)} starts {accuracy(X, y, best[sizes]):6.1%}"
        )
    # --8<-- [end:quadrants-train]

    # --8<-- [start:quadrants-keras]
    for sizes in NETWORKS:
        model = keras_mlp(sizes)
        model.set_weights(best[sizes])  # our NumPy-trained weights, into the Keras model
        assert model.count_params() == count_parameters(sizes) == sum(w.size for w in best[sizes])
        p_keras = keras.ops.convert_to_numpy(model(X))  # model(X): predict() without its overhead, for one small batch
        print(
            f"{' -> '.join(map(str, sizes)):16} Keras: {model.count_params():2} parameters, "
            f"accuracy {np.mean((p_keras[:, 0] > 0.5) == y):6.1%}, "
            f"largest |Keras - NumPy| {np.max(np.abs(p_keras - forward(X, best[sizes]))):.0e}"
        )
    # --8<-- [end:quadrants-keras]

    # --8<-- [start:quadrants-plot]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, sizes in zip(axes, NETWORKS):
        name = " -> ".join(map(str, sizes))
        draw_regions(
            ax, X, y, best[sizes], f"{name}: {count_parameters(sizes)} parameters, {accuracy(X, y, best[sizes]):.1%}"
        )
        ax.set(xlabel="x1", ylabel="x2")
    plt.show()
    # --8<-- [end:quadrants-plot]

    # --8<-- [start:quadrants-hidden]
    weights = best[(2, 2, 2, 1)]
    Z = layer_outputs(X, weights)[1]  # (z1, z2) after the first hidden layer
    for name, (s1, s2) in [
        ("quadrant 1", (1, 1)),
        ("quadrant 2", (-1, 1)),
        ("quadrant 3", (-1, -1)),
        ("quadrant 4", (1, -1)),
    ]:
        inside = (np.sign(X[:, 0]) == s1) & (np.sign(X[:, 1]) == s2)
        print(f"{name}: mean (z1, z2) = {np.round(Z[inside].mean(axis=0), 2)}")
    fig, ax = plt.subplots(figsize=(5.5, 5))
    draw_regions(ax, Z, y, weights[2:], "After the first hidden layer: the rest is a 2 -> 2 -> 1")
    ax.set(xlabel="z1", ylabel="z2")
    plt.show()
    # --8<-- [end:quadrants-hidden]

    # --8<-- [start:pitfall]
    runs[(2, 8, 1)] = [train(X, y, (2, 8, 1), seed) for seed in SEEDS]  # one hidden layer of 8 units
    solved = {}  # how many of the starts reach 100%, per network
    print("network          parameters  starts reaching 100%  median accuracy")
    for sizes, trained in runs.items():
        scores = [accuracy(X, y, weights) for weights in trained]
        solved[sizes] = sum(s == 1 for s in scores)
        print(
            f"{' -> '.join(map(str, sizes)):16} {count_parameters(sizes):10}  "
            f"{solved[sizes]:14} of {len(scores)}  {np.median(scores):15.1%}"
        )
    # --8<-- [end:pitfall]

    # --8<-- [start:solution]
    for sizes in [(784, 1024, 10), (3136, 1024, 10)]:
        print(
            f"{' -> '.join(map(str, sizes))}: per layer {parameters_per_layer(sizes)}, "
            f"total {count_parameters(sizes):,}, Keras {keras_mlp(sizes).count_params():,}"
        )
    print(
        f"the notes' CNN: 416 (its convolution) + {count_parameters((3136, 1024, 10)):,} = "
        f"{416 + count_parameters((3136, 1024, 10)):,} parameters"
    )
    # --8<-- [end:solution]

    # --8<-- [start:solution-relu]
    import tensorflow as tf

    relu_model = keras.Sequential(
        [
            keras.Input((2,), dtype="float64"),
            keras.layers.Dense(2, activation="relu", dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )
    bce = keras.losses.BinaryCrossentropy(from_logits=True, dtype="float64")
    X, y = make_wedge(200, seed=0)
    for seed in range(3):
        relu_weights = init_weights((2, 2, 1), seed=seed)
        relu_model.set_weights(relu_weights)
        with tf.GradientTape() as tape:
            loss = bce(y, relu_model(X)[:, 0])
        tape_grads = [g.numpy() for g in tape.gradient(loss, relu_model.trainable_weights)]
        ours = relu_network_gradients(X, y, relu_weights)
        print(
            f"seed {seed}: relative difference, ReLU backprop vs GradientTape: "
            f"{relative_difference(ours, tape_grads):.1e}"
        )
    # --8<-- [end:solution-relu]
