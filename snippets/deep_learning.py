"""What deep learning is: learned rules, representations, tensors, and the layers-loss-optimizer loop.

Page: docs/deep_learning.md. Tests: tests/test_deep_learning.py.
Run the page as a script: ``python -m snippets.deep_learning``.

Shapes: images are (n, 28, 28) uint8 (0 background, 255 ink) or, flattened and
scaled, (n, 784) float32 in [0, 1]; t holds n labels, 1 for "7" and 0 for "1".
"""

# --8<-- [start:rules]
import numpy as np


def pick_pair(images, digits, negative, positive):
    """The images of two digits only, and labels t: 1 for `positive`, 0 for `negative`."""
    keep = (digits == negative) | (digits == positive)
    return images[keep], (digits[keep] == positive).astype(int)


def hand_rule(images):
    """A rule a person wrote for "7 or 1?": a 7 has a bar across its top.
    1 (a 7) if one of the top 10 rows has 8 or more inked pixels, else 0 (a 1)."""
    inked = images[:, :10, :] > 127  # (n, 10, 28): ink in the top 10 rows
    return (inked.sum(axis=2).max(axis=1) >= 8).astype(int)


def learn_rule(images, t):
    """Fit a rule from examples: one weight per pixel, the average positive image minus
    the average negative image, and a bias halfway between the two groups' average scores."""
    x = images.reshape(len(images), -1) / 255
    w = x[t == 1].mean(axis=0) - x[t == 0].mean(axis=0)
    scores = x @ w
    b = -(scores[t == 1].mean() + scores[t == 0].mean()) / 2
    return w, b


def learned_rule(images, w, b):
    """1 where the weighted sum of the pixels plus the bias is positive, else 0."""
    return (images.reshape(len(images), -1) / 255 @ w + b > 0).astype(int)


def accuracy(predicted, t):
    """The share of the examples whose predicted label equals the true one."""
    return float(np.mean(predicted == t))


# --8<-- [end:rules]


# --8<-- [start:model]
import keras


def build_model(hidden=32, seed=0):
    """A small dense network: 784 pixels -> `hidden` ReLU units -> 10 digit probabilities."""
    keras.utils.set_random_seed(seed)  # the same starting weights on every run
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(hidden, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )


# --8<-- [end:model]


