"""The MNIST data layer: the offline sample, its build script, and the loader every page uses."""

import gzip
import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snippets.data import SAMPLE_PATH, MnistData, SampleDataError, load_mnist

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
NO_NETWORK = Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: "
                       "None -- [Errno -3] Temporary failure in name resolution")


def official(name: str, header_bytes: int) -> np.ndarray:
    return np.frombuffer(gzip.decompress((OFFICIAL / name).read_bytes()), np.uint8, offset=header_bytes)


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


def test_test_part_is_the_official_mnist_test_set(sample):
    assert np.array_equal(sample.y_test, official("t10k-labels-idx1-ubyte.gz", header_bytes=8))
    assert np.array_equal(sample.x_test.reshape(-1), official("t10k-images-idx3-ubyte.gz", header_bytes=16))


def test_str_names_the_data_set_and_the_counts(sample):
    assert str(sample) == "MNIST offline sample (data/mnist-sample.npz): 5,000 training + 10,000 test images"


def test_build_script_reproduces_the_committed_file(tmp_path):
    out = tmp_path / "mnist-sample.npz"
    subprocess.run([sys.executable, ROOT / "tools" / "make_mnist_sample.py", "--output", out],
                   check=True, capture_output=True)
    committed = SAMPLE_PATH.with_suffix(".sha256").read_text()
    assert committed.split()[0] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert out.with_suffix(".sha256").read_text() == committed


def test_missing_sample_says_how_to_get_it(tmp_path):
    missing = tmp_path / "mnist-sample.npz"
    with pytest.raises(FileNotFoundError, match="make_mnist_sample.py") as error:
        load_mnist("sample", path=missing)
    assert str(missing) in str(error.value)


def test_corrupted_sample_is_refused(sample_copy):
    data = bytearray(sample_copy.read_bytes())
    data[1000:1010] = bytes(b ^ 0xFF for b in data[1000:1010])
    sample_copy.write_bytes(data)
    with pytest.raises(ValueError, match="corrupt.*make_mnist_sample.py") as error:
        load_mnist("sample", path=sample_copy)
    assert str(sample_copy) in str(error.value)


@pytest.mark.parametrize("content", [
    b"not a zip file",
    npz(x_train=np.zeros((5, 28, 28), np.float32), y_train=np.zeros(5, np.uint8),
        x_test=np.zeros((5, 28, 28), np.uint8), y_test=np.zeros(5, np.uint8)),
    npz(x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(5, np.uint8)),
], ids=["not-a-zip", "wrong-dtype", "missing-arrays"])
def test_unusable_sample_is_refused_even_with_a_matching_checksum(sample_copy, content):
    sample_copy.write_bytes(content)
    sample_copy.with_suffix(".sha256").write_text(hashlib.sha256(content).hexdigest())
    with pytest.raises(SampleDataError, match="make_mnist_sample.py"):
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
    assert load_mnist().source == "sample"


def test_full_uses_keras(monkeypatch):
    import keras

    def fake_load_data():
        x, y = np.zeros((60000, 28, 28), np.uint8), np.zeros(60000, np.uint8)
        return (x, y), (x[:10000], y[:10000])

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fake_load_data)
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "full")
    data = load_mnist()
    assert data.source == "full"
    assert str(data) == "full MNIST (keras.datasets.mnist): 60,000 training + 10,000 test images"


def test_full_without_network_fails_loudly_instead_of_using_the_sample(monkeypatch):
    import keras

    def no_network(*args, **kwargs):
        raise NO_NETWORK

    monkeypatch.setattr(keras.datasets.mnist, "load_data", no_network)
    monkeypatch.setenv("CNN_TUTORIAL_DATA", "full")
    with pytest.raises(RuntimeError, match="full MNIST could not be loaded") as error:
        load_mnist()
    message = str(error.value)
    assert str(NO_NETWORK) in message
    assert "mnist.npz" in message and ".keras/datasets" in message and "CNN_TUTORIAL_DATA=sample" in message
    assert error.value.__cause__ is NO_NETWORK


def test_importing_the_loader_does_not_import_keras():
    code = "import sys, snippets.data; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
