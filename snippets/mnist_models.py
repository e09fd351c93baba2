"""Four MNIST classifiers from the study notes, written for today's Keras.

Page: docs/mnist_models.md. Tests: tests/test_mnist_models.py.
Run the page as a script: ``python -m snippets.mnist_models``.

Every model takes what snippets.mnist_data.prepare_mnist returns: a batch of
images flattened to 784 pixels in [0, 1], shape (batch, 784), float32; and
returns 10 probabilities per image, shape (batch, 10), that sum to 1.
The convolutional ones reshape the 784 pixels back to a 28x28x1 image first.
"""

# --8<-- [start:table]
import keras
from keras import layers


def layer_params(layer):
    """(count, formula): a built layer's parameters worked out from its settings by hand.

    Conv2D: (kernel height * kernel width * input channels + 1 bias) * filters.
    Dense: (inputs + 1 bias) * units. Reshape, pooling, flattening, dropout: none to learn.
    """
    if not isinstance(layer, layers.Layer) or not layer.built:
        raise ValueError(f"expected a built Keras layer (in a model made with keras.Input), got {layer!r}")
    if isinstance(layer, layers.Conv2D):
        (height, width), channels, bias = layer.kernel_size, layer.input.shape[-1], int(layer.use_bias)
        return (
            height * width * channels + bias
        ) * layer.filters, f"({height}*{width}*{channels} + {bias})*{layer.filters}"
    if isinstance(layer, layers.Dense):
        inputs, bias = layer.input.shape[-1], int(layer.use_bias)
        return (inputs + bias) * layer.units, f"({inputs} + {bias})*{layer.units}"
    if isinstance(layer, (layers.Reshape, layers.MaxPooling2D, layers.Flatten, layers.Dropout)):
        return 0, ""
    raise ValueError(f"no formula for layer {layer.name!r} of type {type(layer).__name__}")


def layer_table(model):
    """A narrow model.summary(): per layer its name, output shape, Keras's parameter
    count and the formula that gives it (which must agree), then the total."""
    lines = [f"{'layer':16}{'output shape':20}{'params':>10}  by hand"]
    for layer in model.layers:
        count, formula = layer_params(layer)
        if count != layer.count_params():
            raise ValueError(f"{layer.name}: {formula} = {count:,}, but Keras counts {layer.count_params():,}")
        lines.append(f"{layer.name:16}{str(layer.output.shape):20}{count:>10,}  {formula}".rstrip())
    lines.append(f"{'total':36}{model.count_params():>10,}")
    return "\n".join(lines)


# --8<-- [end:table]


# --8<-- [start:notes_cnn]
import keras
from keras import layers


