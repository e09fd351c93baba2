"""Optimizers from scratch (SGD, momentum, AdaGrad, RMSprop, Adam), beside Keras.

Page: docs/optimizers.md. Tests: tests/test_optimizers.py.
Run the page as a script: ``python -m snippets.optimizers``.

An optimizer turns a gradient into a step. Each class here keeps its state
(velocity, running averages) for ONE array of parameters, whose shape the first
step fixes; ``step(params, grads)`` returns the new parameters, float64, and
leaves its arguments unchanged. The formulas are the ones Keras 3 implements,
operation for operation, so the results agree with ``keras.optimizers`` to the
last bits of float64.
"""

# --8<-- [start:surface]
import numpy as np

START = np.array([-7.0, 2.0])  # where every optimizer on this page starts


def loss(points):
    """f(x, y) = x^2 / 20 + y^2 for points of shape (..., 2): a long, narrow valley."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), one (x, y) per point, got {p.shape}")
    return p[..., 0] ** 2 / 20 + p[..., 1] ** 2


def loss_gradient(point):
    """(df/dx, df/dy) = (x / 10, 2y): the valley is 20 times steeper across (y) than along (x)."""
    p = np.asarray(point, dtype=np.float64)
    if p.shape != (2,):
        raise ValueError(f"point must have shape (2,), one (x, y), got {p.shape}")
    return np.array([p[0] / 10, 2 * p[1]])


# --8<-- [end:surface]


# --8<-- [start:checks]
from snippets.activations import as_real_array

# name: (low, high, low included): every hyper-parameter lies in [low, high) or (low, high)
RANGES = {
    "learning_rate": (0, np.inf, False),  # 0 would never move, a negative rate would climb uphill
    "momentum": (0, 1, True),  # 1 would never forget
    "rho": (0, 1, True),
    "beta_1": (0, 1, True),
    "beta_2": (0, 1, True),
    "epsilon": (0, np.inf, True),  # a negative epsilon could put a negative number under the root
    "initial_accumulator_value": (0, np.inf, True),
}


def as_finite_array(x, name):
    """x as a float64 array, or a ValueError for text, complex numbers, None, inf and nan."""
    array = as_real_array(x, name)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array}")
    return array


def check_number(value, name, low, high=np.inf, low_included=True):
    """value as a float if it lies in [low, high) (or (low, high)), else a ValueError naming the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not (low <= value if low_included else low < value) or not value < high:
        raise ValueError(f"{name} must be in {'[' if low_included else '('}{low}, {high}), got {value}")
    return float(value)


def check_hyperparameters(**values):
    """The hyper-parameters as a dict of floats, each checked against its range in RANGES."""
    return {name: check_number(value, name, *RANGES[name]) for name, value in values.items()}


def check_step(params, grads, shape):
    """params and grads as finite float64 arrays of one shape, which must be `shape` unless it is None."""
    w, g = as_finite_array(params, "params"), as_finite_array(grads, "grads")
    if g.shape != w.shape:  # NumPy would broadcast a (1,) gradient into a silently wrong update
        raise ValueError(f"grads must have the shape of params {w.shape}, got {g.shape}")
    if shape is not None and w.shape != shape:
        raise ValueError(
            f"this optimizer holds state for params of shape {shape}, got {w.shape}; "
            f"use one optimizer per array of parameters"
        )
    return w, g


