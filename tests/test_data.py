"""The MNIST data layer: the IDX reader, the official files, the offline sample, its build
script, and the loader every page uses.

Tests that need the official MNIST files read them from the folder CNN_TUTORIAL_MNIST_DIR
names (.ci/run sets it to ../shared/data/mnist where that exists) and skip, saying so, without it.
"""

import gzip
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snippets.data import (
    OFFICIAL_MD5,
    SAMPLE_PATH,
    MnistData,
    MnistFileError,
    SampleDataError,
    load_mnist,
    read_idx,
    read_official_file,
    read_uncompressed,
)

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = Path(os.environ["CNN_TUTORIAL_MNIST_DIR"]) if os.environ.get("CNN_TUTORIAL_MNIST_DIR") else None
needs_official = pytest.mark.skipif(
    OFFICIAL is None, reason="needs the official MNIST files: set CNN_TUTORIAL_MNIST_DIR to their folder"
)
NO_NETWORK = Exception(
    "URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: "
    "None -- [Errno -3] Temporary failure in name resolution"
)


def write_idx(path, array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample() -> MnistData:
    return load_mnist("sample")


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A copy of the sample and its checksum file, free to damage."""
    for file in (SAMPLE_PATH, SAMPLE_PATH.with_suffix(".sha256")):
        shutil.copy(file, tmp_path)
    return tmp_path / SAMPLE_PATH.name


def test_sample_has_the_keras_layout(sample):
    assert sample.source == "sample"
    assert (sample.x_train.shape, sample.y_train.shape) == ((5000, 28, 28), (5000,))
    assert (sample.x_test.shape, sample.y_test.shape) == ((10000, 28, 28), (10000,))
    for array in (sample.x_train, sample.y_train, sample.x_test, sample.y_test):
        assert array.dtype == np.uint8
    for labels in (sample.y_train, sample.y_test):
        assert set(np.unique(labels)) == set(range(10))
    assert SAMPLE_PATH.stat().st_size < 3_000_000


def test_training_part_has_500_images_of_each_digit(sample):
    assert np.bincount(sample.y_train).tolist() == [500] * 10


def test_pixels_span_0_to_255_and_every_image_has_ink(sample):
    for images in (sample.x_train, sample.x_test):
        assert (images.min(), images.max()) == (0, 255)
        assert (images.max(axis=(1, 2)) > 0).all()


@needs_official
def test_test_part_is_the_official_mnist_test_set(sample):
    assert np.array_equal(sample.y_test, read_official_file(OFFICIAL, "t10k-labels-idx1-ubyte"))
    assert np.array_equal(sample.x_test, read_official_file(OFFICIAL, "t10k-images-idx3-ubyte"))


@needs_official
def test_training_part_is_the_first_500_of_each_digit_in_the_official_training_set(sample):
    labels = read_official_file(OFFICIAL, "train-labels-idx1-ubyte")
    rows = np.concatenate([np.flatnonzero(labels == digit)[:500] for digit in range(10)])
    assert np.array_equal(sample.x_train, read_official_file(OFFICIAL, "train-images-idx3-ubyte")[rows])
    assert np.array_equal(sample.y_train, labels[rows])


def test_str_names_the_data_set_and_the_counts(sample):
    assert str(sample) == "MNIST offline sample (snippets/sample/mnist-sample.npz): 5,000 training + 10,000 test images"


@needs_official
def test_build_script_reproduces_the_committed_file(tmp_path):
    out = tmp_path / "mnist-sample.npz"
    subprocess.run(
        [sys.executable, "-m", "tools.make_mnist_sample", "--source", OFFICIAL, "--output", out],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    committed = SAMPLE_PATH.with_suffix(".sha256").read_text()
    assert committed.split()[0] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert out.with_suffix(".sha256").read_text() == committed


def test_missing_sample_says_how_to_get_it(tmp_path):
    missing = tmp_path / "mnist-sample.npz"
    with pytest.raises(FileNotFoundError, match="tools.make_mnist_sample") as error:
        load_mnist("sample", path=missing)
    assert str(missing) in str(error.value)


def test_corrupted_sample_is_refused(sample_copy):
    data = bytearray(sample_copy.read_bytes())
    data[1000:1010] = bytes(b ^ 0xFF for b in data[1000:1010])
    sample_copy.write_bytes(data)
    with pytest.raises(ValueError, match="corrupt.*tools.make_mnist_sample") as error:
        load_mnist("sample", path=sample_copy)
    assert str(sample_copy) in str(error.value)


@pytest.mark.parametrize(
    "content",
    [
        b"not a zip file",
        npz(
            x_train=np.zeros((5, 28, 28), np.float32),
            y_train=np.zeros(5, np.uint8),
            x_test=np.zeros((5, 28, 28), np.uint8),
            y_test=np.zeros(5, np.uint8),
        ),
        npz(x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(5, np.uint8)),
    ],
    ids=["not-a-zip", "wrong-dtype", "missing-arrays"],
)
def test_unusable_sample_is_refused_even_with_a_matching_checksum(sample_copy, content):
    sample_copy.write_bytes(content)
    sample_copy.with_suffix(".sha256").write_text(hashlib.sha256(content).hexdigest())
    with pytest.raises(SampleDataError, match="tools.make_mnist_sample"):
        load_mnist("sample", path=sample_copy)


def test_unknown_source_says_what_is_allowed():
    with pytest.raises(ValueError, match="'sample'.*'full'"):
        load_mnist("fashion")


def test_environment_variable_chooses_the_source(monkeypatch):
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "fashion")
    with pytest.raises(ValueError, match="fashion"):
        load_mnist()
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "sample")
    assert load_mnist().source == "sample"
    monkeypatch.delenv("CNN_TUTORIAL_DATA")
    assert load_mnist().source == "sample"  # the clone has the sample


def test_without_the_sample_the_default_is_full_mnist(monkeypatch, tmp_path):
    """Where the package is installed without the sample (a notebook's helper modules, the
    published edition's package), the default is full MNIST through Keras."""
    import keras

    import snippets.data

    monkeypatch.setattr(snippets.data, "SAMPLE_PATH", tmp_path / "absent.npz")
    monkeypatch.setattr(
        keras.datasets.mnist,
        "load_data",
        lambda: (
            (np.zeros((6, 28, 28), np.uint8), np.zeros(6, np.uint8)),
            (np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)),
        ),
    )
    monkeypatch.delenv("CNN_TUTORIAL_DATA", raising=False)
    monkeypatch.delenv("CNN_TUTORIAL_MNIST_DIR", raising=False)
    assert str(load_mnist()) == "full MNIST (keras.datasets.mnist): 6 training + 2 test images"


def test_build_script_without_a_source_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CNN_TUTORIAL_MNIST_DIR"}
    result = subprocess.run(
        [sys.executable, "-m", "tools.make_mnist_sample", "--output", tmp_path / "s.npz"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2 and "CNN_TUTORIAL_MNIST_DIR" in result.stderr
    assert not (tmp_path / "s.npz").exists()


def test_full_uses_keras(monkeypatch):
    import keras

    def fake_load_data():
        x, y = np.zeros((60000, 28, 28), np.uint8), np.zeros(60000, np.uint8)
        return (x, y), (x[:10000], y[:10000])

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fake_load_data)
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "full")
    monkeypatch.delenv("CNN_TUTORIAL_MNIST_DIR", raising=False)
    data = load_mnist()
    assert data.source == "full"
    assert str(data) == "full MNIST (keras.datasets.mnist): 60,000 training + 10,000 test images"


def test_full_without_network_fails_loudly_instead_of_using_the_sample(monkeypatch):
    import keras

    def no_network(*args, **kwargs):
        raise NO_NETWORK

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "full")
    monkeypatch.delenv("CNN_TUTORIAL_MNIST_DIR", raising=False)
    with pytest.raises(RuntimeError, match="MNIST could not be downloaded: connect to the internet") as error:
        load_mnist()
    message = str(error.value)
    assert str(NO_NETWORK) in message and "CNN_TUTORIAL_MNIST_DIR" in message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence
    assert error.value.__cause__ is NO_NETWORK


