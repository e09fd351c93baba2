"""Loss, gradient descent and mini-batch SGD, from scratch, beside Keras.

Page: docs/gradient_descent.md. Tests: tests/test_gradient_descent.py.
Run the page as a script: ``python -m snippets.gradient_descent``.

Data are float64 arrays: inputs X of shape (N, D), N examples of D numbers, and
labels y of shape (N,), 1 for "infected" and 0 for "not infected" as in the
study notes. The neuron's parameters are a dict of named arrays, {"w": (D,), "b": ()}.
Losses are means over the examples, in nats, as Keras reports them.
"""

# --8<-- [start:loop]
import matplotlib.pyplot as plt
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyBboxPatch

# The training loop's stages, in order, each with its place (x, y) and what it does.
LOOP = [
    ("data", (0.0, 0.0), "inputs x, labels y,\none batch at a time"),
    ("model", (3.6, 0.0), r"predicts $P = f(x;\,\theta)$" + "\nfrom its parameters θ"),
    ("loss", (7.2, 0.0), "E / N: how far\nP is from y"),
    ("gradients", (7.2, -2.6), r"$\nabla E$, by" + "\nbackpropagation"),
    ("optimizer", (3.6, -2.6), r"$\theta \leftarrow \theta - \eta\,\nabla E$" + "\n(the update)"),
]


def draw_training_loop():
    """The training loop as a cycle: data -> model -> loss -> gradients -> optimizer, which
    updates the model, and round again with the next batch. Returns the figure.

    Each stage is a box labelled with its name; each arrow is an annotation from one box to the next."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    boxes = {}
    for k, (name, (x, y), what) in enumerate(LOOP):
        color = f"C{k}"
        box = FancyBboxPatch(
            (x - 1.3, y - 0.8), 2.6, 1.6, boxstyle="round,pad=0.05", facecolor=to_rgba(color, 0.15), edgecolor=color
        )
        box.set_label(name)  # the tests find the stages by these labels
        ax.add_patch(box)
        ax.text(x, y + 0.42, name, ha="center", va="center", fontsize=13, fontweight="bold")
        ax.text(x, y - 0.22, what, ha="center", va="center", fontsize=10, linespacing=1.4)
        boxes[name] = box
    ink = plt.rcParams["text.color"]
    edges = [  # (from, to, where the arrow leaves and enters each box, as fractions of the box)
        ("data", "model", (1, 0.5), (0, 0.5)),
        ("model", "loss", (1, 0.5), (0, 0.5)),
        ("loss", "gradients", (0.5, 0), (0.5, 1)),
        ("gradients", "optimizer", (0, 0.5), (1, 0.5)),
        ("optimizer", "model", (0.5, 1), (0.5, 0)),
    ]
    for start, end, leave, enter in edges:
        ax.annotate(
            "",
            xy=enter,
            xycoords=boxes[end],
            xytext=leave,
            textcoords=boxes[start],
            arrowprops={"arrowstyle": "-|>", "color": ink, "mutation_scale": 16, "linewidth": 1.4},
        )
    ax.annotate(  # the labels go to the loss, past the model
        "",
        xy=(0.5, 1),
        xycoords=boxes["loss"],
        xytext=(0.5, 1),
        textcoords=boxes["data"],
        arrowprops={"arrowstyle": "-|>", "color": ink, "linestyle": "--", "connectionstyle": "arc3,rad=-0.25"},
    )
    ax.text(3.6, 1.75, "labels y", ha="center", va="bottom", fontsize=10)
    ax.text(5.4, -1.3, "one step\nper batch", ha="center", va="center", fontsize=11, style="italic")
    ax.set(xlim=(-1.5, 8.7), ylim=(-3.5, 2.2), aspect="equal", title="The training loop")
    ax.axis("off")
    return fig


# --8<-- [end:loop]


# --8<-- [start:loss]
import numpy as np

from snippets.activations import as_real_array, sigmoid


def check_count(count, name):
    """count as an int >= 0 (a number of steps, epochs or examples); a clear error otherwise."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {count!r}")
    return int(count)


def check_inputs(X):
    """X as a float64 array of shape (N, D) with N >= 1: one row of D numbers per example."""
    X = as_real_array(X)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"expected inputs X of shape (N, D) with N >= 1, got shape {X.shape}")
    return X


