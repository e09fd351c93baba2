"""The whole MNIST workflow in one notebook: data, model, training, a look inside, saving.

Page: docs/notebooks/mnist_cnn.ipynb, made from notebooks/mnist_cnn.md by
tools/notebooks.py and executed by mkdocs-jupyter. Tests: tests/test_mnist_cnn.py.
Run it as a script: ``python -m snippets.mnist_cnn``.

Each step calls the functions that the chapter's pages explain; the training is
the training page's own run (snippets.mnist_training.trained), so on a machine
that built the site it is loaded, not repeated.
"""

if __name__ == "__main__":
    # --8<-- [start:data]
    import matplotlib.pyplot as plt
    import numpy as np

    from snippets.mnist_data import prepare_mnist, show_digits

    mnist = prepare_mnist()
    print(mnist)
    print("training images", mnist.x_train.shape, "labels", mnist.y_train.shape)
    show_digits(mnist.x_train, mnist.digits_train)
    plt.show()
    # --8<-- [end:data]

    # --8<-- [start:model]
    from snippets.mnist_models import build_model

    build_model("notes_cnn").summary(line_length=64, print_fn=lambda line, **_: print(line))  # plain text
    # --8<-- [end:model]

    # --8<-- [start:train]
    from snippets.mnist_training import plot_history, trained

    result = trained("notes_cnn", mnist, epochs=10)
    for epoch, (accuracy, val_accuracy) in enumerate(
        zip(result.history["accuracy"], result.history["val_accuracy"]), 1
    ):
        print(f"epoch {epoch:2}: accuracy {accuracy:.4f}, validation accuracy {val_accuracy:.4f}")
    print(f"test accuracy {result.test_accuracy:.4f} on {len(mnist.x_test):,} test images")
    plot_history(result.history, "notes_cnn")
    plt.show()
    # --8<-- [end:train]

    # --8<-- [start:inside]
    from snippets.mnist_inside import misclassified, show_filters, show_predictions

    model = result.model
    kernels, bias = model.get_layer("conv_filter").get_weights()
    show_filters(kernels)
    probabilities = model.predict(mnist.x_test, batch_size=1000, verbose=0)
    wrong = misclassified(probabilities, mnist.digits_test, count=None)
    print(f"misclassified: {len(wrong)} of {len(mnist.x_test):,} test images")
    show_predictions(mnist.x_test, probabilities, mnist.digits_test, wrong[:10])
    plt.show()
    # --8<-- [end:inside]

    # --8<-- [start:save]
    import tempfile
    from pathlib import Path

    import keras

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "notes_cnn.keras"
        model.save(path)
        reloaded = keras.saving.load_model(path)  # safe_mode=True: no arbitrary code is run
        again = reloaded.predict(mnist.x_test, batch_size=1000, verbose=0)
    print(f"saved {path.name}; reloaded predictions differ by at most {np.abs(again - probabilities).max():.1e}")
    # --8<-- [end:save]