def check_steps(steps):
    """steps as a non-negative int, else a ValueError."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    return int(steps)


# --8<-- [end:checks]


# --8<-- [start:base]
from snippets.optimizers import check_hyperparameters, check_step  # the argument checks, kept off the page


class Optimizer:
    """What every optimizer shares: hyper-parameters, a step counter and per-parameter state."""

    def __init__(self, **hyperparameters):
        for name, value in check_hyperparameters(**hyperparameters).items():
            setattr(self, name, value)  # self.learning_rate, self.momentum, ...
        self.iterations = 0  # t: updates done so far (Adam's bias correction needs it)
        self.shape = None  # the parameters' shape, fixed by the first step

    def step(self, params, grads):
        """One update: the new parameters (float64, shape of params); the inputs are not modified."""
        w, g = check_step(params, grads, self.shape)
        if self.shape is None:  # the first step creates the state, shaped like the parameters
            self.shape = w.shape
            self.start(w)
        self.iterations += 1
        return self.update(w, g)

    def start(self, w):
        """Create the state (velocities, running sums) shaped like w; plain SGD has none."""

    def update(self, w, g):
        raise NotImplementedError


# --8<-- [end:base]


# --8<-- [start:sgd]
class SGD(Optimizer):
    """w <- w - lr * g: a step straight downhill, as long as the slope is steep."""

    def __init__(self, learning_rate=0.01):
        super().__init__(learning_rate=learning_rate)

    def update(self, w, g):
        return w - self.learning_rate * g


# --8<-- [end:sgd]


# --8<-- [start:momentum]
class Momentum(Optimizer):
    """keras.optimizers.SGD(momentum=...): a velocity that remembers the previous steps."""

    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate=learning_rate, momentum=momentum)

    def start(self, w):
        self.velocity = np.zeros_like(w)  # the ball starts at rest

    def update(self, w, g):
        self.velocity = self.momentum * self.velocity - self.learning_rate * g
        return w + self.velocity


# --8<-- [end:momentum]


# --8<-- [start:adagrad]
class AdaGrad(Optimizer):
    """Each parameter's step divided by the root of the sum of ALL its squared gradients so far."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(
            learning_rate=learning_rate, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon
        )

    def start(self, w):
        self.accumulator = np.full_like(w, self.initial_accumulator_value)

    def update(self, w, g):
        self.accumulator = self.accumulator + g**2  # only grows
        return w - self.learning_rate * g / np.sqrt(self.accumulator + self.epsilon)


# --8<-- [end:adagrad]


# --8<-- [start:rmsprop]
class RMSprop(Optimizer):
    """Like AdaGrad, but divided by the root of a moving AVERAGE of squared gradients."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon)

    def start(self, w):
        self.average = np.zeros_like(w)  # Keras calls it the "velocity"

    def update(self, w, g):
        self.average = self.rho * self.average + (1 - self.rho) * g**2  # forgets old gradients
        return w - self.learning_rate * g / np.sqrt(self.average + self.epsilon)


# --8<-- [end:rmsprop]


# --8<-- [start:adam]
class Adam(Optimizer):
    """Momentum (a moving average of g) over RMSprop (a moving average of g^2), bias-corrected."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)

    def start(self, w):
        self.m, self.v = np.zeros_like(w), np.zeros_like(w)

    def update(self, w, g):
        t = self.iterations
        self.m = self.m + (g - self.m) * (1 - self.beta_1)  # = beta_1 m + (1 - beta_1) g
        self.v = self.v + (g**2 - self.v) * (1 - self.beta_2)  # = beta_2 v + (1 - beta_2) g^2
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        return w - self.m * alpha / (np.sqrt(self.v) + self.epsilon)


# --8<-- [end:adam]


# --8<-- [start:choices]
from snippets.optimizers import check_steps


def run(optimizer, start=START, steps=30, gradient=loss_gradient):
    """The path of `steps` updates from `start`: an array of shape (steps + 1, *start.shape)."""
    path = [np.asarray(start, dtype=np.float64)]
    for _ in range(check_steps(steps)):
        path.append(optimizer.step(path[-1], gradient(path[-1])))
    return np.array(path)


# label: (our class, the Keras class, the hyper-parameters both get); every value spelled out
CHOICES = {
    "SGD": (SGD, "SGD", dict(learning_rate=0.9)),
    "Momentum": (Momentum, "SGD", dict(learning_rate=0.1, momentum=0.9)),
    "AdaGrad": (AdaGrad, "Adagrad", dict(learning_rate=1.5, initial_accumulator_value=0.1, epsilon=1e-7)),
    "RMSprop": (RMSprop, "RMSprop", dict(learning_rate=0.2, rho=0.9, epsilon=1e-7)),
    "Adam": (Adam, "Adam", dict(learning_rate=0.3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)),
}
# --8<-- [end:choices]


