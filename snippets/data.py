"""Load MNIST, the handwritten digits every page trains on.

In a clone, and wherever the package was installed with it, the default is an
offline sample of real MNIST (sample/README.md): 5,000 training images and the
full 10,000-image test set, so that the pages build without internet. Elsewhere
(a notebook in Colab, the published edition's package) the default is all 60,000
training images, downloaded by keras.datasets.mnist.load_data(). The environment
variable CNN_TUTORIAL_DATA=sample or =full chooses; with full, CNN_TUTORIAL_MNIST_DIR
may name a folder with the four official IDX files, each checked against its MD5.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "snippets" / "sample" / "mnist-sample.npz"
FIX = "rebuild it with `python tools/make_mnist_sample.py` or restore it with `git checkout data/`"


# The official files and the MD5 of each one's uncompressed content, as published with MNIST.
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class SampleDataError(ValueError):
    """The offline sample exists but is not the file this repository ships."""


class MnistFileError(ValueError):
    """An official MNIST file is missing, damaged or not the official one."""


def read_idx(path, raw=None):
    """The content of an IDX file as an array; `raw`: its bytes, if already read (uncompressed).

    IDX is the format MNIST (and Fashion-MNIST) ship in: two zero bytes, a type code
    (0x08: uint8), the number of dimensions d, then d big-endian 4-byte sizes; the
    values follow, row by row. MNIST's images are (n, 28, 28) uint8, its labels (n,).
    """
    path = Path(path)
    if raw is None:
        raw = read_uncompressed(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (expected 0x00 0x00, a type code and a rank, got {raw[:4]!r})")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    start = 4 + 4 * rank
    if len(raw) - start != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(
            f"{path}: header says shape {shape} of {dtype}, but {len(raw) - start:,} bytes "
            "of data follow (truncated or damaged)"
        )
    return np.frombuffer(raw, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def read_uncompressed(path):
    """The bytes of a file, gunzipped if its name ends in .gz."""
    path = Path(path)
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; a cut-off file, EOFError
        raise ValueError(f"{path}: not a complete gzip file ({e or type(e).__name__})") from e


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
        Which data set. Default: the environment variable CNN_TUTORIAL_DATA, else "sample"
        where the sample file is installed (a clone), else "full".
    path : path-like, optional
        Another copy of the sample file to read (source "sample" only); its checksum
        must be beside it, e.g. mnist-sample.sha256. Default: snippets/sample/mnist-sample.npz.

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
    MnistFileError
        CNN_TUTORIAL_MNIST_DIR names a folder whose official files are missing or damaged.
    RuntimeError
        Full MNIST could not be downloaded, typically because there is no internet.
    """
    if source is None:
        source = os.environ.get("CNN_TUTORIAL_DATA") or ("sample" if SAMPLE_PATH.is_file() else "full")
    if source == "sample":
        return _load_sample(Path(path) if path is not None else SAMPLE_PATH)
    if source == "full":
        folder = os.environ.get("CNN_TUTORIAL_MNIST_DIR")
        return _load_official_files(Path(folder)) if folder else _load_full()
    raise ValueError(
        f"unknown MNIST source {source!r}: use 'sample' (offline, the default) or 'full' "
        "(keras.datasets.mnist), e.g. CNN_TUTORIAL_DATA=full"
    )


def _load_sample(path: Path) -> MnistData:
    checksum = path.with_suffix(".sha256")
    for file in (path, checksum):
        if not file.is_file():
            raise FileNotFoundError(f"MNIST sample file {file} is missing: {FIX}")
    expected = checksum.read_text().split()[0]
    if (actual := hashlib.sha256(path.read_bytes()).hexdigest()) != expected:
        raise SampleDataError(
            f"MNIST sample {path} is corrupt (SHA-256 {actual}, expected {expected} from {checksum.name}): {FIX}"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise SampleDataError(f"MNIST sample {path} cannot be read ({e}): {FIX}") from e
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.dtype != np.uint8 or y.dtype != np.uint8 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise SampleDataError(
                f"MNIST sample {path} has images {x.shape} {x.dtype} and labels "
                f"{y.shape} {y.dtype}, expected (n, 28, 28) and (n,) uint8: {FIX}"
            )
    shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path
    return MnistData(x_train, y_train, x_test, y_test, "sample", f"MNIST offline sample ({shown})")


def read_official_file(folder: Path, name: str) -> np.ndarray:
    """One official MNIST file from `folder`, gzipped or not, checked before it is used."""
    fix = (
        f"put the official {name}.gz (or {name}) in {folder}, checked with `gunzip -c FILE | md5sum` "
        f"against {OFFICIAL_MD5[name]}, or unset CNN_TUTORIAL_MNIST_DIR to download MNIST with Keras"
    )
    found = [folder / f"{name}.gz", folder / name]
    path = next((p for p in found if p.is_file()), None)
    if path is None:
        raise MnistFileError(f"MNIST file {found[0]} is missing (CNN_TUTORIAL_MNIST_DIR={folder}): {fix}")
    try:
        raw = read_uncompressed(path)
        magic = 2051 if "images" in name else 2049  # 0x00000803: uint8, 3 dimensions; 0x00000801: 1
        if int.from_bytes(raw[:4], "big") != magic:
            raise ValueError(f"{path}: magic number {raw[:4].hex()}, expected {magic:08x} for {name}")
        array = read_idx(path, raw)
    except ValueError as e:
        raise MnistFileError(f"MNIST file {path} is damaged: {e}. Fix: {fix}") from e
    if (md5 := hashlib.md5(raw).hexdigest()) != OFFICIAL_MD5[name]:
        raise MnistFileError(
            f"MNIST file {path} is not the official {name}: its content has MD5 {md5}, "
            f"expected {OFFICIAL_MD5[name]}. Fix: {fix}"
        )
    return array


def _load_official_files(folder: Path) -> MnistData:
    x_train, y_train, x_test, y_test = (read_official_file(folder, name) for name in OFFICIAL_MD5)
    return MnistData(x_train, y_train, x_test, y_test, "full", "full MNIST (the official IDX files)")


def _load_full() -> MnistData:
    import keras  # imported here, not at the top: importing keras (and TensorFlow) takes seconds

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as e:  # keras raises a bare Exception when the download fails
        raise RuntimeError(
            "MNIST could not be downloaded: connect to the internet and run this again, or set "
            "CNN_TUTORIAL_MNIST_DIR to a folder that holds the four official MNIST files "
            f"(the download failed with: {e})"
        ) from e
    return MnistData(x_train, y_train, x_test, y_test, "full", "full MNIST (keras.datasets.mnist)")
