"""Saving and loading (docs/mnist_saving.md): every round trip gives the same model, exactly."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from snippets import mnist_saving as saving
from snippets.mnist_models import build_model, compile_model
from tools.runner import worker_environment


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((300, 784), dtype=np.float32)  # any inputs will do


def predictions(model, images):
    return model.predict(images, batch_size=1000, verbose=0)


@pytest.mark.parametrize("round_trip", [saving.save_and_load, saving.save_and_load_weights, saving.save_and_load_json])
def test_every_round_trip_gives_identical_predictions_and_weights(model, images, round_trip, tmp_path):
    copy, path = round_trip(model, tmp_path)
    assert copy is not model and path.parent == tmp_path and path.is_file()
    assert saving.largest_difference(predictions(model, images), copy, images) == 0.0
    assert saving.same_weights(model, copy)


def test_the_keras_file_keeps_the_optimizer_and_the_weights_file_needs_a_built_model(model, tmp_path):
    loaded, _ = saving.save_and_load(model, tmp_path)
    assert loaded.compiled and int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0
    fresh, _ = saving.save_and_load_weights(model, tmp_path)
    assert not fresh.compiled


def test_an_untrained_model_differs_and_sizes_follow_from_the_parameter_count(model, tmp_path):
    untrained = build_model("notes_cnn")
    assert not saving.same_weights(model, untrained)
    untrained.save_weights(tmp_path / "untrained.weights.h5")
    model.save_weights(tmp_path / "trained.weights.h5")
    weights_kb = model.count_params() * 4 / 1000  # float32
    assert weights_kb < saving.size_kb(tmp_path / "untrained.weights.h5") < weights_kb + 50
    # compiled with Adam: two more numbers (m and v) per weight
    assert 3 * weights_kb < saving.size_kb(tmp_path / "trained.weights.h5") < 3 * weights_kb + 100


def test_largest_difference_sees_a_changed_weight(images):
    model, other = build_model("sigmoid_mlp"), build_model("sigmoid_mlp")
    other.set_weights(model.get_weights())
    assert saving.largest_difference(predictions(model, images), other, images) == 0.0
    weights = other.get_weights()
    weights[-1][3] += 1.0  # one output bias
    other.set_weights(weights)
    assert saving.largest_difference(predictions(model, images), other, images) > 0.01
    assert not saving.same_weights(model, other)


def test_safe_mode_refuses_the_lambda_layer_and_loads_it_only_when_asked(tmp_path):
    doubling = saving.doubling_model()
    doubling.save(tmp_path / "doubling.keras")
    error_type, message = saving.raised(keras.saving.load_model, tmp_path / "doubling.keras")
    assert error_type == "ValueError" and "safe_mode=False" in message and "Lambda" in message
    unsafe = keras.saving.load_model(tmp_path / "doubling.keras", safe_mode=False)  # our own file
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(unsafe(np.ones((1, 3)))), [[2.0, 2.0, 2.0]])


def test_the_chapters_models_load_in_safe_mode(tmp_path):
    for name in ("notes_cnn", "chollet_convnet", "sigmoid_mlp", "two_conv_cnn"):
        compile_model(build_model(name)).save(tmp_path / f"{name}.keras")
        assert saving.raised(keras.saving.load_model, tmp_path / f"{name}.keras") is None


def test_weights_do_not_load_into_another_architecture(model, tmp_path):
    model.save_weights(tmp_path / "notes_cnn.weights.h5")
    error_type, message = saving.raised(build_model("sigmoid_mlp").load_weights, tmp_path / "notes_cnn.weights.h5")
    assert error_type == "ValueError" and "(784, 512)" in message


def test_helpers_reject_bad_input(model, tmp_path):
    with pytest.raises(ValueError, match="existing folder"):
        saving.save_and_load(model, tmp_path / "missing")
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        saving.largest_difference(np.zeros((2, 10)), model, np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"\(n, 10\)"):
        saving.largest_difference(np.zeros((3, 10)), model, np.zeros((2, 784)))


def test_the_page_writes_only_into_its_temporary_folder_and_removes_it(tmp_path):
    """Run the page as a script in an empty folder, with an empty TMPDIR: both stay empty."""
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    env = {**worker_environment(), "TMPDIR": str(tmp)}
    run = subprocess.run(
        [sys.executable, "-m", "snippets.mnist_saving"], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "largest difference on 2,000 test images: 0.0" in run.stdout
    assert "folder still there after cleanup(): False" in run.stdout
    assert os.listdir(work) == [] and os.listdir(tmp) == []
