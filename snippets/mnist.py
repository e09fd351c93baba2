"""The MNIST chapter from a shell: train, evaluate and predict, with files to keep.

Page: docs/mnist.md. Tests: tests/test_mnist.py.

    python -m snippets.mnist train [--model notes_cnn] [--epochs 10] [--batch-size 128]
                                   [--data sample|full] [--out runs/MODEL] [--verbose 0|1|2]
    python -m snippets.mnist evaluate MODEL_FILE [--data sample|full]
    python -m snippets.mnist predict MODEL_FILE IMAGE.png [IMAGE.png ...]
    python -m snippets.mnist reproduce [--seeds 3] [--model NAME ...]

Exit status: 0 done; 2 a user error (bad arguments, a missing file, a file that is not a
PNG image or not a Keras model): one line on stderr that says what was expected, no
traceback; 130 interrupted (Ctrl-C): `train` keeps the best epoch so far.

Without a command, ``python -m snippets.mnist`` runs the page's two demo blocks, as every
module in snippets/ runs its page. The page's blocks are sections of this module that
call `main([...])` in-process; they sit under ``if __name__ == "__main__"`` after the
command line has returned, so importing this module (the tests do) runs nothing.

TensorFlow takes seconds to import and writes its own log lines to stderr, so it is
imported only once the arguments and files have been checked.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

PROG = "python -m snippets.mnist"
MODEL_NAMES = ("notes_cnn", "chollet_convnet", "sigmoid_mlp", "two_conv_cnn")  # snippets.mnist_models.MODELS
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"RIFF": "WebP",
}


class UserError(Exception):
    """Something the user can fix; main() prints it as one line and exits with status 2."""


# ---------------------------------------------------------------- images


# --8<-- [start:box-weights]
def box_weights(size_in, size_out):
    """(size_out, size_in) matrix that averages pixels into size_out bigger (or smaller)
    ones: row i holds how much of each input pixel falls into output pixel i, summing to 1."""
    edges = np.linspace(0, size_in, size_out + 1)  # output pixel i covers [edges[i], edges[i+1])
    left = np.arange(size_in)
    overlap = np.minimum(edges[1:, None], left + 1) - np.maximum(edges[:-1, None], left)
    overlap = np.clip(overlap, 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


# --8<-- [end:box-weights]


def to_mnist_pixels(image):
    """An image as matplotlib.image.imread returns a PNG -> (pixels (784,) float32, inverted).

    image: (height, width) gray, or (height, width, 3 or 4) RGB(A), values in [0, 1].
    MNIST digits are white (1) on black (0). Transparent pixels count as white paper; if
    the border of the image is mostly light, the digit is dark on light paper and the image
    is inverted. A non-square image is padded with background to a square, which is then
    averaged down (or up) to 28x28.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])  # over white paper
    if image.ndim == 3 and image.shape[2] == 3:
        image = image @ [0.299, 0.587, 0.114]  # luminance
    if image.ndim != 2 or min(image.shape) < 1 or not 0 <= image.min() <= image.max() <= 1:
        raise ValueError(f"expected a gray, RGB or RGBA image with values in [0, 1], got shape {image.shape}")
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    inverted = bool(border.mean() > 0.5)
    image = 1 - image if inverted else image
    height, width = image.shape
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    square = np.zeros((side, side))
    square[top : top + height, left : left + width] = image
    pixels = box_weights(side, 28) @ square @ box_weights(side, 28).T
    return pixels.reshape(784).astype("float32"), inverted


def read_png(path):
    """A PNG file -> the array matplotlib.image.imread returns; UserError for anything else."""
    path = existing_file(path, "a PNG image")
    with open(path, "rb") as file:
        start = file.read(8)
    kind = next((name for signature, name in SIGNATURES.items() if start.startswith(signature)), None)
    if kind != "PNG":
        what = f"a {kind} image" if kind else "not an image"
        raise UserError(f"expected a PNG image, but {str(path)!r} is {what}" + (" (save it as PNG)" if kind else ""))
    import matplotlib.image

    try:
        return matplotlib.image.imread(path)
    except Exception as error:  # Pillow's errors for a broken file vary (OSError, SyntaxError, ...)
        raise UserError(f"cannot read {str(path)!r} as a PNG image: {one_line(error)}") from error


# ---------------------------------------------------------------- models and data


def existing_file(path, expected):
    """path as a Path, or UserError if it is missing or a folder."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{str(path)!r} does not exist (expected {expected})")
    if not path.is_file():
        raise UserError(f"{str(path)!r} is a folder (expected {expected})")
    return path


def one_line(error):
    """An exception's message on one line, to print after 'error: '."""
    return " ".join(str(error).split()) or type(error).__name__


