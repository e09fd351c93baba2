"""Load MNIST, the handwritten digits every page trains on.

The pages are built on machines without internet, so by default they use an
offline sample of real MNIST that ships with this repository (data/README.md):
5,000 training images and the full 10,000-image test set. Set the environment
variable CNN_TUTORIAL_DATA=full to use all 60,000 training images instead.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "data" / "mnist-sample.npz"
FIX = "rebuild it with `python tools/make_mnist_sample.py` or restore it with `git checkout data/`"


class SampleDataError(ValueError):
    """The offline sample exists but is not the file this repository ships."""


@dataclass(frozen=True, eq=False)  # eq=False: arrays cannot be compared with ==
class MnistData:
    """MNIST split into training and test images, laid out as keras.datasets.mnist.load_data().

    Attributes
    ----------
    x_train, x_test : np.ndarray
        Images, shape (n, 28, 28), dtype uint8, 0 (background) to 255 (ink).
    y_train, y_test : np.ndarray
        The digit each image shows, shape (n,), dtype uint8, 0 to 9.
    source : str
        "sample" (offline, 5,000 training images) or "full" (60,000).
    description : str
        Where the images came from, e.g. "full MNIST (keras.datasets.mnist)".
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    description: str

    def __str__(self) -> str:
        return f"{self.description}: {len(self.x_train):,} training + {len(self.x_test):,} test images"


def load_mnist(source: str | None = None, *, path: str | os.PathLike[str] | None = None) -> MnistData:
    """Load MNIST from the offline sample or, on request, the full data set.

    Parameters
    ----------
    source : {"sample", "full"}, optional
        Which data set. Default: the environment variable CNN_TUTORIAL_DATA, else "sample".
    path : path-like, optional
        Another copy of the sample file to read (source "sample" only); its checksum
        must be beside it, e.g. mnist-sample.sha256. Default: data/mnist-sample.npz.

    Returns
    -------
    MnistData
        Training images in the order of their source: the sample's are sorted by
        label (all 0s, then all 1s, ...), so shuffle them before splitting off data.

    Raises
    ------
    ValueError
        `source` is neither "sample" nor "full".
    FileNotFoundError, SampleDataError
        The sample file is missing, or is not the file this repository ships.
    RuntimeError
        Full MNIST could not be loaded, typically because there is no internet.
    """
    if source is None:
        source = os.environ.get("CNN_TUTORIAL_DATA") or "sample"
    if source == "sample":
        return _load_sample(Path(path) if path is not None else SAMPLE_PATH)
    if source == "full":
        return _load_full()
    raise ValueError(f"unknown MNIST source {source!r}: use 'sample' (offline, the default) or 'full' "
                     "(keras.datasets.mnist), e.g. CNN_TUTORIAL_DATA=full")


def _load_sample(path: Path) -> MnistData:
    checksum = path.with_suffix(".sha256")
    for file in (path, checksum):
        if not file.is_file():
            raise FileNotFoundError(f"MNIST sample file {file} is missing: {FIX}")
    expected = checksum.read_text().split()[0]
    if (actual := hashlib.sha256(path.read_bytes()).hexdigest()) != expected:
        raise SampleDataError(f"MNIST sample {path} is corrupt (SHA-256 {actual}, "
                              f"expected {expected} from {checksum.name}): {FIX}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise SampleDataError(f"MNIST sample {path} cannot be read ({e}): {FIX}") from e
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.dtype != np.uint8 or y.dtype != np.uint8 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise SampleDataError(f"MNIST sample {path} has images {x.shape} {x.dtype} and labels "
                                  f"{y.shape} {y.dtype}, expected (n, 28, 28) and (n,) uint8: {FIX}")
    shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path
    return MnistData(x_train, y_train, x_test, y_test, "sample", f"MNIST offline sample ({shown})")


def _load_full() -> MnistData:
    import keras  # imported here, not at the top: importing keras (and TensorFlow) takes seconds

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as e:  # keras raises a bare Exception when the download fails
        raise RuntimeError(
            f"full MNIST could not be loaded: {e}\n"
            "Fix: put mnist.npz (https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz) "
            "in the keras cache folder ~/.keras/datasets/ (or $KERAS_HOME/datasets/), "
            "or use the offline sample: CNN_TUTORIAL_DATA=sample"
        ) from e
    return MnistData(x_train, y_train, x_test, y_test, "full", "full MNIST (keras.datasets.mnist)")
