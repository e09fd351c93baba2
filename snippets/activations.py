"""Activation functions and their derivatives, from scratch, beside Keras.

Page: docs/activations.md. Tests: tests/test_activations.py.
Run the page as a script: ``python -m snippets.activations``.

Every function takes a number or an array of any shape and works element-wise;
the result has the input's shape and dtype float64.
"""

# --8<-- [start:numpy]
import numpy as np


def as_real_array(x, name=None):
    """x as a float64 array; a clear error for text, complex numbers or None, naming x `name` if given."""
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        expected = f"{name} must hold real numbers" if name else "expected real numbers (a number or an array of them)"
        raise ValueError(f"{expected}, got dtype {array.dtype}")
    return array.astype(np.float64)


def step(x):
    """1 where x > 0, else 0: the all-or-nothing neuron of the 1950s perceptron."""
    return (as_real_array(x) > 0).astype(np.float64)


def sigmoid(x):
    """1 / (1 + e^-x), written so that no exp() overflows for large |x|."""
    x = as_real_array(x)
    e = np.exp(-np.abs(x))  # always in (0, 1]
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    """(e^x - e^-x) / (e^x + e^-x): like sigmoid, but from -1 to 1 and centred on 0."""
    return np.tanh(as_real_array(x))


def relu(x):
    """max(0, x): negative inputs become 0, positive ones pass unchanged."""
    return np.maximum(0.0, as_real_array(x))


def step_grad(x):
    """0 everywhere (undefined at 0): gradient descent gets no signal through a step."""
    return np.zeros_like(as_real_array(x))


def sigmoid_grad(x):
    """sigmoid(x) * (1 - sigmoid(x)), at most 0.25 (at x = 0)."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh_grad(x):
    """1 - tanh(x)^2, at most 1 (at x = 0)."""
    return 1 - tanh(x) ** 2


def relu_grad(x):
    """1 where x > 0, else 0 (at exactly 0 we use 0, as TensorFlow does)."""
    return (as_real_array(x) > 0).astype(np.float64)


# --8<-- [end:numpy]


# --8<-- [start:exercise]
def leaky_relu(x, negative_slope=0.2):
    """x where x > 0, else negative_slope * x: a small gradient survives for x < 0."""
    if negative_slope < 0:
        raise ValueError(f"negative_slope must be >= 0, got {negative_slope}")
    x = as_real_array(x)
    return np.where(x > 0, x, negative_slope * x)


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:table]
    x = np.array([-5.0, -1.0, -0.5, 0.0, 0.5, 1.0, 5.0])
    print("x        " + " ".join(f"{v:7.2f}" for v in x))
    for f in (step, sigmoid, tanh, relu):
        print(f"{f.__name__:8} " + " ".join(f"{v:7.4f}" for v in f(x)))
    # --8<-- [end:table]

    # --8<-- [start:keras]
    import keras

    x = np.linspace(-6, 6, 1001)
    for ours, theirs in [
        (sigmoid, keras.activations.sigmoid),
        (tanh, keras.activations.tanh),
        (relu, keras.activations.relu),
    ]:
        difference = np.max(np.abs(ours(x) - keras.ops.convert_to_numpy(theirs(x))))
        print(f"{ours.__name__:8} largest |NumPy - Keras| on {x.size} points: {difference:.1e}")
    # --8<-- [end:keras]

    # --8<-- [start:gradients]
    import tensorflow as tf

    x = np.linspace(-6, 6, 1001)
    for derivative, activation in [
        (sigmoid_grad, keras.activations.sigmoid),
        (tanh_grad, keras.activations.tanh),
        (relu_grad, keras.activations.relu),
    ]:
        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = activation(inputs)
        autodiff = tape.gradient(outputs, inputs).numpy()
        difference = np.max(np.abs(derivative(x) - autodiff))
        print(f"{derivative.__name__:12} largest |ours - GradientTape|: {difference:.1e}")
    # --8<-- [end:gradients]

    # --8<-- [start:plot]
    import matplotlib.pyplot as plt

    x = np.linspace(-5, 5, 501)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for f, df in [(step, step_grad), (sigmoid, sigmoid_grad), (tanh, tanh_grad), (relu, relu_grad)]:
        left.plot(x, f(x), label=f.__name__)
        right.plot(x, df(x), label=f.__name__)
    left.set(title="Activation f(x)", xlabel="x", ylim=(-1.2, 2.2))
    right.set(title="Derivative f'(x)", xlabel="x", ylim=(-0.1, 1.1))
    for ax in (left, right):
        ax.grid(True)
        ax.legend()
    plt.show()
    # --8<-- [end:plot]

    # --8<-- [start:vanishing]
    print("layers  sigmoid'(0)^n  tanh'(2)^n  relu'(2)^n")
    for n in (1, 5, 10, 20):
        print(f"{n:6}  {sigmoid_grad(0.0) ** n:13.2e}  {tanh_grad(2.0) ** n:10.2e}  {relu_grad(2.0) ** n:10.2e}")
    # --8<-- [end:vanishing]

    # --8<-- [start:overflow]
    import warnings

    big = np.array([-1000.0, 0.0, 1000.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        naive = 1 / (1 + np.exp(-big))
    print("naive :", naive, "warnings:", [str(w.message) for w in caught])
    print("stable:", sigmoid(big))
    # --8<-- [end:overflow]

    # --8<-- [start:solution]
    x = np.linspace(-6, 6, 1001)
    difference = np.max(np.abs(leaky_relu(x) - keras.ops.convert_to_numpy(keras.activations.leaky_relu(x))))
    print(f"leaky_relu largest |NumPy - Keras|: {difference:.1e}")
    # --8<-- [end:solution]