def check_model_file(path):
    """path as a Path if it looks like a Keras model file, else UserError; without
    TensorFlow: a .keras file is a zip archive holding config.json, a legacy .h5 file
    starts with the HDF5 signature."""
    import zipfile

    expected = "a Keras model file written by model.save or `train`, e.g. runs/notes_cnn/model.keras"
    path = existing_file(path, expected)
    with open(path, "rb") as file:
        is_h5 = file.read(8) == b"\x89HDF\r\n\x1a\n"
    is_keras = zipfile.is_zipfile(path) and "config.json" in zipfile.ZipFile(path).namelist()
    if not (is_keras and path.suffix == ".keras" or is_h5 and path.suffix in (".h5", ".hdf5")):
        raise UserError(f"{str(path)!r} is not a Keras model file (expected {expected})")
    return path


def load_model_file(path):
    """A Keras model of this chapter from a .keras (or legacy .h5) file; UserError otherwise.
    Keras's safe_mode stays on: no Python code from the file is run."""
    path = check_model_file(path)
    import keras

    try:
        model = keras.saving.load_model(path)
    except Exception as error:
        raise UserError(f"cannot load {str(path)!r} as a Keras model: {one_line(error)}") from error
    tensors = [*(getattr(model, "inputs", None) or ()), *(getattr(model, "outputs", None) or ())]
    shapes = [tuple(t.shape) for t in tensors]
    if shapes != [(None, 784), (None, 10)]:
        raise UserError(
            f"{str(path)!r} holds a model with inputs and outputs {shapes}, expected one "
            "that takes (batch, 784) pixels and returns (batch, 10) probabilities"
        )
    return model


def load_data(source):
    """snippets.mnist_data.prepare_mnist for `source` ('sample' or 'full'); UserError if it fails."""
    from snippets.data import load_mnist
    from snippets.mnist_data import prepare_mnist

    try:
        return prepare_mnist(load_mnist(source))
    except (OSError, ValueError, RuntimeError) as error:  # no sample file, no internet for full MNIST
        raise UserError(one_line(error)) from error


# ---------------------------------------------------------------- train


def best_keeper(path):
    """A Keras callback that records every epoch (history, and seconds as
    snippets.mnist_training.EpochTimer times them) and, whenever val_accuracy beats the
    best so far, saves the model to `path`: a file that is always complete (written beside
    it, then renamed), so Ctrl-C at any moment leaves the best epoch so far on disk.
    (The class is made here: importing Keras waits until training.)"""
    from snippets.mnist_training import EpochTimer

    class KeepBest(EpochTimer):
        def __init__(self):
            super().__init__()
            self.history, self.seconds, self.best_epoch, self.best = {}, [], 0, -1.0

        def on_epoch_end(self, epoch, logs=None):
            # Save first, record last: Ctrl-C in the middle (saving takes a while) leaves the
            # record at the last whole epoch, and the kept model the best of those.
            if logs["val_accuracy"] > self.best:
                weights = self.model.get_weights()
                partial = path.with_name(f"{path.stem}.partial.keras")
                self.model.save(partial)
                partial.replace(path)
                self.best, self.best_epoch, self.weights = float(logs["val_accuracy"]), epoch + 1, weights
            for key, value in logs.items():
                self.history.setdefault(key, []).append(float(value))
            super().on_epoch_end(epoch, logs)  # self.seconds: the epoch is complete

    return KeepBest()


def save_plots(history, out):
    """accuracy.png and loss.png: training and validation curves per epoch."""
    from matplotlib.figure import Figure  # no pyplot: nothing global, no window, no open figures

    epochs = range(1, len(history["loss"]) + 1)
    for metric in ("accuracy", "loss"):
        fig = Figure(figsize=(5, 3.5))
        ax = fig.subplots()
        ax.plot(epochs, history[metric], "o-", label="training")
        ax.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch")
        ax.grid(True)
        ax.legend()
        fig.savefig(out / f"{metric}.png", dpi=100, bbox_inches="tight")


