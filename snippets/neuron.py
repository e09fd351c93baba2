"""One neuron: a weighted sum, a sigmoid, a loss, trained by gradient descent, beside Keras.

Page: docs/neuron.md. Tests: tests/test_neuron.py.
Run the page as a script: ``python -m snippets.neuron``.

Shapes: X is (N, d), N examples with d inputs each (d = 2 on the page: two
test values); t holds the N labels, 1 for "infected" and 0 for "not infected";
the neuron has d weights w, shape (d,), and one bias b.
"""

# --8<-- [start:diagrams]
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle, FancyArrowPatch


def draw_node(ax, center, text, color, radius=0.4):
    """A lightly filled circle with `text` in it; returns the circle, for arrows to start and end on."""
    circle = Circle(center, radius, facecolor=to_rgba(color, 0.15), edgecolor=color, linewidth=1.5)
    ax.add_patch(circle)
    ax.text(*center, text, ha="center", va="center", fontsize=14)
    return circle


def draw_arrow(ax, start, end, label="", at=0.5):
    """An arrow from circle `start` to circle (or point) `end`, with `label` beside it at fraction `at`."""
    a = np.asarray(start.center)
    b = np.asarray(end.center if isinstance(end, Circle) else end)
    arrow = FancyArrowPatch(a, b, patchA=start, patchB=end if isinstance(end, Circle) else None)
    arrow.set(arrowstyle="-|>", mutation_scale=14, color=plt.rcParams["text.color"], linewidth=1.2)
    ax.add_patch(arrow)
    if label:
        direction = (b - a) / np.linalg.norm(b - a)
        x, y = a + at * (b - a) + 0.22 * np.array([-direction[1], direction[0]])  # just above the arrow
        ax.text(x, y, label, ha="center", va="center", fontsize=12)