# --8<-- [start:keras]
import keras


def keras_optimizer(name, **hyper):
    """keras.optimizers.<name>(**hyper) with every hyper-parameter kept in float64.

    By default Keras rounds hyper-parameters to float32 (see the pitfall on the
    page): its learning-rate variable has dtype keras.config.floatx(), and
    TensorFlow turns a Python float into a float32 tensor before casting it to
    the parameters' float64. A float64 floatx while the optimizer is created, and
    np.float64 numbers, avoid both roundings.
    """
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        return getattr(keras.optimizers, name)(
            **{k: np.float64(v) if isinstance(v, float) else v for k, v in hyper.items()}
        )
    finally:
        keras.config.set_floatx(previous)


def side_by_side(ours, theirs, start, gradient, steps):
    """Run our optimizer and a Keras one from the same start, each on its own path.

    Returns, after each of the `steps` updates, the relative difference
    |w_ours - w_keras| / |w_keras| (Euclidean norms), shape (steps,).
    """
    w = np.asarray(start, dtype=np.float64)
    variable = keras.Variable(w, dtype="float64")
    differences = []
    for _ in range(steps):
        w = ours.step(w, gradient(w))
        theirs.apply_gradients([(gradient(variable.numpy()), variable)])
        w_keras = variable.numpy()
        differences.append(np.linalg.norm(w - w_keras) / np.linalg.norm(w_keras))
    return np.array(differences)


# --8<-- [end:keras]


