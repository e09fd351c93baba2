"""Softmax and categorical cross-entropy, from scratch, beside Keras.

Page: docs/softmax.md. Tests: tests/test_softmax.py.
Run the page as a script: ``python -m snippets.softmax``.

Shapes follow Keras: the last axis holds the K class scores of one example,
so (K,) is one example, (N, K) a batch of N, and any (..., K) works. The scores
before softmax are called logits; results are float64 arrays.
"""

# --8<-- [start:checks]
import numpy as np

from snippets.activations import as_real_array


def class_scores(z, name="z"):
    """z as a float64 array with at least one axis (the K classes); a clear error for a lone number."""
    z = as_real_array(z)
    if z.ndim == 0:
        raise ValueError(f"{name} must have a class axis, shape (..., K), got a single number (shape ())")
    return z


def check_softmax_args(z, axis):
    """z as float64 scores with a class axis, and an axis that exists in z."""
    z = class_scores(z)
    if not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis must be in [-{z.ndim}, {z.ndim - 1}] for z of shape {z.shape}, got {axis}")
    return z


def check_line_args(x, w, b):
    """x of shape (N,) or (), w and b of one shape (K,), all float64."""
    x, w, b = as_real_array(x), as_real_array(w), as_real_array(b)
    if x.ndim > 1 or w.ndim != 1 or w.shape != b.shape:
        raise ValueError(
            f"expected x of shape (N,) or (), w and b of one shape (K,), got {x.shape}, {w.shape}, {b.shape}"
        )
    return x, w, b


def check_distributions(p, name, hint=""):
    """Each row (last axis) of p must be >= 0 and sum to 1, up to float32 rounding."""
    sums = p.sum(axis=-1)
    if not (np.all(p >= 0) and np.allclose(sums, 1.0, rtol=0, atol=1e-4)):
        raise ValueError(
            f"{name} must hold probability distributions along the last axis (entries >= 0, each "
            f"row summing to 1), got entries down to {p.min():.3g} and row sums from "
            f"{sums.min():.3g} to {sums.max():.3g}{hint}"
        )


def check_loss_args(y_true, y_pred, from_logits):
    """Both as float64 arrays of one shape (..., K); y_true, and y_pred unless from_logits, distributions."""
    y_true, y_pred = class_scores(y_true, "y_true"), class_scores(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (..., K), one row of K classes per "
            f"example, got {y_true.shape} and {y_pred.shape}"
        )
    check_distributions(y_true, "y_true")
    if not from_logits:
        check_distributions(y_pred, "y_pred", hint="; to pass logits, use from_logits=True")
    return y_true, y_pred


# --8<-- [end:checks]


# --8<-- [start:numpy]
import numpy as np

from snippets.softmax import check_softmax_args  # the argument checks, kept off the page


def softmax(z, axis=-1):
    """exp(z_k) / sum_i exp(z_i) along `axis`: K scores in, K positive probabilities summing to 1 out.

    The max along `axis` is subtracted first. The common factor exp(-max) cancels
    in the fraction, so the result is the same, but every exp() now sees a number
    <= 0 and cannot overflow, however large the logits.
    """
    z = check_softmax_args(z, axis)  # float64, with a class axis
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# --8<-- [end:numpy]


# --8<-- [start:scores]
from snippets.softmax import check_line_args


def line_scores(x, w, b):
    """The K scores f_k(x) = w_k x + b_k of one input x: shape (N,) -> (N, K), a number -> (K,).

    This is a Dense layer with one input and K units; softmax turns its output into probabilities.
    """
    x, w, b = check_line_args(x, w, b)
    return np.multiply.outer(x, w) + b


# --8<-- [end:scores]


# --8<-- [start:loss]
from snippets.softmax import check_loss_args, class_scores

EPSILON = 1e-7  # keras.config.epsilon(): Keras clips probabilities to [EPSILON, 1 - EPSILON] before log


