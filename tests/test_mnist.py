"""The command line of docs/mnist.md, run as a reader runs it: `python -m snippets.mnist ...`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from snippets import mnist as cli
from snippets.data import load_mnist
from tools.runner import worker_environment

ROOT = Path(__file__).resolve().parent.parent
PROG = "python -m snippets.mnist"


def run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "snippets.mnist", *map(str, args)],
        cwd=ROOT,
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def user_error_line(result):
    """The one line a user error prints on stderr (TensorFlow may log its own lines before it)."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith(PROG)]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One short training run (Chollet's convnet, 2 epochs, as the page) that the tests inspect."""
    out = tmp_path_factory.mktemp("run") / "chollet"
    result = run("train", "--model", "chollet_convnet", "--epochs", "2", "--out", out, "--verbose", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


@pytest.fixture(scope="module")
def test_images():
    return load_mnist()


def test_train_writes_every_file_with_its_content(trained_run):
    out, result = trained_run
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy.png",
        "history.json",
        "loss.png",
        "model.keras",
        "report.md",
    ]
    assert result.stdout.count("Epoch ") == 2 and "val_accuracy" in result.stdout  # Keras's own lines (verbose 2)
    history = json.loads((out / "history.json").read_text())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.values())
    for png in ("accuracy.png", "loss.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and matplotlib.image.imread(out / png).ndim == 3
    report = (out / "report.md").read_text()
    best = int(np.argmax(history["val_accuracy"])) + 1
    for expected in (
        "chollet_convnet, 93,322 parameters",
        "epochs: 2 of 2",
        "batch size: 128",
        "5,000 training + 10,000 test images",
        "trained on 4,500, validated on 500, tested on 10,000",
        f"kept: epoch {best} (best validation accuracy, {max(history['val_accuracy']):.4f})",
        "test accuracy: 0.",
        "time per epoch:",
        "Keras 3.",
        "TensorFlow 2.",
    ):
        assert expected in report, expected


def test_evaluate_reproduces_the_reports_test_accuracy(trained_run):
    out, _ = trained_run
    result = run("evaluate", out / "model.keras")
    assert result.returncode == 0, result.stderr[-2000:]
    accuracy = result.stdout.split("test accuracy ")[1].split(",")[0]
    assert f"test accuracy: {accuracy}," in (out / "report.md").read_text()
    assert float(accuracy) > 0.8 and "10,000 test images" in result.stdout and "MNIST offline sample" in result.stdout


def test_predict_reads_a_test_digit_from_png_light_on_dark_and_dark_on_light(trained_run, test_images, tmp_path):
    out, _ = trained_run
    index = int(np.flatnonzero(test_images.y_test == 0)[0])  # the first 0 of the test set: round and clear
    image = test_images.x_test[index]
    matplotlib.image.imsave(tmp_path / "digit.png", image, cmap="gray", vmin=0, vmax=255)
    big_paper = np.kron(255 - image, np.ones((3, 3), dtype=np.uint8))  # 84x84, dark ink on white
    matplotlib.image.imsave(tmp_path / "paper.png", big_paper, cmap="gray", vmin=0, vmax=255)
    result = run("predict", out / "model.keras", tmp_path / "digit.png", tmp_path / "paper.png")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "model: model.keras (chollet_convnet)" and len(lines) == 5
    assert lines[1].startswith("digit.png: 28x28 pixels, light on dark, as MNIST -> predicted digit 0 ")
    assert lines[3].startswith("paper.png: 84x84 pixels, dark on light, inverted -> predicted digit 0 ")
    probabilities = [
        [float(p.split(": ")[1]) for p in line.split("probabilities: ")[1].split("  ")] for line in lines[2::2]
    ]
    np.testing.assert_allclose(probabilities[0], probabilities[1], atol=1e-3)  # the same pixels, either way
    assert np.isclose(sum(probabilities[0]), 1, atol=0.01) and max(probabilities[0]) > 0.5


def test_to_mnist_pixels_inverts_paper_converts_colour_and_resizes(test_images):
    image = test_images.x_test[0] / 255
    pixels, inverted = cli.to_mnist_pixels(image)
    np.testing.assert_allclose(pixels, image.reshape(784), atol=1e-6)
    assert not inverted
    paper = np.kron(1 - image, np.ones((2, 2)))  # 56x56, dark on light
    rgba = np.dstack([paper, paper, paper, np.ones_like(paper)])
    pixels, inverted = cli.to_mnist_pixels(rgba)
    np.testing.assert_allclose(pixels, image.reshape(784), atol=1e-6)
    assert inverted
    transparent = np.zeros((28, 28, 4))  # black ink on a transparent sheet
    transparent[..., 3] = image
    pixels, inverted = cli.to_mnist_pixels(transparent)
    np.testing.assert_allclose(pixels, image.reshape(784), atol=1e-6)
    assert inverted
    wide, _ = cli.to_mnist_pixels(np.pad(image, ((0, 0), (14, 14))))  # 28x56 -> padded to 56x56 -> 28x28
    assert wide.reshape(28, 28)[:7].max() == 0 and wide.reshape(28, 28)[7:21].max() > 0.5


def test_box_weights_average_and_keep_the_total():
    weights = cli.box_weights(56, 28)
    assert weights.shape == (28, 56)
    np.testing.assert_allclose(weights.sum(axis=1), 1)
    np.testing.assert_allclose(weights[0, :2], [0.5, 0.5])
    np.testing.assert_allclose(cli.box_weights(28, 28), np.eye(28))
    np.testing.assert_allclose(cli.box_weights(10, 28).sum(axis=1), 1)  # upsampling too


@pytest.mark.parametrize("image", [np.zeros((28, 28, 2)), np.zeros((0, 5)), np.full((28, 28), 2.0), np.zeros(784)])
def test_to_mnist_pixels_rejects_what_is_not_an_image(image):
    with pytest.raises(ValueError, match="expected a gray, RGB or RGBA image"):
        cli.to_mnist_pixels(image)


def test_every_user_error_is_one_line_and_exit_status_2(trained_run, tmp_path):
    model = trained_run[0] / "model.keras"
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "fake.keras").write_text("not a zip")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    (tmp_path / "file").write_text("")
    cases = [
        (["train", "--model", "lenet"], "invalid choice: 'lenet' (choose from 'notes_cnn'"),
        (["train", "--epochs", "0"], "--epochs: expected a whole number of at least 1, got '0'"),
        (["train", "--epochs", "-2"], "expected a whole number of at least 1, got '-2'"),
        (["train", "--batch-size", "two"], "--batch-size: expected a whole number"),
        (["train", "--data", "web"], "--data: invalid choice: 'web'"),
        (["train", "--out", tmp_path / "file"], "is a file (expected a folder to write into)"),
        (["fly"], "invalid choice: 'fly'"),
        (["evaluate", tmp_path / "missing.keras"], "missing.keras' does not exist (expected a Keras model file"),
        (["evaluate", tmp_path], "is a folder (expected a Keras model file"),
        (["evaluate", tmp_path / "notes.txt"], "notes.txt' is not a Keras model file"),
        (["evaluate", tmp_path / "fake.keras"], "fake.keras' is not a Keras model file"),
        (["predict", model], "required: IMAGE"),
        (["predict", model, tmp_path / "photo.jpg", tmp_path / "missing.png"], "is a JPEG image"),
        (["predict", model, tmp_path / "missing.png"], "missing.png' does not exist (expected a PNG image)"),
        (["predict", model, tmp_path / "notes.txt"], "expected a PNG image, but"),
        (["predict", model, tmp_path / "photo.jpg"], "is a JPEG image (save it as PNG)"),
        (["predict", model, tmp_path / "broken.png"], "cannot read"),
        (["predict", tmp_path / "notes.txt", tmp_path / "photo.jpg"], "notes.txt' is not a Keras model file"),
        (["reproduce", "--seeds", "0"], "--seeds: expected a whole number of at least 1, got '0'"),
        (["reproduce", "--model", "lenet"], "unknown model 'lenet': expected one of notes_cnn"),
    ]
    for args, expected in cases:
        line = user_error_line(run(*args))
        assert expected in line, (args, line)