def notes_cnn():
    """The notes' CNN (003): one 5x5 convolution with 16 filters, 2x2 max pooling,
    a 1024-unit hidden layer, softmax over 10 digits. 3,222,954 parameters,
    almost all of them (3,212,288) in the hidden layer that reads the 14x14x16 pooled maps."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Reshape((28, 28, 1), name="reshape"),
            layers.Conv2D(
                16,
                (5, 5),
                padding="same",
                activation="relu",
                kernel_initializer=keras.initializers.TruncatedNormal(),
                name="conv_filter",
            ),
            layers.MaxPooling2D((2, 2), name="max_pooling"),
            layers.Flatten(name="flatten"),
            layers.Dense(
                1024, activation="relu", kernel_initializer=keras.initializers.TruncatedNormal(), name="hidden"
            ),
            layers.Dense(10, activation="softmax", name="softmax"),
        ],
        name="notes_cnn",
    )


# --8<-- [end:notes_cnn]


# --8<-- [start:pipeline]
import matplotlib.pyplot as plt
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyBboxPatch


def describe_layer(layer):
    """What a layer does, in a few words read from its settings: 'conv 5x5x16, same, relu'."""
    if isinstance(layer, layers.Reshape):
        return f"reshape to {'x'.join(map(str, layer.target_shape))}"
    if isinstance(layer, layers.Conv2D):
        (height, width), activation = layer.kernel_size, layer.activation.__name__
        return f"conv {height}x{width}x{layer.filters}, {layer.padding}, {activation}"
    if isinstance(layer, layers.MaxPooling2D):
        return "max pool {}x{}".format(*layer.pool_size)
    if isinstance(layer, layers.Dense):
        return f"dense {layer.units}, {layer.activation.__name__}"
    if isinstance(layer, layers.Dropout):
        return f"dropout {layer.rate}"
    return type(layer).__name__.lower()


def draw_pipeline(model, title=None):
    """A built Sequential model as a column of boxes, input at the top, one box per layer, each
    with the output shape Keras reports for it (read from the model, not typed in). Returns the figure."""
    if not isinstance(model, keras.Sequential) or not model.built:
        raise ValueError(f"expected a built keras.Sequential model (made with keras.Input), got {model!r}")
    rows = [("input", "what the model is given", model.inputs[0].shape)]
    rows += [(layer.name, describe_layer(layer), layer.output.shape) for layer in model.layers]
    fig, ax = plt.subplots(figsize=(7.5, 0.75 * len(rows) + 0.6))
    for k, (name, what, shape) in enumerate(rows):
        y = -1.2 * k
        color = f"C{k % 8}"
        box = FancyBboxPatch((0, y - 0.4), 5.6, 0.8, boxstyle="round,pad=0.05", facecolor=to_rgba(color, 0.15))
        box.set_edgecolor(color)
        ax.add_patch(box)
        ax.text(0.2, y, name, ha="left", va="center", fontsize=11, fontweight="bold")
        ax.text(2.3, y, what, ha="left", va="center", fontsize=10)
        ax.text(6.0, y, str(shape), ha="left", va="center", fontsize=11, family="monospace")
        if k:
            ax.annotate(
                "", xy=(2.8, y + 0.45), xytext=(2.8, y + 0.75), arrowprops={"arrowstyle": "-|>", "color": "0.5"}
            )
    ax.text(6.0, 0.75, "output shape", ha="left", va="center", fontsize=10, style="italic")
    ax.set(xlim=(-0.1, 9.6), ylim=(-1.2 * len(rows) + 0.6, 1.1), title=title or f"{model.name}: shape after each layer")
    ax.axis("off")
    return fig


# --8<-- [end:pipeline]


# --8<-- [start:chollet_convnet]
def chollet_convnet():
    """Chollet's convnet (000, from "Deep Learning with Python"): three 3x3 'valid'
    convolutions with pooling between them, then a small dense head. 93,322 parameters:
    stacking small convolutions sees a wide area with few weights."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="chollet_convnet",
    )


# --8<-- [end:chollet_convnet]


# --8<-- [start:sigmoid_mlp]
def sigmoid_mlp():
    """The notes' first network (004): no convolution at all, 784 pixels into 512 sigmoid
    units into softmax. 407,050 parameters; trained with plain SGD in the notes."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Dense(512, activation="sigmoid"),
            layers.Dense(10, activation="softmax"),
        ],
        name="sigmoid_mlp",
    )


# --8<-- [end:sigmoid_mlp]


# --8<-- [start:two_conv_cnn]
def two_conv_cnn():
    """Keras's classic mnist_cnn.py example: two stacked 3x3 convolutions, pooling and dropout,
    the MNIST counterpart of the Conv -> ReLU -> MaxPool -> Dropout blocks that note 002 explains
    for 32x32x3 images. 1,199,882 parameters; the most accurate of the four."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="two_conv_cnn",
    )


# --8<-- [end:two_conv_cnn]


# --8<-- [start:registry]
MODELS = {
    "notes_cnn": notes_cnn,
    "chollet_convnet": chollet_convnet,
    "sigmoid_mlp": sigmoid_mlp,
    "two_conv_cnn": two_conv_cnn,
}
OPTIMIZERS = {"sigmoid_mlp": "sgd"}  # as in note 004; the others use Adam, as in note 003