def report_text(args, mnist, keeper, parameters, test=None):
    """report.md: what was trained, on which data, how well and how fast."""
    import keras
    import tensorflow as tf

    done, n = len(keeper.seconds), args.epochs
    validation = len(mnist.x_train) // 10  # as fit(validation_split=0.1): the last 10%
    lines = [
        f"# Training report: {args.model}",
        "",
        f"- model: {args.model}, {parameters:,} parameters",
        f"- epochs: {done} of {n}" if done == n else f"- epochs: interrupted after epoch {done} of {n}",
        f"- batch size: {args.batch_size}",
        f"- data: {mnist}",
        f"- images: trained on {len(mnist.x_train) - validation:,}, validated on {validation:,}, "
        f"tested on {len(mnist.x_test):,}",
    ]
    if keeper.best_epoch:
        lines.append(f"- kept: epoch {keeper.best_epoch} (best validation accuracy, {keeper.best:.4f}) in model.keras")
    else:
        lines.append("- kept: nothing (no epoch finished)")
    if test:
        lines.append(f"- test accuracy: {test[1]:.4f}, test loss: {test[0]:.4f}")
    elif keeper.best_epoch:
        lines.append(f"- test accuracy: not measured (interrupted); run `{PROG} evaluate {args.out}/model.keras`")
    if done:
        lines.append(f"- time per epoch: {np.mean(keeper.seconds):.1f} s (mean of {done})")
    lines.append(f"- versions: Keras {keras.__version__}, TensorFlow {tf.__version__}")
    if done:
        lines += ["", "| epoch | loss | accuracy | val_loss | val_accuracy | time |", "|---:|---:|---:|---:|---:|---:|"]
        h = keeper.history
        lines += [
            f"| {i + 1} | {h['loss'][i]:.4f} | {h['accuracy'][i]:.4f} | {h['val_loss'][i]:.4f} "
            f"| {h['val_accuracy'][i]:.4f} | {s:.1f} s |"
            for i, s in enumerate(keeper.seconds)
        ]
    return "\n".join(lines) + "\n"


def command_train(args):
    """Train args.model; write model.keras (best epoch), history.json, accuracy.png,
    loss.png and report.md to args.out. Ctrl-C: write what exists, return 130."""
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file (expected a folder to write into)")
    mnist = load_data(args.data)
    from snippets.mnist_training import train

    out.mkdir(parents=True, exist_ok=True)
    keeper = best_keeper(out / "model.keras")
    test = result = None
    try:
        result = train(
            args.model, mnist, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose, callbacks=[keeper]
        )
        model = result.model
        test = (result.test_loss, result.test_accuracy)
        if keeper.best_epoch != args.epochs:  # an earlier epoch was better: report the model we keep
            model.set_weights(keeper.weights)
            test = model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)
    except KeyboardInterrupt:
        (out / "model.partial.keras").unlink(missing_ok=True)  # a save the interrupt cut short
    from snippets.mnist_models import build_model

    parameters = build_model(args.model).count_params()
    if keeper.seconds:
        (out / "history.json").write_text(json.dumps(keeper.history, indent=1) + "\n")
        save_plots(keeper.history, out)
    (out / "report.md").write_text(report_text(args, mnist, keeper, parameters, test))
    written = [
        f for f in ("model.keras", "history.json", "accuracy.png", "loss.png", "report.md") if (out / f).exists()
    ]
    print(f"wrote to {out}: {', '.join(written)}")
    if result is None:
        print(
            f"{PROG}: interrupted after epoch {len(keeper.seconds)} of {args.epochs}"
            + (f"; kept epoch {keeper.best_epoch} in {out / 'model.keras'}" if keeper.best_epoch else ""),
            file=sys.stderr,
        )
        return 130
    return 0


# ---------------------------------------------------------------- evaluate, predict


def command_evaluate(args):
    """Test loss and accuracy of a saved model on the whole test set."""
    model = load_model_file(args.model_file)
    mnist = load_data(args.data)
    from snippets.mnist_models import compile_model

    compile_model(model)  # the chapter's loss and metric, whatever the file was compiled with
    loss, accuracy = model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)
    print(f"model: {Path(args.model_file).name} ({model.name}, {model.count_params():,} parameters)")
    print(f"data: {mnist}")
    print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f} (on {len(mnist.x_test):,} test images)")
    return 0


def command_predict(args):
    """The digit a saved model sees in each PNG image, and its 10 probabilities."""
    check_model_file(args.model_file)  # the arguments in order, before TensorFlow loads
    images = [read_png(path) for path in args.images]
    model = load_model_file(args.model_file)
    print(f"model: {Path(args.model_file).name} ({model.name})")
    for path, image in zip(args.images, images):
        pixels, inverted = to_mnist_pixels(image)
        probabilities = model.predict(pixels[None], verbose=0)[0]
        digit = int(np.argmax(probabilities))
        print(
            f"{Path(path).name}: {image.shape[1]}x{image.shape[0]} pixels, "
            + ("dark on light, inverted" if inverted else "light on dark, as MNIST")
            + f" -> predicted digit {digit} (probability {probabilities[digit]:.3f})"
        )
        print("  probabilities: " + "  ".join(f"{d}: {p:.3f}" for d, p in enumerate(probabilities)))
    return 0


# ---------------------------------------------------------------- the command line


# ---------------------------------------------------------------- reproduce