def draw_neuron():
    """One neuron: inputs x_1 ... x_n, each multiplied by its weight w_i, summed with the
    bias b into f, and the activation sigma turns f into the output p. Returns the figure."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    total = draw_node(ax, (3.4, 0.3), r"$\Sigma$", "C1", radius=0.5)
    for i, y in [("1", 2.0), ("2", 0.8), ("n", -1.4)]:  # the dots stand for x_3 ... x_(n-1)
        draw_arrow(ax, draw_node(ax, (0, y), f"$x_{i}$", "C0"), total, f"$w_{i}$", at=0.4)
    ax.text(0, -0.3, r"$\vdots$", ha="center", va="center", fontsize=16)
    ax.text(3.4, 2.0, "$b$", ha="center", va="center", fontsize=14)
    draw_arrow(ax, Circle((3.4, 2.0), 0.25), total)  # the bias joins the sum
    activation = draw_node(ax, (5.9, 0.3), r"$\sigma$", "C2")
    draw_arrow(ax, total, activation, "$f$")
    draw_arrow(ax, activation, (7.6, 0.3), "$p$", at=0.6)
    ax.text(3.4, -0.9, "$f = w_1x_1 + \\dots + w_nx_n + b$", ha="center", va="center", fontsize=11)
    ax.text(5.9, -0.9, "$p = \\sigma(f)$", ha="center", va="center", fontsize=11)
    for x, text in [(0, "inputs"), (3.4, "weighted sum"), (5.9, "activation"), (7.6, "output")]:
        ax.text(x, -2.3, text, ha="center", va="center", fontsize=11)
    ax.set(xlim=(-0.6, 8.1), ylim=(-2.7, 2.6), aspect="equal", title="One neuron: weighted sum, bias, activation")
    ax.axis("off")
    return fig


def draw_network(n_inputs=2, n_hidden=2):
    """The notes' small network: n_inputs inputs x_i, n_hidden hidden units z_j (tanh), one output P
    (sigmoid), every parameter labelled with the notes' names: w_ij from x_i to z_j, the biases b_j,
    then w_j from z_j to P and the bias b. Returns the figure."""
    for count, name in [(n_inputs, "n_inputs"), (n_hidden, "n_hidden")]:
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= count <= 9:
            raise ValueError(f"{name} must be a whole number from 1 to 9 (one digit per index), got {count!r}")
    height = 1.9 * max(n_inputs, n_hidden)
    fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.9 * height))

    def column(n):  # n heights, 1.9 apart, centred on 0
        return [1.9 * ((n - 1) / 2 - k) for k in range(n)]

    inputs = [draw_node(ax, (0, y), f"$x_{i}$", "C0") for i, y in enumerate(column(n_inputs), start=1)]
    hidden = [draw_node(ax, (3.6, y), f"$z_{j}$", "C1") for j, y in enumerate(column(n_hidden), start=1)]
    output = draw_node(ax, (7.2, 0), "$P$", "C2")
    for i, x in enumerate(inputs, start=1):
        for j, z in enumerate(hidden, start=1):
            draw_arrow(ax, x, z, f"$w_{{{i}{j}}}$", at=0.3)
    for j, z in enumerate(hidden, start=1):
        ax.text(z.center[0], z.center[1] - 0.65, f"$+\\,b_{j}$", ha="center", va="center", fontsize=12)
        draw_arrow(ax, z, output, f"$w_{j}$", at=0.55)
    ax.text(7.2, -0.65, "$+\\,b$", ha="center", va="center", fontsize=12)
    bottom = -height / 2 - 0.5
    for x, text in [(0, "inputs"), (3.6, "hidden units\n$z_j = \\tanh(u_j)$"), (7.2, "output\n$P = \\sigma(v)$")]:
        ax.text(x, bottom, text, ha="center", va="top", fontsize=11)
    parameters = n_inputs * n_hidden + 2 * n_hidden + 1
    ax.set(
        xlim=(-0.6, 7.8),
        ylim=(bottom - 1.0, height / 2 + 0.4),
        aspect="equal",
        title=f"A {n_inputs}-{n_hidden}-1 network: {parameters} parameters",
    )
    ax.axis("off")
    return fig


# --8<-- [end:diagrams]


# --8<-- [start:data]
import numpy as np


def make_clouds(n_per_class=100, seed=0):
    """Two overlapping Gaussian clouds in 2-D: t = 0 "not infected" (lower left), t = 1 "infected".

    Returns X of shape (2 n, 2), two test values per person, and t of shape (2 n,).
    The clouds overlap, so no line separates them perfectly (as with real tests).
    """
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    rng = np.random.default_rng(seed)
    healthy = rng.normal(loc=(-1.0, -0.5), scale=1.0, size=(n_per_class, 2))
    infected = rng.normal(loc=(1.5, 1.0), scale=1.0, size=(n_per_class, 2))
    X = np.concatenate([healthy, infected])
    t = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    return X, t


# --8<-- [end:data]


# --8<-- [start:numpy]
from snippets.activations import as_real_array, sigmoid


def check_inputs(X, w):
    """X as float64 of shape (N, d) and w of shape (d,): one weight per input column."""
    X, w = as_real_array(X), as_real_array(w)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, shape (N examples, d inputs), got shape {X.shape}")
    if w.shape != (X.shape[1],):
        raise ValueError(f"w must have one weight per input, shape ({X.shape[1]},), got shape {w.shape}")
    return X, w


def check_labels(t, n):
    """t as float64 of shape (n,), every label 0 (not infected) or 1 (infected)."""
    t = as_real_array(t)
    if t.shape != (n,):
        raise ValueError(f"t must hold one label per example, shape ({n},), got shape {t.shape}")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError(f"labels must be 0 or 1, got {np.unique(t[(t != 0) & (t != 1)])[:5]}")
    return t


def weighted_sum(X, w, b):
    """f(x) = w1 x1 + w2 x2 + ... + b for every row of X: shape (N,). f = 0 is the decision line."""
    X, w = check_inputs(X, w)
    return X @ w + float(b)


def predict_proba(X, w, b):
    """P(infected | x) = sigmoid(f(x)), shape (N,): above 0.5 exactly where f(x) > 0."""
    return sigmoid(weighted_sum(X, w, b))


def error(X, t, w, b):
    """E = -log P = -sum[t log p + (1 - t) log(1 - p)], summed over the N examples.

    Computed as sum[log(1 + e^f) - t f], the same number, which never takes log(0)
    even when p rounds to exactly 0 or 1.
    """
    f = weighted_sum(X, w, b)
    t = check_labels(t, len(f))
    return float(np.sum(np.logaddexp(0.0, f) - t * f))


def gradient(X, t, w, b):
    """dE/dw = sum (p - t) x, shape (d,), and dE/db = sum (p - t): each example pulls by its error p - t."""
    X, w = check_inputs(X, w)
    t = check_labels(t, len(X))
    residual = predict_proba(X, w, b) - t
    return X.T @ residual, float(np.sum(residual))


def accuracy(X, t, w, b):
    """The fraction of examples on the correct side of the line (p > 0.5 means "infected")."""
    f = weighted_sum(X, w, b)
    return float(np.mean((f > 0) == (check_labels(t, len(f)) == 1)))


def check_schedule(learning_rate, steps):
    """A step size > 0 (0 would never move, < 0 would climb E) and a whole number of steps >= 0."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")