def check_data(X, y):
    """X as (N, D) and y as (N,) float64 arrays, labels in [0, 1]; a clear error otherwise."""
    X, y = check_inputs(X), as_real_array(y)
    if y.shape != (len(X),):
        raise ValueError(f"expected labels y of shape (N,) = ({len(X)},) for X of shape {X.shape}, got {y.shape}")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"labels y must lie in [0, 1] (1 = positive class), got values from {y.min()} to {y.max()}")
    return X, y


def check_params(params, shapes):
    """params as a dict of float64 arrays with exactly the names and shapes in `shapes`."""
    if not isinstance(params, dict) or set(params) != set(shapes):
        names = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"expected a dict of parameters {sorted(shapes)}, got {names}")
    arrays = {name: as_real_array(params[name]) for name in shapes}
    wrong = {name: array.shape for name, array in arrays.items() if array.shape != shapes[name]}
    if wrong:
        raise ValueError(f"expected parameter shapes {shapes}, got {wrong}")
    return arrays


def binary_cross_entropy(y, logits):
    """Mean over examples of -[y log P + (1 - y) log(1 - P)] with P = sigmoid(logit), in nats.

    Computed from the logits v as max(v, 0) - v y + log(1 + e^-|v|), the same number
    rearranged so that it never takes log(0) or overflows exp(), however large |v| is.
    """
    y, v = as_real_array(y), as_real_array(logits)
    if y.ndim != 1 or y.shape != v.shape:
        raise ValueError(f"expected labels and logits of one shape (N,), got {y.shape} and {v.shape}")
    return np.mean(np.maximum(v, 0) - v * y + np.log1p(np.exp(-np.abs(v))))


def neuron_loss(params, X, y):
    """E / N for the notes' neuron P = sigmoid(w . x + b): its mean binary cross-entropy.

    params: {"w": (D,), "b": ()}.
    """
    X, y = check_data(X, y)
    w, b = check_params(params, {"w": (X.shape[1],), "b": ()}).values()
    return binary_cross_entropy(y, X @ w + b)


def neuron_gradients(params, X, y):
    """The gradient of neuron_loss: dE/dw = X^T (P - y) / N and dE/db = mean(P - y)."""
    X, y = check_data(X, y)
    w, b = check_params(params, {"w": (X.shape[1],), "b": ()}).values()
    error = (sigmoid(X @ w + b) - y) / len(y)  # (N,) how far each prediction is off, over N
    return {"w": X.T @ error, "b": error.sum()}


def make_test_results(n, seed=0):
    """n people with two test values each, X (n, 2), and y (n,): 1 = infected, as in the notes' scatter plot.

    The values of infected people scatter around (6, 6), the others' around (4, 4),
    with standard deviation 1: a line from upper left to lower right separates
    most of them, not all. Like real measurements, they are not centred on 0.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(check_count(n, "n")) < 0.5).astype(np.float64)
    X = rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 6.0, 4.0)
    return X, y


# --8<-- [end:loss]


# --8<-- [start:descent]
def two_valleys(x):
    """x^4 - 3x^2 + x: the notes' "two parabolas", a deep valley near x = -1.30, a shallow one near 1.13."""
    return x**4 - 3 * x**2 + x


def two_valleys_slope(x):
    """Its derivative 4x^3 - 6x + 1: where it is positive, downhill is to the left."""
    return 4 * x**3 - 6 * x + 1


def check_rate(learning_rate):
    """The learning rate as a float > 0: 0 would never move, a negative rate climbs uphill."""
    number = isinstance(learning_rate, (int, float, np.integer, np.floating)) and not isinstance(learning_rate, bool)
    if not number or not 0 < learning_rate < np.inf:
        raise ValueError(f"learning_rate must be a number > 0, got {learning_rate!r}")
    return float(learning_rate)


def gradient_descent(slope, x0, learning_rate, steps, noise=0.0, seed=0):
    """Repeat x <- x - learning_rate * slope(x); return every position, shape (steps + 1, *x0.shape).

    slope(x) is the gradient at x, with x's shape. x0 may be an array: with an
    element-wise slope such as two_valleys_slope, that is many 1-D runs at once.
    noise > 0 adds Gaussian noise with that standard deviation to every gradient,
    a stand-in for the noise of mini-batch gradients; seed fixes it.
    """
    learning_rate, steps = check_rate(learning_rate), check_count(steps, "steps")
    if not 0 <= noise < np.inf:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    x = as_real_array(x0)
    path = [x]
    for _ in range(steps):
        gradient = as_real_array(slope(x))
        if gradient.shape != x.shape:
            raise ValueError(f"slope(x) must have the shape of x, {x.shape}, got {gradient.shape}")
        x = x - learning_rate * (gradient + noise * rng.normal(size=x.shape))
        path.append(x)
    return np.array(path)


