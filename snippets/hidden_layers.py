"""Hidden layers: tanh units that each draw a line, and layers that combine them, beside Keras.

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


def gradients(X, y, weights):
    """d(mean binary cross-entropy)/d(every array in weights), by backpropagation; one output unit."""
    X, weights = check_network(X, weights)
    outputs = layer_outputs(X, weights)
    y = check_labels(y, len(outputs[0]))
    if outputs[-1].shape[1] != 1:
        raise ValueError(f"gradients needs one output unit (P of class 1), got {outputs[-1].shape[1]}")
    delta = (outputs[-1] - y[:, None]) / len(y)  # dE/dz at the output: sigmoid and cross-entropy give P - y
    grads = [None] * len(weights)
    for k in range(len(weights) - 2, -1, -2):  # from the last layer back to the first
        a = outputs[k // 2]  # what came into this layer
        grads[k], grads[k + 1] = a.T @ delta, delta.sum(axis=0)  # dE/dW_k, dE/db_k
        if k:  # on to the layer below: back through W_k, then through tanh' = 1 - tanh^2
            delta = (delta @ weights[k].T) * (1 - a**2)
    return grads


def train(X, y, sizes, seed=0, steps=300, learning_rate=0.1):
    """Full-batch Adam, the update of keras.optimizers.Adam: `steps` epochs of fit(batch_size=len(X))."""
    if (
        not isinstance(steps, (int, np.integer))
        or steps < 1
        or not isinstance(learning_rate, (int, float, np.floating))
        or not learning_rate > 0
    ):
        raise ValueError(f"steps must be a positive integer and learning_rate > 0, got {steps!r}, {learning_rate!r}")
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


def accuracy(X, y, weights):
    """The fraction of points on the right side of P = 0.5."""
    p = forward(X, weights)[:, 0]
    return np.mean((p > 0.5) == check_labels(y, len(p)))


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