def log_softmax(z):
    """log(softmax(z)) along the last axis, without ever forming a probability.

    z_k - max - log(sum_i exp(z_i - max)) is exact even where softmax(z) itself
    rounds to 0 and its log would be -inf.
    """
    z = class_scores(z)  # float64, with a class axis
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """-sum_k y_k log p_k for each example, in nats: shape (..., K) -> (...).

    y_true: target distributions, usually one-hot, so the loss is -log(p of the true class).
    y_pred: probabilities, or logits with from_logits=True, when log p comes exactly from
    log_softmax. Probabilities are treated as Keras treats them: rescaled to sum to 1
    and clipped to [EPSILON, 1 - EPSILON], so no example can cost more than -log(1e-7) = 16.1.
    """
    y_true, y_pred = check_loss_args(y_true, y_pred, from_logits)
    if from_logits:
        log_p = log_softmax(y_pred)
    else:
        log_p = np.log(np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON))
    return -np.sum(y_true * log_p, axis=-1)


def categorical_crossentropy_grad(y_true, logits):
    """d loss / d logits = softmax(logits) - y_true, shape (..., K), one row per example.

    The exps of softmax and the log of the loss cancel, leaving a subtraction;
    this needs each row of y_true to sum to 1.
    """
    y_true, logits = check_loss_args(y_true, logits, from_logits=True)
    return softmax(logits) - y_true


# --8<-- [end:loss]


