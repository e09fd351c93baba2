"""A stand-in for note 002's CNN (Keras 1's example mnist_cnn.py), rewritten for Keras 3.

Run it: ``python -m snippets.notes_programs.note_002 [--epochs 12]``.
The old version, reconstructed from the note's fragments: old_002.txt beside this file.
"""

# --8<-- [start:program]
import argparse
import tempfile
from pathlib import Path

import keras
import numpy as np

from snippets.data import load_mnist


def prepare(data):
    """Images as (n, 28, 28, 1) float32 in [0, 1], labels one-hot (n, 10)."""
    x_train = data.x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = data.x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    return (x_train, keras.utils.to_categorical(data.y_train, 10)), (x_test, keras.utils.to_categorical(data.y_test, 10))


def build_model():
    """Two 3x3 convolutions (32 filters each), 2x2 max pooling, Dense(128), Dense(10)."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), padding="valid", activation="relu"),  # was Convolution2D(32, 3, 3)
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Dropout(0.25),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    # Keras 1 and 2 started Adadelta at learning rate 1.0; Keras 3 starts it at 0.001.
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
                  metrics=["accuracy"])
    return model


def main(epochs=12, data=None, verbose=1, folder=None):
    """Train, evaluate on the test images, save; return the test accuracy."""
    keras.utils.set_random_seed(1337)
    data = data or load_mnist()
    print(data)
    (x_train, y_train), (x_test, y_test) = prepare(data)
    model = build_model()
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=verbose, shuffle=True,
              validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"after {epochs} epochs: test loss {loss:.3f}, test accuracy {accuracy:.3f}")
    folder = Path(folder or tempfile.mkdtemp())
    model.save(folder / "model.keras")  # architecture + weights + optimizer in one file
    model.save_weights(folder / "model.weights.h5")  # weights only: the name must end in .weights.h5
    return accuracy
# --8<-- [end:program]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12, help="passes over the training images (example: 12)")
    parser.add_argument("--folder", default=".", help="where model.keras and model.weights.h5 go")
    args = parser.parse_args()
    main(args.epochs, folder=args.folder)
