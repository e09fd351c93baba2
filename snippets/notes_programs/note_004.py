"""Note 004's program (a two-layer perceptron on MNIST), rewritten for Keras 3.

Run it: ``python -m snippets.notes_programs.note_004 [--epochs 20]``.
The old version, as the note shows it: old_004.txt beside this file.
"""

# --8<-- [start:program]
import argparse

import keras
import numpy as np

from snippets.data import load_mnist


def prepare(data):
    """Images as (n, 784) float32 in [0, 1], labels one-hot (n, 10).

    The training images are shuffled: the offline sample is sorted by label, and
    validation_split takes the *last* 10 % before any shuffling (only 9s, here).
    """
    order = np.random.default_rng(0).permutation(len(data.x_train))
    x_train = data.x_train[order].reshape(-1, 784).astype("float32") / 255
    x_test = data.x_test.reshape(-1, 784).astype("float32") / 255
    y_train = keras.utils.to_categorical(data.y_train[order], 10)
    y_test = keras.utils.to_categorical(data.y_test, 10)
    return (x_train, y_train), (x_test, y_test)


def build_model():
    """784 -> Dense(512, sigmoid) -> Dense(10, softmax), trained by plain SGD (rate 0.01)."""
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(512, activation="sigmoid"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def main(epochs=20, data=None, verbose=1):
    """Train as the note did (batches of 200, 10 % held out); return the test accuracy."""
    keras.utils.set_random_seed(0)
    data = data or load_mnist()
    print(data)
    (x_train, y_train), (x_test, y_test) = prepare(data)
    model = build_model()
    model.fit(x_train, y_train, batch_size=200, epochs=epochs, verbose=verbose, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"after {epochs} epochs: test accuracy {accuracy:.3f}")
    return accuracy
# --8<-- [end:program]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training images (note: 20)")
    main(parser.parse_args().epochs)