def build_model(name):
    """A new, untrained model by name (one of MODELS)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    return MODELS[name]()


def compile_model(model, optimizer=None):
    """Compile for one-hot labels, as the notes do: categorical cross-entropy, accuracy.

    optimizer: a name or keras optimizer; default: "sgd" for the MLP (note 004), "adam" otherwise.
    metrics=["accuracy"] (not the notes' "acc") makes history keys "accuracy" and "val_accuracy".
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a Keras model (e.g. from build_model), got {type(model).__name__}")
    model.compile(
        optimizer=optimizer or OPTIMIZERS.get(model.name, "adam"), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


# --8<-- [end:registry]


# --8<-- [start:exercise]
def deeper_cnn():
    """The notes' CNN with a second convolution stage: 32 5x5 filters, pool, 64 5x5
    filters, pool; then the same 1024-unit hidden layer and softmax."""
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Reshape((28, 28, 1), name="reshape"),
            layers.Conv2D(32, (5, 5), padding="same", activation="relu", name="conv_filter1"),
            layers.MaxPooling2D((2, 2), name="max_pooling1"),
            layers.Conv2D(64, (5, 5), padding="same", activation="relu", name="conv_filter2"),
            layers.MaxPooling2D((2, 2), name="max_pooling2"),
            layers.Flatten(name="flatten"),
            layers.Dense(1024, activation="relu", name="hidden"),
            layers.Dense(10, activation="softmax", name="softmax"),
        ],
        name="deeper_cnn",
    )


# --8<-- [end:exercise]


if __name__ == "__main__":
    # --8<-- [start:notes_cnn_table]
    cnn = notes_cnn()
    print(layer_table(cnn))
    # --8<-- [end:notes_cnn_table]

    # --8<-- [start:notes_cnn_pipeline]
    draw_pipeline(cnn, title="The notes' CNN: the output shape of every layer")
    plt.show()
    # --8<-- [end:notes_cnn_pipeline]

    # --8<-- [start:notes_cnn_summary]
    cnn.summary(line_length=80)
    # --8<-- [end:notes_cnn_summary]

    # --8<-- [start:chollet_convnet_table]
    convnet = chollet_convnet()
    print(layer_table(convnet))
    # --8<-- [end:chollet_convnet_table]

    # --8<-- [start:sigmoid_mlp_table]
    mlp = sigmoid_mlp()
    print(layer_table(mlp))
    # --8<-- [end:sigmoid_mlp_table]

    # --8<-- [start:two_conv_cnn_table]
    two_conv = two_conv_cnn()
    print(layer_table(two_conv))
    # --8<-- [end:two_conv_cnn_table]

    # --8<-- [start:summaries]
    for model in (convnet, mlp, two_conv):  # the models built above, so the layer names match
        model.summary(line_length=80)
    # --8<-- [end:summaries]

    # --8<-- [start:compare]
    print(f"{'model':16}{'params':>10}{'in Dense':>10}{'in Conv2D':>11}")
    for model in (cnn, convnet, mlp, two_conv):
        dense = sum(layer.count_params() for layer in model.layers if isinstance(layer, layers.Dense))
        conv = sum(layer.count_params() for layer in model.layers if isinstance(layer, layers.Conv2D))
        total = model.count_params()
        print(f"{model.name:16}{total:>10,}{dense / total:>10.2%}{conv / total:>11.2%}")
    # --8<-- [end:compare]

    # --8<-- [start:use]
    import numpy as np

    from snippets.mnist_data import prepare_mnist

    mnist = prepare_mnist()
    print(mnist)
    images = mnist.x_test[:3]  # three test images, (3, 784)
    print("true digits:", mnist.digits_test[:3])
    keras.utils.set_random_seed(0)
    for name in MODELS:
        model = compile_model(build_model(name))
        probabilities = keras.ops.convert_to_numpy(model(images))  # (3, 10), untrained
        sums = " ".join(f"{total:.3f}" for total in probabilities.sum(axis=1))
        print(
            f"{name:16}{type(model.optimizer).__name__:5} output {probabilities.shape}  row sums {sums}  "
            f"largest {np.round(probabilities.max(axis=1), 2)}"
        )
    # --8<-- [end:use]

    # --8<-- [start:padding]
    for padding in ("same", "valid"):
        model = keras.Sequential(
            [  # the notes' CNN, with the padding as a choice
                keras.Input(shape=(784,)),
                layers.Reshape((28, 28, 1)),
                layers.Conv2D(16, (5, 5), padding=padding, activation="relu"),
                layers.MaxPooling2D((2, 2)),
                layers.Flatten(),
                layers.Dense(1024, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        _, conv, _, flat, hidden, _ = model.layers
        print(
            f"padding={padding!r:8} conv output {conv.output.shape}  flatten {flat.output.shape[1]:5,}  "
            f"hidden {hidden.count_params():>9,}  total {model.count_params():>9,}"
        )
    # --8<-- [end:padding]

    # --8<-- [start:solution]
    deeper = deeper_cnn()
    print(layer_table(deeper))
    # --8<-- [end:solution]