def test_a_keras_file_of_another_kind_of_model_is_refused(tmp_path):
    import keras

    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(tmp_path / "tiny.keras")
    keras.Sequential([keras.Input((784,)), keras.layers.Lambda(lambda x: x[:, :10])]).save(tmp_path / "lambda.keras")
    with pytest.raises(cli.UserError, match=r"expected one that takes \(batch, 784\) pixels"):
        cli.load_model_file(tmp_path / "tiny.keras")
    with pytest.raises(cli.UserError, match="safe_mode=False"):  # Keras's safe mode stays on
        cli.load_model_file(tmp_path / "lambda.keras")


def test_help_exits_0():
    result = run("train", "--help")
    assert result.returncode == 0 and "--batch-size" in result.stdout and "default: notes_cnn" in result.stdout


def test_ctrl_c_keeps_the_best_epoch_and_exits_130(tmp_path):
    """Start a long run, press Ctrl-C (SIGINT) once the first checkpoint exists."""
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snippets.mnist",
            "train",
            "--model",
            "sigmoid_mlp",
            "--epochs",
            "500",
            "--out",
            str(out),
            "--verbose",
            "0",
        ],
        cwd=ROOT,
        env=worker_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal, even under a CI runner
    )
    deadline = time.monotonic() + 240
    while not (out / "model.keras").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # into a later epoch
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "interrupted after epoch" in stderr
    report = (out / "report.md").read_text()
    done = int(report.split("interrupted after epoch ")[1].split(" of 500")[0])
    assert 1 <= done < 500 and "test accuracy: not measured (interrupted)" in report
    history = json.loads((out / "history.json").read_text())
    assert len(history["val_accuracy"]) == done
    best = int(np.argmax(history["val_accuracy"])) + 1
    assert f"kept: epoch {best} " in report
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy.png",
        "history.json",
        "loss.png",
        "model.keras",
        "report.md",
    ]
    import keras

    kept = keras.saving.load_model(out / "model.keras")  # the kept model loads and predicts
    assert kept.predict(np.zeros((2, 784), "float32"), verbose=0).shape == (2, 10)