def train(X, t, w, b, learning_rate, steps):
    """Plain gradient descent on E; returns [(w, b) before step 1, after step 1, ..., after the last]."""
    X, w = check_inputs(X, w)
    t = check_labels(t, len(X))
    check_schedule(learning_rate, steps)
    path = [(w, float(b))]
    for _ in range(steps):
        grad_w, grad_b = gradient(X, t, w, b)
        w, b = w - learning_rate * grad_w, b - learning_rate * grad_b
        path.append((w, b))
    return path


# --8<-- [end:numpy]


# --8<-- [start:keras]
import keras


def train_keras(X, t, w, b, learning_rate, steps):
    """The same neuron as a one-unit Keras model, trained by the same full-batch gradient descent.

    Keras's loss is the *mean* binary cross-entropy, E / N, so its gradient is N
    times smaller than ours: the learning rate is multiplied by N to take the same steps.
    """
    X, w = check_inputs(X, w)
    t = check_labels(t, len(X))
    check_schedule(learning_rate, steps)
    model = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([w.reshape(-1, 1), np.array([b])])  # kernel (d, 1), bias (1,)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate * len(X)), loss="binary_crossentropy")
    for _ in range(steps):
        model.train_on_batch(X, t)  # one gradient step on the whole data set as one batch
    return model


# --8<-- [end:keras]