# --8<-- [start:nearest-mean]
def nearest_mean_accuracy(train, digits_train, test, digits_test):
    """Classify each test vector by the digit whose average training vector is nearest;
    return the share right. A simple rule, to compare two representations of the same images."""
    means = np.stack([train[digits_train == d].mean(axis=0) for d in range(10)])  # (10, features)
    distances = ((test[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)  # (n, 10)
    return float(np.mean(distances.argmin(axis=1) == digits_test))


# --8<-- [end:nearest-mean]


if __name__ == "__main__":
    # --8<-- [start:data]
    from snippets.data import load_mnist

    data = load_mnist()
    print(data)
    print("x_train:", data.x_train.shape, data.x_train.dtype, "| y_train:", data.y_train.shape, data.y_train.dtype)
    for name, tensor in [
        ("pixel", data.x_train[0, 14, 14]),
        ("row", data.x_train[0, 14]),
        ("image", data.x_train[0]),
        ("x_train", data.x_train),
    ]:
        print(f"{name:8} ndim {np.ndim(tensor)}  shape {np.shape(tensor)}")
    # --8<-- [end:data]

    # --8<-- [start:hand-vs-learned]
    x_17, t_17 = pick_pair(data.x_train, data.y_train, 1, 7)
    test_17, test_t_17 = pick_pair(data.x_test, data.y_test, 1, 7)
    w, b = learn_rule(x_17, t_17)  # fitted on the training images only
    hand_accuracy = accuracy(hand_rule(test_17), test_t_17)
    learned_accuracy = accuracy(learned_rule(test_17, w, b), test_t_17)
    print(f"1 or 7? {len(x_17):,} training and {len(test_17):,} test images")
    print(f"  hand-written rule (top bar): {hand_accuracy:.1%} right on the test images")
    print(f"  learned rule (784 weights):  {learned_accuracy:.1%} right on the test images")

    x_38, t_38 = pick_pair(data.x_train, data.y_train, 3, 8)  # the same code, another pair
    test_38, test_t_38 = pick_pair(data.x_test, data.y_test, 3, 8)
    learned_accuracy_38 = accuracy(learned_rule(test_38, *learn_rule(x_38, t_38)), test_t_38)
    print(f"3 or 8? the same learning code: {learned_accuracy_38:.1%} right on the test images")
    # --8<-- [end:hand-vs-learned]

    # --8<-- [start:weights-figure]
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    limit = np.abs(w).max()
    ax.imshow(w.reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title("Learned weights, 1 or 7?\nred: ink says 7, blue: ink says 1", fontsize=10)
    ax.axis("off")
    plt.show()
    # --8<-- [end:weights-figure]

    # --8<-- [start:batch]
    from snippets.mnist_data import prepare_mnist

    mnist = prepare_mnist(data)  # pixels scaled to [0, 1], each image flattened to 784 numbers
    print("x_train:", mnist.x_train.shape, mnist.x_train.dtype, "| labels:", mnist.digits_train.shape)
    batch = mnist.x_train[:32]  # what the network sees in one step: 32 images
    print("one batch:", batch.shape)
    # --8<-- [end:batch]

    # --8<-- [start:summary]
    model = build_model()
    model.summary(line_length=80)
    print(f"{'model.inputs[0].shape:':25}", model.inputs[0].shape)
    for layer in model.layers:
        print(f"{layer.name + '.output.shape:':25}", layer.output.shape)
    # --8<-- [end:summary]

    # --8<-- [start:none]
    for images in (mnist.x_train[:1], batch, mnist.x_test):
        print(f"input {str(images.shape):12} -> output {model.predict(images, verbose=0).shape}")
    # --8<-- [end:none]

    # --8<-- [start:fit]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(mnist.x_train, mnist.digits_train, batch_size=32, epochs=3, verbose=0)
    losses = history.history["loss"]
    for epoch, (loss, right) in enumerate(zip(losses, history.history["accuracy"]), start=1):
        print(f"epoch {epoch}: loss {loss:.3f}, {right:.1%} of the training images right")
    test_loss, test_accuracy = model.evaluate(mnist.x_test, mnist.digits_test, verbose=0)
    print(f"test images: loss {test_loss:.3f}, {test_accuracy:.1%} right")
    # --8<-- [end:fit]

    # --8<-- [start:representations]
    hidden = keras.Model(model.inputs, model.get_layer("hidden").output)  # input -> hidden layer
    examples = [int(np.flatnonzero(mnist.digits_test == d)[k]) for d in (0, 1, 7) for k in (0, 1)]
    activations = hidden.predict(mnist.x_test[examples], verbose=0)  # (6, 32)
    silent = np.mean(activations == 0)  # the share of hidden numbers that ReLU set to exactly 0
    print("hidden activations:", activations.shape, "| share exactly 0:", f"{silent:.0%}")

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), width_ratios=[1, 5], layout="constrained")
    axes[0].imshow(np.vstack([mnist.x_test[i].reshape(28, 28) for i in examples]), cmap="gray_r")
    axes[0].set_title("six test images")
    axes[0].axis("off")
    axes[1].imshow(activations, cmap="viridis", aspect="auto")
    axes[1].set_yticks(range(len(examples)), [f"a {mnist.digits_test[i]}" for i in examples])
    axes[1].set_xlabel("hidden unit")
    axes[1].set_title("what the hidden layer turns each into: 32 numbers (bright: large, dark: 0)")
    plt.show()

    pixel_nearest = nearest_mean_accuracy(mnist.x_train, mnist.digits_train, mnist.x_test, mnist.digits_test)
    hidden_nearest = nearest_mean_accuracy(
        hidden.predict(mnist.x_train, verbose=0),
        mnist.digits_train,
        hidden.predict(mnist.x_test, verbose=0),
        mnist.digits_test,
    )
    print(f"nearest average digit, pixels (784 numbers):       {pixel_nearest:.1%} of the test images right")
    print(f"nearest average digit, hidden layer (32 numbers):  {hidden_nearest:.1%} of the test images right")
    # --8<-- [end:representations]

    # --8<-- [start:pitfall]
    import re

    one_image = mnist.x_test[0]  # shape (784,): no batch axis
    try:
        model.predict(one_image, verbose=0)
    except ValueError as error:
        print("ValueError:", re.search(r"Expected shape .*?incompatible shape \S+\)", str(error))[0])
    print("with the batch axis:", one_image[None].shape, "->", model.predict(one_image[None], verbose=0).shape)
    print(
        "predicted digit:", model.predict(one_image[None], verbose=0).argmax(axis=1), "| label:", mnist.digits_test[0]
    )
    # --8<-- [end:pitfall]