# --8<-- [end:descent]


# --8<-- [start:sgd]
def minibatch_sgd(gradients, params, X, y, learning_rate, epochs, batch_size, shuffle=True, seed=0):
    """Mini-batch stochastic gradient descent; returns the parameters after each epoch (epochs + 1 dicts).

    Each epoch visits the N examples once, in batches of batch_size (the last one
    may be smaller), and takes one step per batch against
    gradients(params, X_batch, y_batch), a dict shaped like params. batch_size = N
    is plain gradient descent: one exact step per epoch. shuffle=True draws a new
    order every epoch, as Keras's model.fit does; shuffle=False keeps the data's order.
    """
    X, y = check_data(X, y)
    learning_rate, epochs = check_rate(learning_rate), check_count(epochs, "epochs")
    if check_count(batch_size, "batch_size") < 1 or batch_size > len(y):
        raise ValueError(f"batch_size must be between 1 and the number of examples, {len(y)}, got {batch_size}")
    rng = np.random.default_rng(seed)
    params = {name: as_real_array(value) for name, value in params.items()}
    history = [params]
    for _ in range(epochs):
        order = rng.permutation(len(y)) if shuffle else np.arange(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            grads = gradients(params, X[batch], y[batch])
            params = {name: value - learning_rate * grads[name] for name, value in params.items()}
        history.append(params)
    return history


# --8<-- [end:sgd]


# --8<-- [start:exercise]
def sgd_with_decay(gradients, params, X, y, learning_rate, epochs, batch_size, decay, seed=0):
    """minibatch_sgd whose rate falls as learning_rate / (1 + decay * epoch); the parameters after each epoch."""
    if not 0 <= decay < np.inf:
        raise ValueError(f"decay must be a number >= 0, got {decay!r}")
    rng = np.random.default_rng(seed)
    history = [params]
    for epoch in range(check_count(epochs, "epochs")):
        rate = learning_rate / (1 + decay * epoch)  # epoch 0 at the full rate, then smaller and smaller
        params = minibatch_sgd(gradients, params, X, y, rate, 1, batch_size, seed=rng.integers(2**32))[-1]
        history.append(params)
    return history


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:loop-figure]
    draw_training_loop()
    plt.show()
    # --8<-- [end:loop-figure]

    # --8<-- [start:keras-setup]
    import keras
    import tensorflow as tf

    # Keras computes in float32 unless told otherwise; our NumPy code computes in float64.
    keras.config.set_floatx("float64")  # global, for the rest of the session: later blocks on this page rely on it
    print("Keras now computes in", keras.config.floatx())
    bce = keras.losses.BinaryCrossentropy(from_logits=True)  # Keras's binary_cross_entropy: E / N, from logits
    # --8<-- [end:keras-setup]

    # --8<-- [start:people]
    X, y = make_test_results(2000)
    print(f"data: {len(y)} people, {int(y.sum())} infected, test values from {X.min():.1f} to {X.max():.1f}")
    # --8<-- [end:people]

    # --8<-- [start:loss-values]
    start_loss = neuron_loss({"w": np.zeros(2), "b": 0.0}, X, y)  # p = 0.5 for everybody: a coin toss
    line_loss = neuron_loss({"w": np.ones(2), "b": -10.0}, X, y)  # the line x1 + x2 = 10
    print(f"w = 0, b = 0     : E / N = {start_loss:.4f}, and log 2 = {np.log(2):.4f}")
    print(f"line x1 + x2 = 10: E / N = {line_loss:.4f}; the sum E is {len(y)} times that, {line_loss * len(y):.2f}")
    # --8<-- [end:loss-values]

    # --8<-- [start:loss-keras]
    params = {"w": np.ones(2), "b": -10.0}
    logits = X @ params["w"] + params["b"]
    print(
        f"Keras BinaryCrossentropy: {float(bce(y, logits)):.4f}, ours: {neuron_loss(params, X, y):.4f}, "
        f"difference {abs(float(bce(y, logits)) - neuron_loss(params, X, y)):.1e}"
    )
    # --8<-- [end:loss-keras]

    # --8<-- [start:stationary]
    stationary = np.sort(np.roots([4, 0, -6, 1]).real)  # where the slope 4x^3 - 6x + 1 is 0
    heights = two_valleys(stationary)
    print("slope 0 at x =", stationary.round(4), "with f(x) =", heights.round(4))
    # --8<-- [end:stationary]

    # --8<-- [start:two-runs]
    for x0 in (0.0, 0.3):
        path = gradient_descent(two_valleys_slope, x0, learning_rate=0.05, steps=50)
        print(
            f"start {x0:.1f}: x after 1, 5, 20, 50 steps = {path[[1, 5, 20, 50]].round(4)}, "
            f"f = {two_valleys(path[-1]):.4f}"
        )
    # --8<-- [end:two-runs]

    # --8<-- [start:two-runs-plot]
    import matplotlib.pyplot as plt

    x = np.linspace(-1.9, 1.8, 400)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(x, two_valleys(x), color="gray", label="f(x) = x^4 - 3x^2 + x")
    for x0, color in [(0.0, "C0"), (0.3, "C1")]:
        path = gradient_descent(two_valleys_slope, x0, learning_rate=0.05, steps=50)
        ax.plot(path, two_valleys(path), "o-", color=color, markersize=4, label=f"50 steps from x = {x0}")
    ax.set(xlabel="x (the parameter)", ylabel="f(x) (the loss)", title="Gradient descent, learning rate 0.05")
    ax.grid(True)
    ax.legend()
    plt.show()
    # --8<-- [end:two-runs-plot]

    # --8<-- [start:descent-keras]
    x = keras.Variable(0.3, dtype="float64")  # a Python float would give float32
    optimizer = keras.optimizers.SGD(learning_rate=0.05)
    for _ in range(50):
        with tf.GradientTape() as tape:
            loss = x**4 - 3 * x**2 + x
        optimizer.apply_gradients([(tape.gradient(loss, x), x)])  # x <- x - 0.05 * slope
    ours = gradient_descent(two_valleys_slope, 0.3, learning_rate=0.05, steps=50)[-1]
    print(f"Keras SGD after 50 steps: x = {float(x):.10f}, ours: {ours:.10f}")
    # --8<-- [end:descent-keras]

    # --8<-- [start:learning-rates]
    curvature = 12 * stationary[0] ** 2 - 6  # f''(x) at the deep minimum
    shallow_curvature = 12 * stationary[2] ** 2 - 6  # and at the shallow one
    print(f"curvature at the deep minimum: {curvature:.2f}; 1 / c = {1 / curvature:.3f}, 2 / c = {2 / curvature:.3f}")
    print(f"curvature at the shallow minimum: {shallow_curvature:.2f}; 2 / c = {2 / shallow_curvature:.3f}")
    print(" rate   factor    x after 1, 2, 3, 5, 10 steps")
    rates = [0.001, 0.05, 0.1, 0.15, 0.25, 0.3]
    paths = {rate: gradient_descent(two_valleys_slope, -0.5, learning_rate=rate, steps=10) for rate in rates}
    for rate, path in paths.items():
        print(f"{rate:5}  {1 - rate * curvature:7.2f}   " + " ".join(f"{v:11.3g}" for v in path[[1, 2, 3, 5, 10]]))
    # --8<-- [end:learning-rates]

    # --8<-- [start:learning-rates-plot]
    fig, ax = plt.subplots(figsize=(8, 4))
    for rate in rates[:-1]:  # 0.3 leaves the picture after 4 steps
        ax.plot(gradient_descent(two_valleys_slope, -0.5, learning_rate=rate, steps=30), ".-", label=f"rate {rate}")
    for minimum in stationary[[0, 2]]:
        ax.axhline(minimum, color="gray", linestyle="--", linewidth=1)
    ax.set(
        xlabel="step", ylabel="x", ylim=(-2, 1.6), title="Gradient descent from x = -0.5 (rate 0.3 leaves the picture)"
    )
    ax.grid(True)
    ax.legend(ncol=5, fontsize="small", loc="upper center")
    plt.show()
    # --8<-- [end:learning-rates-plot]

    # --8<-- [start:batch-noise]
    start = {"w": np.zeros(2), "b": 0.0}
    full = neuron_gradients(start, X, y)  # the exact gradient, from all 2000 people
    full = np.append(full["w"], full["b"])
    rng = np.random.default_rng(0)
    spreads = {}
    print("batch size  steps per epoch  spread of the batch gradient  spread x sqrt(batch)")
    for batch_size in (1, 8, 32, 128, 2000):
        batches = [rng.choice(len(y), size=batch_size, replace=False) for _ in range(500)]
        errors = [np.append(*neuron_gradients(start, X[b], y[b]).values()) - full for b in batches]
        spread = np.sqrt(np.mean(np.sum(np.square(errors), axis=1))) / np.linalg.norm(full)
        spreads[batch_size] = spread
        print(f"{batch_size:10}  {-(-len(y) // batch_size):15}  {spread:28.1%}  {spread * np.sqrt(batch_size):20.2f}")
    # --8<-- [end:batch-noise]

    # --8<-- [start:sgd-vs-gd]
    runs = {}
    print("method               rate   steps/epoch   loss after 1, 5, 20, 100 epochs")
    for batch_size, label in [(2000, "gradient descent"), (32, "SGD, batches of 32")]:
        for rate in (0.03, 0.1, 0.3):
            history = minibatch_sgd(neuron_gradients, start, X, y, rate, epochs=100, batch_size=batch_size)
            runs[label, rate] = [neuron_loss(params, X, y) for params in history]
            losses = " ".join(f"{runs[label, rate][epoch]:6.3f}" for epoch in (1, 5, 20, 100))
            print(f"{label:19}  {rate:4}  {-(-len(y) // batch_size):12}   {losses}")
    # --8<-- [end:sgd-vs-gd]

    # --8<-- [start:sgd-vs-gd-plot]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, label in zip(axes, ["gradient descent", "SGD, batches of 32"]):
        for rate in (0.03, 0.1, 0.3):
            ax.plot(runs[label, rate], label=f"rate {rate}")
        ax.set(title=label, xlabel="epochs (passes over the 2000 examples)", ylim=(0.15, 1.0))
        ax.grid(True)
        ax.legend()
    axes[0].set(ylabel="loss E / N")
    plt.show()
    # --8<-- [end:sgd-vs-gd-plot]

    # --8<-- [start:escape]
    shallow, deep, ridge = stationary[2], stationary[0], stationary[1]
    to_deep, to_shallow = {}, {}  # per noise level, the fraction of runs that changed valley
    print("noise   started in the shallow valley,   started in the deep valley,")
    print("        ended in the deep one            ended in the shallow one")
    for noise in (0, 2, 4, 6, 8):
        ends = []
        for x0 in (shallow, deep):
            runs_at_once = np.full(1000, x0)  # 1000 independent runs
            noisy = gradient_descent(two_valleys_slope, runs_at_once, 0.05, steps=1000, noise=noise)[-1]
            settled = gradient_descent(two_valleys_slope, noisy, 0.05, steps=200)[-1]  # then without noise
            ends.append(np.mean(settled < ridge))  # the ridge between the valleys is at x = 0.17
        to_deep[noise], to_shallow[noise] = ends[0], 1 - ends[1]
        print(f"{noise:5}   {to_deep[noise]:31.1%}   {to_shallow[noise]:26.1%}")
    # --8<-- [end:escape]

    # --8<-- [start:saddle]
    def saddle_slope(p):
        """The gradient of f(x, y) = x^2 + y^4 / 4 - y^2 / 2: a saddle at (0, 0), minima at (0, +-1)."""
        return np.array([2 * p[0], p[1] ** 3 - p[1]])

    plain = gradient_descent(saddle_slope, [1.0, 0.0], learning_rate=0.1, steps=300)[-1]
    noisy = gradient_descent(saddle_slope, [1.0, 0.0], learning_rate=0.1, steps=300, noise=0.1)[-1]
    print("without noise: (x, y) =", plain.round(3), "  with noise 0.1: (x, y) =", noisy.round(3))
    # --8<-- [end:saddle]

    # --8<-- [start:solution]
    decay_spread = {}  # per decay: the standard deviation of the loss over the last 20 epochs
    print("decay   loss after 20, 100 epochs   mean and spread of the loss over the last 20 epochs")
    for decay in (0.0, 0.1):
        history = sgd_with_decay(neuron_gradients, start, X, y, 0.3, epochs=100, batch_size=32, decay=decay)
        losses = [neuron_loss(params, X, y) for params in history]
        decay_spread[decay] = np.std(losses[81:])
        print(
            f"{decay:5}   {losses[20]:.4f}  {losses[100]:.4f}        "
            f"{np.mean(losses[81:]):.4f}  {decay_spread[decay]:.1e}"
        )
    # --8<-- [end:solution]