# --8<-- [start:exercise]
def train_l2(X, t, w, b, learning_rate, steps, l2):
    """Gradient descent on E + (l2 / 2)(w1^2 + w2^2): large weights cost extra; b is left free.

    The penalty's gradient is l2 * w, so every step also shrinks w a little towards 0.
    """
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    X, w = check_inputs(X, w)
    t = check_labels(t, len(X))
    check_schedule(learning_rate, steps)
    for _ in range(steps):
        grad_w, grad_b = gradient(X, t, w, b)
        w, b = w - learning_rate * (grad_w + l2 * w), b - learning_rate * grad_b
    return w, float(b)


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:neuron-figure]
    draw_neuron()
    plt.show()
    # --8<-- [end:neuron-figure]

    # --8<-- [start:network-figure]
    draw_network(n_inputs=2, n_hidden=2)
    plt.show()
    # --8<-- [end:network-figure]

    # --8<-- [start:clouds]
    X, t = make_clouds(n_per_class=100, seed=0)
    print(f"X: {X.shape} test values, t: {t.shape} labels, {int(t.sum())} infected")
    for label, name in [(0, "not infected"), (1, "infected")]:
        print(f"{name:13} mean (x1, x2) = {np.round(X[t == label].mean(axis=0), 2)}")
    # --8<-- [end:clouds]

    # --8<-- [start:train]
    w0, b0 = np.array([1.0, -2.0]), 0.0  # a deliberately bad first line
    LEARNING_RATE = 0.002
    STEPS = 500
    path = train(X, t, w0, b0, LEARNING_RATE, STEPS)
    errors = [error(X, t, w, b) for w, b in path]  # E and the accuracy after every step
    accuracies = [accuracy(X, t, w, b) for w, b in path]

    print("step       E   accuracy    w1      w2      b")
    for step in (0, 1, 10, 50, 100, 200, 500):
        w, b = path[step]
        print(f"{step:4} {errors[step]:7.2f} {accuracies[step]:8.1%} {w[0]:7.3f} {w[1]:7.3f} {b:7.3f}")
    # --8<-- [end:train]

    # --8<-- [start:plot]
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.scatter(*X[t == 0].T, marker="o", facecolors="none", edgecolors="C0", label="not infected (t = 0)")
    ax.scatter(*X[t == 1].T, marker="x", color="C1", label="infected (t = 1)")
    x1 = np.linspace(-4.5, 4.5, 2)
    for color, (step, style) in enumerate([(0, ":"), (10, "-."), (50, "--"), (500, "-")], start=2):
        (w1, w2), b = path[step]  # on the line, x2 = -(w1 x1 + b) / w2
        ax.plot(
            x1,
            -(w1 * x1 + b) / w2,
            style,
            color=f"C{color}",
            linewidth=2,
            label=f"step {step}: {w1:.2f} x1 {w2:+.2f} x2 {b:+.2f} = 0",
        )
    ax.set(
        xlim=(-4.5, 4.5),
        ylim=(-4.5, 4.5),
        xlabel="test value x1",
        ylabel="test value x2",
        title="The decision line w1 x1 + w2 x2 + b = 0 as gradient descent trains",
    )
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(True)
    plt.show()
    # --8<-- [end:plot]

    # --8<-- [start:keras-fit]
    keras.utils.set_random_seed(0)
    model = train_keras(X, t, w0, b0, LEARNING_RATE, STEPS)
    kernel, bias = model.get_weights()
    ours = np.append(*path[-1])
    theirs = np.append(kernel[:, 0], bias)
    print(f"parameters: {model.count_params()} (2 weights + 1 bias)")
    print("NumPy (w1, w2, b):", np.round(ours, 4))
    print("Keras (w1, w2, b):", np.round(theirs, 4))
    print(f"largest difference: {np.max(np.abs(ours - theirs)):.0e} (Keras computes in float32)")
    p_keras = model.predict(X, verbose=0)[:, 0]
    print(
        f"largest |p NumPy - p Keras| over the {len(X)} points: "
        f"{np.max(np.abs(predict_proba(X, *path[-1]) - p_keras)):.0e}"
    )
    # --8<-- [end:keras-fit]

    # --8<-- [start:underflow]
    w, b = path[-1]
    print("  points   P = P1 x P2 x ... x PN   -log(P)   E = -sum log Pi")
    for n_per_class in (10, 100, 1000, 10000):
        X_big, t_big = make_clouds(n_per_class, seed=1)
        p = predict_proba(X_big, w, b)
        P_each = np.where(t_big == 1, p, 1 - p)  # the probability of the right answer
        P = np.prod(P_each)
        with np.errstate(divide="ignore"):  # -log(0.0) is inf, which is the point
            minus_log_P = -np.log(P)
        E = -np.sum(np.log(P_each))
        print(f"{len(X_big):8} {P:24.3e} {minus_log_P:9.1f} {E:17.1f}")
    # --8<-- [end:underflow]

    # --8<-- [start:solution]
    print("  l2     w1      w2      b    |w|    E  accuracy")
    for l2 in (0.0, 10.0, 100.0):
        w, b = train_l2(X, t, w0, b0, LEARNING_RATE, STEPS, l2)
        print(
            f"{l2:5.0f} {w[0]:6.3f} {w[1]:7.3f} {b:6.3f} {np.linalg.norm(w):6.3f} "
            f"{error(X, t, w, b):6.1f} {accuracy(X, t, w, b):6.1%}"
        )

    # Keras: kernel_regularizer=L2(c) adds c * sum(w^2) to the *mean* loss E / N,
    # so c = l2 / (2 N) gives the same gradient after the learning rate is scaled by N.
    l2 = 10.0
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(l2 / (2 * len(X)))),
        ]
    )
    model.set_weights([w0.reshape(2, 1), np.array([b0])])
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE * len(X)), loss="binary_crossentropy")
    for _ in range(STEPS):
        model.train_on_batch(X, t)
    kernel, bias = model.get_weights()
    ours = np.append(*train_l2(X, t, w0, b0, LEARNING_RATE, STEPS, l2))
    print(f"l2 = {l2:.0f}: largest |NumPy - Keras| = {np.max(np.abs(ours - np.append(kernel[:, 0], bias))):.0e}")
    # --8<-- [end:solution]