def command_reproduce(args):
    """Train each model 10 epochs per seed on full MNIST; store the accuracies the training page shows."""
    from snippets.mnist_training import ACCURACY_FILE, REPRODUCED, reproduce

    unknown = sorted(set(args.model) - set(REPRODUCED))
    if unknown:
        raise UserError(f"unknown model {unknown[0]!r}: expected one of {', '.join(REPRODUCED)}")
    mnist = load_data("full")
    names = args.model or tuple(REPRODUCED)
    results = reproduce(args.seeds, mnist, names=names)
    if ACCURACY_FILE.is_file() and args.model:  # only some models again: keep the others' stored results
        stored = json.loads(ACCURACY_FILE.read_text())
        results["models"] = {**stored["models"], **results["models"]}
    ACCURACY_FILE.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {ACCURACY_FILE}")
    return 0


def whole_number(text):
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def make_parser():
    parser = Parser(prog=PROG, description="Train, evaluate and use the MNIST models of this chapter.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = dict(
        choices=("sample", "full"),
        default=os.environ.get("CNN_TUTORIAL_DATA") or "sample",
        help="sample: the offline sample (5,000 training images); full: keras.datasets.mnist "
        "(60,000, downloaded). Default: $CNN_TUTORIAL_DATA, else sample",
    )

    train = commands.add_parser("train", help="train a model, write model.keras, history, plots and a report")
    train.add_argument("--model", choices=MODEL_NAMES, default="notes_cnn", help="default: notes_cnn")
    train.add_argument("--epochs", type=whole_number, default=10, help="default: 10")
    train.add_argument("--batch-size", type=whole_number, default=128, help="default: 128")
    train.add_argument("--data", **data)
    train.add_argument("--out", help="folder to write into (default: runs/MODEL)")
    train.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="Keras's output: 0 none, 1 progress bar (default), 2 one line per epoch",
    )
    train.set_defaults(run=command_train)

    evaluate = commands.add_parser("evaluate", help="test loss and accuracy of a saved model")
    evaluate.add_argument("model_file", metavar="MODEL_FILE", help="a .keras file, e.g. runs/notes_cnn/model.keras")
    evaluate.add_argument("--data", **data)
    evaluate.set_defaults(run=command_evaluate)

    predict = commands.add_parser("predict", help="the digit a saved model sees in PNG images")
    predict.add_argument("model_file", metavar="MODEL_FILE", help="a .keras file, e.g. runs/notes_cnn/model.keras")
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="PNG images of one digit each, any size")
    predict.set_defaults(run=command_predict)

    reproduce = commands.add_parser(
        "reproduce",
        help="test accuracy over several seeds on full MNIST, stored "
        "for the training page (CNN_TUTORIAL_MNIST_DIR or a download)",
    )
    reproduce.add_argument("--seeds", type=whole_number, default=3, help="seeds 0..N-1 per model (default: 3)")
    reproduce.add_argument(
        "--model", action="append", default=[], metavar="NAME", help="only this model (repeatable; default: all five)"
    )
    reproduce.set_defaults(run=command_reproduce)
    return parser


def main(argv=None):
    """Run the command line on argv (default: sys.argv[1:]); return the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info lines stay quiet
    try:
        args = make_parser().parse_args(argv)
        if args.command == "train" and args.out is None:
            args.out = str(Path("runs") / args.model)
        return args.run(args)
    except SystemExit as done:  # argparse: --help (0) or a usage error (2), already printed
        return done.code
    except UserError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__" and len(sys.argv) > 1:  # the command line: python -m snippets.mnist train ...
    sys.exit(main())

if __name__ == "__main__":  # no command: run the page's blocks, docs/mnist.md
    # --8<-- [start:train]
    import contextlib
    import tempfile
    from pathlib import Path

    from snippets.mnist import main

    workdir = tempfile.TemporaryDirectory()  # the page's "shell" works in here; removed at the end
    with contextlib.chdir(workdir.name):
        status = main(["train", "--model", "chollet_convnet", "--epochs", "2", "--verbose", "2"])
        print("exit status:", status)
        print(Path("runs/chollet_convnet/report.md").read_text())
    # --8<-- [end:train]

    # --8<-- [start:predict]
    import matplotlib.pyplot as plt

    from snippets.data import load_mnist

    data = load_mnist()
    print(data, "-> test image 0, digit", data.y_test[0])
    with contextlib.chdir(workdir.name):
        plt.imsave("digit.png", data.x_test[0], cmap="gray", vmin=0, vmax=255)  # white on black, 28x28
        plt.imsave("paper.png", 255 - data.x_test[0], cmap="gray", vmin=0, vmax=255)  # black on white
        for command in (
            ["evaluate", "runs/chollet_convnet/model.keras"],
            ["predict", "runs/chollet_convnet/model.keras", "digit.png", "paper.png"],
        ):
            print(f"$ python -m snippets.mnist {' '.join(command)}")
            main(command)
    workdir.cleanup()
    # --8<-- [end:predict]
