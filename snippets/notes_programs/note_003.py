"""Note 003's tf.keras program (a 2019 TensorFlow 2.0 CNN on MNIST), rewritten for Keras 3.

Run it: ``python -m snippets.notes_programs.note_003 [--epochs 10]``.
The old version, as the note shows it: old_003.txt beside this file.
"""

# --8<-- [start:program]
import argparse

import keras
from keras import initializers, layers

from snippets.data import load_mnist


def prepare(data):
    """Images flattened to (n, 784) float32 in [0, 1] as in the note, labels one-hot (n, 10)."""
    x_train = data.x_train.reshape(-1, 784).astype("float32") / 255
    x_test = data.x_test.reshape(-1, 784).astype("float32") / 255
    return (x_train, keras.utils.to_categorical(data.y_train, 10)), (x_test, keras.utils.to_categorical(data.y_test, 10))


def build_model():
    """Reshape to 28x28x1, Conv2D(16, 5x5, same), 2x2 pooling, Dense(1024), Dense(10): 3,222,954 weights."""
    model = keras.Sequential([
        keras.Input(shape=(784,)),  # was input_shape=(28*28,) on the Reshape layer
        layers.Reshape((28, 28, 1), name="reshape"),
        layers.Conv2D(16, (5, 5), padding="same", kernel_initializer=initializers.TruncatedNormal(),
                      use_bias=True, activation="relu", name="conv_filter"),
        layers.MaxPooling2D((2, 2), name="max_pooling"),
        layers.Flatten(name="flatten"),
        layers.Dense(1024, activation="relu", kernel_initializer=initializers.TruncatedNormal(), name="hidden"),
        layers.Dense(10, activation="softmax", name="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main(epochs=10, data=None, verbose=1):
    """Train with the test set as validation data, as the note does; return the history dict."""
    keras.utils.set_random_seed(20190222)  # seeds Python, NumPy and TensorFlow at once
    data = data or load_mnist()
    print(data)
    (x_train, y_train), (x_test, y_test) = prepare(data)
    model = build_model()
    history = model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=128,
                        epochs=epochs, verbose=verbose)
    print(f"after {epochs} epochs: val_accuracy {history.history['val_accuracy'][-1]:.3f}")
    return history.history
# --8<-- [end:program]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training images (note: 10)")
    main(parser.parse_args().epochs)