def test_importing_the_loader_does_not_import_keras():
    code = "import sys, snippets.data; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---------------------------------------------------------------- the IDX reader


@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
def test_read_idx_round_trips_images_and_labels(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / name, images)
    assert np.array_equal(read_idx(tmp_path / name), images)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "labels.idx", labels)
    assert read_idx(tmp_path / "labels.idx").tolist() == [3, 1, 4, 1, 5]


def test_read_idx_reads_big_endian_integers(tmp_path):
    values = np.array([[1, -2], [70000, 3]], dtype=">i4")
    write_idx(tmp_path / "ints.idx", values, type_code=0x0C)
    assert read_idx(tmp_path / "ints.idx").tolist() == [[1, -2], [70000, 3]]


def test_read_idx_rejects_other_files_and_truncation(tmp_path):
    (tmp_path / "text.idx").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "text.idx")
    write_idx(tmp_path / "short.idx", np.zeros((3, 4), np.uint8))
    (tmp_path / "short.idx").write_bytes((tmp_path / "short.idx").read_bytes()[:-1])
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(tmp_path / "short.idx")


# ---------------------------------------------------------------- full MNIST from the official files

NAMES = list(OFFICIAL_MD5)  # train-images, train-labels, t10k-images, t10k-labels


def tiny_official_folder(folder: Path, monkeypatch, gz: bool = True) -> Path:
    """Four small IDX files named like the official ones, whose MD5s the loader is told to expect."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(4, dtype=np.uint8),
    }
    md5 = {}
    for name, array in arrays.items():
        path = folder / (f"{name}.gz" if gz else name)
        write_idx(path, array)
        md5[name] = hashlib.md5(read_uncompressed(path)).hexdigest()
    monkeypatch.setattr("snippets.data.OFFICIAL_MD5", md5)
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "full")
    monkeypatch.setenv("CNN_TUTORIAL_MNIST_DIR", str(folder))
    return folder


def refuse_keras(monkeypatch):
    import keras

    def no_keras():
        raise AssertionError("the loader must not fall back to keras.datasets when CNN_TUTORIAL_MNIST_DIR is set")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_keras)


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "uncompressed"])
def test_full_reads_the_official_files_from_the_folder_named(tmp_path, monkeypatch, gz):
    tiny_official_folder(tmp_path, monkeypatch, gz=gz)
    refuse_keras(monkeypatch)
    data = load_mnist()
    assert data.source == "full" and str(data) == "full MNIST (the official IDX files): 6 training + 4 test images"
    assert data.y_train.tolist() == list(range(6)) and data.x_test.shape == (4, 28, 28)


def damage_missing(path):
    path.unlink()


def damage_truncated(path):
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-3]))  # the last 3 bytes lost


def damage_corrupt_gzip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)  # the second half zeroed, as a bad disk would
    path.write_bytes(bytes(data))


def damage_wrong_magic(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[3] ^= 0x02  # another number of dimensions: 3 -> 1, 1 -> 3
    path.write_bytes(gzip.compress(bytes(raw)))


def damage_other_content(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] ^= 0xFF  # a valid IDX file, but not the official one
    path.write_bytes(gzip.compress(bytes(raw)))


@pytest.mark.parametrize(
    "damage, says",
    [
        (damage_missing, "is missing"),
        (damage_truncated, "header says shape"),
        (damage_corrupt_gzip, "not a complete gzip file"),
        (damage_wrong_magic, "magic number"),
        (damage_other_content, "is not the official"),
    ],
    ids=["missing", "truncated", "corrupt", "wrong-magic", "wrong-md5"],
)
@pytest.mark.parametrize("name", NAMES)
def test_each_bad_official_file_gives_one_clear_error_and_no_fallback(tmp_path, monkeypatch, damage, says, name):
    folder = tiny_official_folder(tmp_path, monkeypatch)
    refuse_keras(monkeypatch)
    damage(folder / f"{name}.gz")
    with pytest.raises(MnistFileError) as error:
        load_mnist()
    message = str(error.value)
    assert says in message
    assert f"{name}.gz" in message  # names the file
    assert "Fix:" in message or ": put the official" in message  # and the fix
    assert "CNN_TUTORIAL_MNIST_DIR" in message


@needs_official
def test_the_official_files_are_full_mnist():
    for name, n in zip(NAMES, (60_000, 60_000, 10_000, 10_000)):
        array = read_official_file(OFFICIAL, name)
        assert array.shape == ((n, 28, 28) if "images" in name else (n,)) and array.dtype == np.uint8
    labels = read_official_file(OFFICIAL, "train-labels-idx1-ubyte")
    # the class counts the data README gives, and MNIST's first training digit, a 5
    assert np.bincount(labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert labels[0] == 5
