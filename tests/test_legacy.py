"""Old Keras idioms: what they do now, what replaces them, the checker, the notes' programs rewritten."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from snippets.data import load_mnist
from snippets.legacy import (
    IDIOMS,
    REPLACEMENT,
    Idiom,
    batches,
    check_file,
    check_source,
    predicted_classes,
    report,
    run_here,
    run_old,
    save_and_reload,
)
from snippets.notes_programs import note_002, note_003, note_004

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "snippets" / "notes_programs"
BY_NAME = {idiom.name: idiom for idiom in IDIOMS}

# What each old form must do today: raise this exception, warn, or run with a changed meaning.
EXPECTED = {
    "keras.layers.core": ModuleNotFoundError,
    "np_utils": ImportError,
    "nb_epoch": TypeError,
    "border_mode": ValueError,
    "init": ValueError,
    "history['acc']": KeyError,
    "lr=": ValueError,
    "predict_classes": AttributeError,
    "fit_generator": AttributeError,
    "save_weights('w.h5')": ValueError,
    "save_format": ValueError,
    "softmax(x, dim=-1)": TypeError,
    "input_shape": "warning",
    ".hdf5": "warning",
    "Convolution2D(32, 3, 3)": "changed",
    "metrics=['acc']": "changed",
    "optimizer='adadelta'": "changed",
    "np.random.seed + tf.random.set_seed": "changed",
    "activation='softmax' (2018 'axis' error)": "changed",
}


def test_every_idiom_has_an_expectation_and_the_checker_knows_its_replacement():
    assert set(EXPECTED) | {"TF_USE_LEGACY_KERAS"} == set(BY_NAME)
    assert set(REPLACEMENT) == set(BY_NAME)


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if isinstance(e, type)])
def test_old_form_raises_the_recorded_exception(name, tmp_path, monkeypatch):
    """The recorded outcome names the exception that the old code really raises when run directly."""
    idiom, expected = BY_NAME[name], EXPECTED[name]
    outcome = run_old(idiom)
    assert outcome.kind == "error" and outcome.message.startswith(f"{expected.__name__}: ")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(idiom.setup, namespace)
    with pytest.raises(expected) as raised:
        exec(idiom.old, namespace)
    assert type(raised.value) is expected


@pytest.mark.parametrize("name", [n for n, e in EXPECTED.items() if isinstance(e, str)])
def test_old_form_warns_or_changes_meaning(name):
    assert run_old(BY_NAME[name]).kind == EXPECTED[name]


def test_silent_changes_say_what_changed():
    assert "strides=(3, 3)" in run_old(BY_NAME["Convolution2D(32, 3, 3)"]).message
    assert "['acc', 'loss']" in run_old(BY_NAME["metrics=['acc']"]).message
    assert run_old(BY_NAME["optimizer='adadelta'"]).message == "learning rate 0.001"
    assert run_old(BY_NAME["np.random.seed + tf.random.set_seed"]).message.endswith("False")
    assert "axis" in run_old(BY_NAME["activation='softmax' (2018 'axis' error)"]).message
    assert "Input(shape)" in run_old(BY_NAME["input_shape"]).message


def test_tf_use_legacy_keras_fails_in_a_fresh_python_without_tf_keras():
    outcome = run_old(BY_NAME["TF_USE_LEGACY_KERAS"])
    assert outcome.kind == "error" and outcome.message.startswith("ImportError")
    assert "tf_keras" in outcome.message


def test_errors_in_our_own_setup_are_not_recorded_as_outcomes():
    with pytest.raises(NameError):
        run_here(Idiom("broken", "pass", "", setup="undefined_name"))
    assert run_here(Idiom("fine", "x = 1", "")).kind == "runs"


# ---------------------------------------------------------------- the modern replacements


def test_conv2d_with_a_kernel_tuple_is_the_old_convolution2d_and_three_ints_are_not():
    old_meaning = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, (3, 3))])
    three_ints = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, 3)])
    assert old_meaning.layers[0].kernel_size == (3, 3) and old_meaning.layers[0].strides == (1, 1)
    assert old_meaning.output_shape == (None, 26, 26, 32)  # Keras 1: 28 - 3 + 1
    assert three_ints.output_shape == (None, 9, 9, 32)  # strides 3: the meaning changed
    assert old_meaning.count_params() == 3 * 3 * 1 * 32 + 32


def test_note_002_model_has_the_keras_1_example_layers_and_weights():
    model = note_002.build_model()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides, c.padding) for c in convs] == [(32, (3, 3), (1, 1), "valid")] * 2
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.5]
    flat = 12 * 12 * 32  # 28 -> 26 -> 24 -> pooled 12
    assert model.count_params() == (9 * 32 + 32) + (9 * 32 * 32 + 32) + (flat * 128 + 128) + (128 * 10 + 10)
    assert float(model.optimizer.learning_rate) == pytest.approx(1.0)  # Keras 1's Adadelta start


def test_note_003_model_matches_the_summary_in_the_note():
    model = note_003.build_model()
    assert [layer.name for layer in model.layers] == [
        "reshape",
        "conv_filter",
        "max_pooling",
        "flatten",
        "hidden",
        "softmax",
    ]
    assert [layer.count_params() for layer in model.layers] == [0, 416, 0, 0, 3212288, 10250]
    assert model.count_params() == 3_222_954


def test_note_004_model_is_the_notes_perceptron():
    model = note_004.build_model()
    assert [layer.units for layer in model.layers] == [512, 10]
    assert model.count_params() == (784 * 512 + 512) + (512 * 10 + 10)


def _tiny(metric="accuracy"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy", metrics=[metric])
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    y = keras.utils.to_categorical(np.arange(32) % 3, 3)
    return model, x, y


def test_accuracy_and_acc_are_the_same_number_under_different_keys():
    runs = {}
    for metric in ("acc", "accuracy"):
        model, x, y = _tiny(metric)
        runs[metric] = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, validation_data=(x, y), verbose=0).history
    assert sorted(runs["accuracy"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert sorted(runs["acc"]) == ["acc", "loss", "val_acc", "val_loss"]
    assert runs["acc"]["acc"] == pytest.approx(runs["accuracy"]["accuracy"])
    assert runs["acc"]["val_acc"] == pytest.approx(runs["accuracy"]["val_accuracy"])


def test_argmax_of_predict_is_predict_classes():
    model, x, _ = _tiny()
    probabilities = model.predict(x, verbose=0)
    classes = predicted_classes(model, x)
    assert classes.shape == (32,) and classes.dtype.kind == "i"
    assert all(probabilities[i, c] == probabilities[i].max() for i, c in enumerate(classes))


def test_fit_on_a_generator_trains_exactly_like_fit_on_arrays():
    model, x, y = _tiny()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    arrays = [w.copy() for w in model.get_weights()]
    model, x, y = _tiny()
    model.fit(batches(x, y, 8), steps_per_epoch=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(arrays, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("batch_size, n_y", [(0, 32), (-1, 32), (8, 31)])
def test_batches_rejects_bad_sizes(batch_size, n_y):
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(np.zeros((32, 4)), np.zeros((n_y, 3)), batch_size))


def test_saved_and_reloaded_models_predict_the_same(tmp_path):
    model, x, y = _tiny()
    model.fit(x, y, epochs=1, verbose=0)
    loaded, rebuilt = save_and_reload(model, tmp_path)
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "model.weights.h5").is_file()
    for copy in (loaded, rebuilt):
        np.testing.assert_array_equal(copy.predict(x, verbose=0), model.predict(x, verbose=0))


def test_set_random_seed_gives_the_same_starting_weights_every_time():
    def kernel():
        keras.utils.set_random_seed(20190222)
        layer = keras.layers.Dense(3)
        layer.build((None, 2))
        return keras.ops.convert_to_numpy(layer.kernel)

    np.testing.assert_array_equal(kernel(), kernel())


# ---------------------------------------------------------------- the checker


def lines_with(path, text):
    """Line numbers (from 1) of the code lines (not comments) of `path` that contain `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [n for n, line in enumerate(lines, 1) if text in line and not line.lstrip().startswith("#")]


def found(path):
    return {(f.line, f.idiom) for f in check_file(path)}


def test_checker_finds_every_idiom_of_note_004_at_its_line():
    path = PROGRAMS / "old_004.txt"
    expected = {
        (lines_with(path, "keras.layers.core")[0], "keras.layers.core"),
        (lines_with(path, "import np_utils")[0], "np_utils"),
        (lines_with(path, "input_shape=")[0], "input_shape"),
    }
    assert found(path) == expected


def test_checker_finds_every_idiom_of_note_002_at_its_line():
    path = PROGRAMS / "old_002.txt"
    found_002 = found(path)
    assert {(n, "Convolution2D(32, 3, 3)") for n in lines_with(path, "Convolution2D(32, 3, 3")} <= found_002
    assert len(lines_with(path, "Convolution2D(32, 3, 3")) == 2
    for text, idiom in [
        ("border_mode", "border_mode"),
        ("nb_epoch=nb_epoch", "nb_epoch"),
        ("input_shape=", "input_shape"),
        ("import np_utils", "np_utils"),
        ("optimizer='adadelta'", "optimizer='adadelta'"),
        ("np.random.seed(", "np.random.seed + tf.random.set_seed"),
        ("save_weights('model.h5')", "save_weights('w.h5')"),
    ]:
        assert (lines_with(path, text)[0], idiom) in found_002, idiom
    assert len(found_002) == 9


def test_checker_finds_every_idiom_of_note_003_at_its_line():
    path = PROGRAMS / "old_003.txt"
    expected = {
        (lines_with(path, "np.random.seed(")[0], "np.random.seed + tf.random.set_seed"),
        (lines_with(path, "tf.random.set_seed(")[0], "np.random.seed + tf.random.set_seed"),
        (lines_with(path, "input_shape=")[0], "input_shape"),
        (lines_with(path, "metrics=['acc']")[0], "metrics=['acc']"),
    }
    expected |= {(n, "history['acc']") for n in lines_with(path, "history.history['acc']")}
    expected |= {(n, "history['acc']") for n in lines_with(path, "history.history['val_acc']")}
    assert found(path) == expected


@pytest.mark.parametrize("program", ["note_002.py", "note_003.py", "note_004.py", "__init__.py"])
def test_checker_finds_nothing_in_the_rewritten_programs(program):
    assert check_file(PROGRAMS / program) == []


@pytest.mark.parametrize(
    "source, idiom",
    [
        ("model.predict_classes(x)", "predict_classes"),
        ("model.evaluate_generator(g, 10)", "fit_generator"),
        ("keras.optimizers.SGD(lr=0.1)", "lr="),
        ("Dense(3, init='uniform')", "init"),
        ("model.save('m.hdf5')", ".hdf5"),
        ("model.save('m', save_format='h5')", "save_format"),
        ("tf.nn.softmax(x, dim=1)", "softmax(x, dim=-1)"),
        ("os.environ['TF_USE_LEGACY_KERAS'] = '1'", "TF_USE_LEGACY_KERAS"),
        ("import keras.utils.np_utils", "np_utils"),
        ("import keras.layers.core as core", "keras.layers.core"),
    ],
)
def test_checker_rules(source, idiom):
    assert [(f.line, f.idiom) for f in check_source("\n" + source)] == [(2, idiom)]


def test_checker_leaves_modern_code_alone():
    modern = (
        "model.save('m.keras')\nmodel.save_weights('m.weights.h5')\nConv2D(32, (3, 3))\n"
        "keras.optimizers.SGD(learning_rate=0.1)\nmodel.compile(metrics=['accuracy'])\nh.history['accuracy']"
    )
    assert check_source(modern) == [] and report([]) == "no old Keras idioms found"


def test_checker_rejects_what_is_not_python():
    with pytest.raises(SyntaxError):
        check_source("model.add(Dense(10)")


def cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "snippets.legacy", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_cli_exit_codes_and_output(tmp_path):
    old = cli("check", str(PROGRAMS / "old_004.txt"))
    assert old.returncode == 1 and old.stderr == ""
    assert old.stdout.splitlines() == report(check_file(PROGRAMS / "old_004.txt")).splitlines()
    clean = cli("check", str(PROGRAMS / "note_004.py"))
    assert (clean.returncode, clean.stdout.strip()) == (0, "no old Keras idioms found")

    (tmp_path / "notes.md").write_text("not Python: it's a note\n", encoding="utf-8")
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00\x81")
    for args, words in [
        (["check", str(tmp_path / "missing.py")], "no such file"),
        (["check", str(tmp_path / "notes.md")], "not Python (SyntaxError at line 1"),
        (["check", str(tmp_path / "binary.py")], "cannot read it as text"),
        (["check", str(tmp_path)], "is a folder"),
        (["check"], "usage:"),
        (["lint", "x.py"], "usage:"),
    ]:
        run = cli(*args)
        assert run.returncode == 2 and run.stdout == "", args
        assert len(run.stderr.strip().splitlines()) == 1 and words in run.stderr, run.stderr


# ---------------------------------------------------------------- the notes' programs, old and new


def test_old_programs_name_their_note_and_002_says_it_is_reconstructed():
    for name in ("old_002.txt", "old_003.txt", "old_004.txt"):
        assert (PROGRAMS / name).read_text(encoding="utf-8").startswith(f"# Note {name[4:7]} (")
    assert "RECONSTRUCTED" in (PROGRAMS / "old_002.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sample():
    """The offline sample with 2,000 of its test images: evaluation is most of a short run's time."""
    data = load_mnist("sample")
    return dataclasses.replace(data, x_test=data.x_test[:2000], y_test=data.y_test[:2000])


def test_note_004_learns_on_the_sample(sample, capsys):
    accuracy = note_004.main(epochs=5, data=sample, verbose=0)
    assert "5,000 training + 2,000 test images" in capsys.readouterr().out
    assert accuracy > 0.4  # plain SGD on sigmoids is slow; chance is 0.1


def test_note_002_learns_on_the_sample(sample, tmp_path):
    pick = np.random.default_rng(0).permutation(len(sample.x_train))[:3000]  # the sample is sorted by label
    data = dataclasses.replace(sample, x_train=sample.x_train[pick], y_train=sample.y_train[pick])
    assert note_002.main(epochs=1, data=data, verbose=0, folder=tmp_path) > 0.5
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "model.weights.h5").is_file()


def test_note_003_learns_on_the_sample(sample):
    history = note_003.main(epochs=1, data=sample, verbose=0)
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history["val_accuracy"][-1] > 0.85


def test_note_004_runs_as_a_script():
    run = subprocess.run(
        [sys.executable, "-m", "snippets.notes_programs.note_004", "--epochs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "after 1 epochs: test accuracy" in run.stdout