# --8<-- [start:exercise]
def softmax_with_temperature(z, temperature):
    """softmax(z / T) along the last axis: T < 1 sharpens the distribution, T > 1 flattens it."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return softmax(class_scores(z) / temperature)


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:three-classes]
    w = np.array([-2.0, 0.0, 2.0])  # slopes w_k of f_k(x) = w_k x + b_k
    b = np.array([0.0, 1.0, 0.0])  # intercepts b_k

    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    p = softmax(line_scores(x, w, b))
    print("    x    P1     P2     P3     sum   wins")
    for xi, pi in zip(x, p):
        print(f"{xi:5.1f}  {pi[0]:.3f}  {pi[1]:.3f}  {pi[2]:.3f}  {pi.sum():.3f}  class {pi.argmax() + 1}")
    for i, j in [(0, 1), (1, 2)]:
        tie = (b[j] - b[i]) / (w[i] - w[j])  # where w_i x + b_i = w_j x + b_j
        print(f"f{i + 1} = f{j + 1} at x = {tie:+.1f}: P = {softmax(line_scores(tie, w, b)).round(3)}")
    # --8<-- [end:three-classes]

    # --8<-- [start:plot]
    import matplotlib.pyplot as plt

    x = np.linspace(-3, 3, 601)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    left.plot(x, line_scores(x, w, b), label=["class 1: f = -2x", "class 2: f = 1", "class 3: f = 2x"])
    right.plot(x, softmax(line_scores(x, w, b)), label=["P1", "P2", "P3"])
    right.plot(x, softmax(line_scores(x, w, b)).sum(axis=1), linestyle="--", label="P1 + P2 + P3")
    for k, (start, stop) in enumerate([(-3, -0.5), (-0.5, 0.5), (0.5, 3)]):
        right.axvspan(start, stop, color=f"C{k}", alpha=0.1)  # where class k + 1 has the highest P
    left.set(title="Scores (logits) f_k(x)", xlabel="x")
    right.set(title="softmax: probabilities P_k(x)", xlabel="x", ylim=(-0.05, 1.3))
    left.legend(fontsize="small")
    right.legend(fontsize="small", loc="upper center", ncol=4)
    for ax in (left, right):
        ax.grid(True)
    plt.show()
    # --8<-- [end:plot]

    # --8<-- [start:overflow]
    import warnings

    z = np.array([1000.0, 999.0, 998.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = np.exp(z)  # e^1000 does not fit in a float64 (max about 1.8e308): inf
        naive = e / e.sum()  # inf / inf = nan
    print("naive :", naive)
    for warning in caught:
        print(f"        {warning.category.__name__}: {warning.message}")
    print("stable:", softmax(z).round(4))
    print("softmax([2, 1, 0]) =", softmax([2.0, 1.0, 0.0]).round(4), "(adding a constant changes nothing)")
    float32_overflow = np.log(np.finfo(np.float32).max)  # float32 ends at about 3.4e38: exp overflows above this
    print(f"in float32, exp(z) overflows for z above {float32_overflow:.1f}")
    # --8<-- [end:overflow]

    # --8<-- [start:keras]
    import keras

    rng = np.random.default_rng(0)
    z = rng.normal(scale=5.0, size=(4, 10))  # 4 examples, 10 classes, like MNIST digits
    for axis in (-1, 0):
        ours = softmax(z, axis=axis)
        theirs = keras.ops.convert_to_numpy(keras.activations.softmax(z, axis=axis))
        print(
            f"axis={axis:2}: sums {ours.sum(axis=axis).round(6)}, "
            f"largest |NumPy - Keras| {np.max(np.abs(ours - theirs)):.1e}"
        )
    # --8<-- [end:keras]

    # --8<-- [start:sigmoid]
    from snippets.activations import sigmoid

    z = np.array([-5.0, -1.0, 0.0, 2.0, 30.0])
    two_classes = softmax(np.stack([z, np.zeros_like(z)], axis=-1))  # logits [z, 0], shape (5, 2)
    print("softmax([z, 0])[0]:", two_classes[:, 0].round(6))
    print("sigmoid(z):        ", sigmoid(z).round(6))
    print(f"largest difference: {np.max(np.abs(two_classes[:, 0] - sigmoid(z))):.1e}")
    # --8<-- [end:sigmoid]

    # --8<-- [start:two-examples]
    logits = np.array(
        [
            [2.0, 1.0, 0.1],  # example 1: class 1 is likeliest ...
            [0.5, 2.5, 0.3],
        ]
    )  # example 2: class 2 is likeliest ...
    y_true = np.array(
        [
            [1.0, 0.0, 0.0],  # ... and class 1 is right
            [0.0, 0.0, 1.0],
        ]
    )  # ... but class 3 is right
    # --8<-- [end:two-examples]

    # --8<-- [start:loss-numpy]
    p = softmax(logits)
    print("p =", p.round(3).tolist())
    print("-log p[true class]:     ", -np.log(p[y_true == 1]).round(4))
    print("cross-entropy (logits): ", categorical_crossentropy(y_true, logits, from_logits=True).round(4))
    print("cross-entropy (p):      ", categorical_crossentropy(y_true, p).round(4))
    print("mean over the batch:    ", categorical_crossentropy(y_true, logits, from_logits=True).mean().round(4))
    # --8<-- [end:loss-numpy]

    # --8<-- [start:loss-keras]
    per_example = keras.losses.categorical_crossentropy(y_true, logits, from_logits=True)
    mean = keras.losses.CategoricalCrossentropy(from_logits=True)(y_true, logits)
    print("keras.losses.categorical_crossentropy:", keras.ops.convert_to_numpy(per_example).round(4))
    print("keras.losses.CategoricalCrossentropy: ", round(float(mean), 4), "(the mean)")
    # --8<-- [end:loss-keras]

    # --8<-- [start:gradients]
    import tensorflow as tf

    logits = tf.constant(rng.normal(scale=3.0, size=(5, 10)))
    y_true = np.eye(10)[rng.integers(0, 10, size=5)]  # 5 one-hot labels
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = keras.losses.categorical_crossentropy(y_true, logits, from_logits=True)
    autodiff = tape.gradient(loss, logits).numpy()  # row n: gradient of example n's loss
    ours = categorical_crossentropy_grad(y_true, logits.numpy())
    print("p - y, example 1:", ours[0].round(3))
    print(f"largest |(p - y) - GradientTape|: {np.max(np.abs(ours - autodiff)):.1e}")
    # --8<-- [end:gradients]

    # --8<-- [start:clipping]
    logits = np.array([[0.0, 50.0]])  # the model is sure it is class 2 ...
    y_true = np.array([[1.0, 0.0]])  # ... but it is class 1
    p = softmax(logits)
    exact = keras.losses.CategoricalCrossentropy(from_logits=True)(y_true, logits)
    clipped = keras.losses.CategoricalCrossentropy()(y_true, p)
    print("p =", p)
    print("Keras, from logits:       ", round(float(exact), 4))
    print("Keras, from probabilities:", round(float(clipped), 4))
    print("ours, from probabilities: ", categorical_crossentropy(y_true, p).round(4))
    print("-log(1e-7) =", np.round(-np.log(1e-7), 4))
    # --8<-- [end:clipping]

    # --8<-- [start:clipping-gradient]
    logits = tf.constant([[0.0, 50.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        through_p = keras.losses.categorical_crossentropy(y_true, tf.nn.softmax(logits))
        from_logits = keras.losses.categorical_crossentropy(y_true, logits, from_logits=True)
    print("gradient through clipped probabilities:", tape.gradient(through_p, logits).numpy())
    print("gradient from logits, p - y:           ", tape.gradient(from_logits, logits).numpy())
    # --8<-- [end:clipping-gradient]

    # --8<-- [start:underflow]
    z = np.array([0.0, 1000.0])  # the truth is class 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        naive = -np.log(softmax(z)[0])  # softmax(z)[0] = e^-1000 rounds to 0.0
    print("-log(softmax(z)[0]):", naive, [f"{w.category.__name__}: {w.message}" for w in caught])
    print("-log_softmax(z)[0]: ", -log_softmax(z)[0])
    print("ours, from logits:  ", categorical_crossentropy([1.0, 0.0], z, from_logits=True))
    tiny = float(np.finfo(np.float32).smallest_subnormal)  # the smallest positive float32, about 1.4e-45
    float32_underflow = -np.log(tiny / 2)  # e^-gap below tiny / 2 rounds to 0 in float32
    print(f"in float32, e^-gap rounds to 0 for a score gap above {float32_underflow:.1f}")
    # --8<-- [end:underflow]

    # --8<-- [start:rescue]
    p_tensor = keras.activations.softmax(logits)  # a TensorFlow tensor that remembers its logits
    loss = keras.losses.CategoricalCrossentropy()
    print("Keras softmax tensor:    ", round(float(loss(y_true, p_tensor)), 4))
    print("same numbers, as NumPy:  ", round(float(loss(y_true, p_tensor.numpy())), 4))
    # --8<-- [end:rescue]

    # --8<-- [start:errors]
    attempts = [
        lambda: softmax(3.0),  # one number: which axis holds the classes?
        lambda: softmax(np.zeros((2, 3)), axis=2),  # a 2-D array has axes 0 and 1 (or -2 and -1)
        lambda: categorical_crossentropy([[1.0, 0.0]], [[0.5, 0.3, 0.2]]),  # 2 classes in the label, 3 predicted
        lambda: categorical_crossentropy([[1.0, 0.0, 0.0]], [[2.0, 1.0, 0.1]]),  # scores passed as probabilities
    ]
    for attempt in attempts:
        try:
            attempt()
        except ValueError as error:
            print("ValueError:", error)
    # --8<-- [end:errors]

    # --8<-- [start:solution]
    z = np.array([1.0, 2.0, 4.0])
    print("     T   probabilities")
    for temperature in (0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 1000.0):
        print(f"{temperature:6g}   {softmax_with_temperature(z, temperature).round(4)}")
    theirs = keras.ops.convert_to_numpy(keras.activations.softmax(z / 0.5))
    print(
        f"largest |ours - keras.activations.softmax(z / T)| at T = 0.5: "
        f"{np.max(np.abs(softmax_with_temperature(z, 0.5) - theirs)):.1e}"
    )
    print("a tie at T = 0.001:", softmax_with_temperature([3.0, 3.0, 1.0], 0.001))
    # --8<-- [end:solution]