# --8<-- [start:exercise]
class Nesterov(Momentum):
    """keras.optimizers.SGD(momentum=..., nesterov=True): momentum that looks one step ahead."""

    def update(self, w, g):
        self.velocity = self.momentum * self.velocity - self.learning_rate * g
        return w + (self.momentum * self.velocity - self.learning_rate * g)


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:first-steps]
    sgd = SGD(learning_rate=0.9)
    w = START
    for t in range(4):
        print(
            f"t={t}  w=({w[0]:7.4f}, {w[1]:7.4f})  loss={loss(w):7.4f}  gradient=({loss_gradient(w)[0]:7.4f}, "
            f"{loss_gradient(w)[1]:7.4f})"
        )
        w = sgd.step(w, loss_gradient(w))
    # --8<-- [end:first-steps]

    # --8<-- [start:compare]
    STEPS = 150
    print(f"{STEPS} updates from (-7, 2) on f(x, y) = x^2/20 + y^2, the hyper-parameters of CHOICES")
    print("ours       keras.optimizers   largest relative difference")
    for label, (ours, keras_name, hyper) in CHOICES.items():
        differences = side_by_side(ours(**hyper), keras_optimizer(keras_name, **hyper), START, loss_gradient, STEPS)
        print(f"{label:10} {keras_name:18} {differences.max():.1e}")
    # --8<-- [end:compare]

    # --8<-- [start:trajectories]
    import matplotlib.pyplot as plt

    steps = 30
    paths = {label: run(ours(**hyper), START, steps) for label, (ours, _, hyper) in CHOICES.items()}

    x, y = np.meshgrid(np.linspace(-8, 2.5, 211), np.linspace(-2.5, 2.5, 101))
    fig, ax = plt.subplots(figsize=(9, 4.6))
    ax.contour(
        x,
        y,
        loss(np.stack([x, y], axis=-1)),
        levels=np.geomspace(0.01, 12, 12),
        cmap="Greys",
        vmin=-12,
        vmax=20,
        linewidths=0.8,
    )
    for label, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "o-", markersize=3, linewidth=1.2, label=label)
    ax.annotate("minimum", xy=(0, 0), xytext=(0.8, -2.0), arrowprops=dict(arrowstyle="->"))
    ax.set(
        title=f"{steps} steps from ({START[0]:g}, {START[1]:g}) on f(x, y) = x²/20 + y²",
        xlabel="x",
        ylabel="y",
        xlim=(-8, 2.5),
        ylim=(-2.5, 2.5),
        aspect="equal",
    )
    ax.legend(loc="upper right")
    plt.show()

    print(f"loss after {steps} steps (it starts at {loss(START):.2f}):")
    for label, path in paths.items():
        print(f"  {label:9} {loss(path[-1]):9.2e}   at ({path[-1][0]:7.4f}, {path[-1][1]:7.4f})")
    # --8<-- [end:trajectories]

    # --8<-- [start:learning-rate]
    rates = {"too small": 0.05, "good": 0.95, "too large": 1.05}
    curves = {name: loss(run(SGD(learning_rate=lr), START, 60)) for name, lr in rates.items()}
    shrunk = {name: curve[0] / curve[60] for name, curve in curves.items()}  # how many times smaller after 60 steps
    print("SGD   learning_rate   loss after 0, 10, 30, 60 steps")
    for name, lr in rates.items():
        print(f"{name:9}  {lr:6}   " + "  ".join(f"{curves[name][t]:9.2e}" for t in (0, 10, 30, 60)))

    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, lr in rates.items():
        ax.semilogy(curves[name], label=f"{name}: learning_rate={lr}")
    ax.set(title="SGD on f(x, y) = x²/20 + y²", xlabel="step", ylabel="loss")
    ax.grid(True)
    ax.legend()
    plt.show()
    # --8<-- [end:learning-rate]

    # --8<-- [start:memory]
    gradients = np.r_[np.full(50, 10.0), np.full(950, 0.1)]  # steep for 50 steps, then nearly flat
    shown = [1, 50, 51, 100, 200, 1000]
    print("step t          " + "".join(f"{t:>10}" for t in shown))
    print("gradient        " + "".join(f"{gradients[t - 1]:>10g}" for t in shown))
    lr = 0.1
    sizes = {}  # the length of every step, per optimizer
    for optimizer in (AdaGrad(learning_rate=lr), RMSprop(learning_rate=lr), Adam(learning_rate=lr)):
        name, w = type(optimizer).__name__, np.zeros(1)
        sizes[name] = []
        for g in gradients:
            new = optimizer.step(w, [g])
            sizes[name].append(abs(new - w)[0])
            w = new
        print(f"{name:8} |step| " + "".join(f"{sizes[name][t - 1]:10.1e}" for t in shown))
    # --8<-- [end:memory]

    # --8<-- [start:pitfall]
    print("keras.ops.cast(0.999, 'float64') =", float(keras.ops.cast(0.999, "float64")))
    print("Adam(learning_rate=0.3).learning_rate:", keras.optimizers.Adam(learning_rate=0.3).learning_rate.dtype)
    for label, (ours, keras_name, hyper) in CHOICES.items():
        plain = getattr(keras.optimizers, keras_name)(**hyper)  # Python floats, default floatx
        differences = side_by_side(ours(**hyper), plain, START, loss_gradient, STEPS)
        print(f"{label:9} largest relative difference with plain Python floats: {differences.max():.1e}")
    # --8<-- [end:pitfall]

    # --8<-- [start:errors]
    attempts = [
        lambda: SGD(learning_rate=0),
        lambda: Momentum(learning_rate=0.1, momentum=1.0),
        lambda: Adam(beta_2=-0.5),
        lambda: RMSprop(epsilon=-1e-7),
        lambda: SGD(learning_rate=0.1).step(np.zeros(2), np.zeros(3)),
    ]
    for attempt in attempts:
        try:
            attempt()
        except ValueError as error:
            print("ValueError:", error)
    # --8<-- [end:errors]

    # --8<-- [start:solution]
    hyper = dict(learning_rate=0.1, momentum=0.9)
    differences = side_by_side(
        Nesterov(**hyper), keras_optimizer("SGD", nesterov=True, **hyper), START, loss_gradient, STEPS
    )
    print(
        f"Nesterov vs keras.optimizers.SGD(nesterov=True), {STEPS} steps: "
        f"largest relative difference {differences.max():.1e}"
    )
    nesterov, momentum = run(Nesterov(**hyper), START, 30), run(Momentum(**hyper), START, 30)
    print(f"loss after 30 steps: Nesterov {loss(nesterov[-1]):.2e}, Momentum {loss(momentum[-1]):.2e}")
    # --8<-- [end:solution]
