"""docs/mnist_models.md: the four models have the notes' shapes and parameter counts."""

from __future__ import annotations

import io
import re

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from keras import layers

from snippets.mnist_models import (
    MODELS,
    build_model,
    compile_model,
    deeper_cnn,
    draw_pipeline,
    layer_params,
    layer_table,
)

RNG = np.random.default_rng(0)

# Per layer: (output shape, parameters), as the notes' model.summary() printed them.
NOTES = {
    "notes_cnn": [  # note 003, section 4
        ((None, 28, 28, 1), 0),
        ((None, 28, 28, 16), 416),
        ((None, 14, 14, 16), 0),
        ((None, 3136), 0),
        ((None, 1024), 3_212_288),
        ((None, 10), 10_250),
    ],
    "chollet_convnet": [  # note 000, after the dense head was added (our Reshape first: 784 -> 28x28x1)
        ((None, 28, 28, 1), 0),
        ((None, 26, 26, 32), 320),
        ((None, 13, 13, 32), 0),
        ((None, 11, 11, 64), 18_496),
        ((None, 5, 5, 64), 0),
        ((None, 3, 3, 64), 36_928),
        ((None, 576), 0),
        ((None, 64), 36_928),
        ((None, 10), 650),
    ],
    "sigmoid_mlp": [  # note 004: Dense(512) + sigmoid, Dense(10) + softmax, no summary printed
        ((None, 512), 784 * 512 + 512),
        ((None, 10), 512 * 10 + 10),
    ],
    "two_conv_cnn": [  # Keras's mnist_cnn.py example (after note 002's blocks), derived by hand:
        ((None, 28, 28, 1), 0),
        ((None, 26, 26, 32), 3 * 3 * 1 * 32 + 32),  # 3x3 'valid': 28 - 3 + 1 = 26
        ((None, 24, 24, 64), 3 * 3 * 32 * 64 + 64),  # 26 - 3 + 1 = 24
        ((None, 12, 12, 64), 0),  # 2x2 pooling
        ((None, 12, 12, 64), 0),  # dropout changes nothing in shape
        ((None, 9216), 0),  # 12 * 12 * 64
        ((None, 128), 9216 * 128 + 128),
        ((None, 128), 0),
        ((None, 10), 128 * 10 + 10),
    ],
}
TOTALS = {"notes_cnn": 3_222_954, "chollet_convnet": 93_322, "sigmoid_mlp": 407_050, "two_conv_cnn": 1_199_882}


@pytest.fixture(scope="module")
def models():
    return {name: build_model(name) for name in MODELS}


def test_there_are_the_four_models():
    assert list(MODELS) == ["notes_cnn", "chollet_convnet", "sigmoid_mlp", "two_conv_cnn"]


@pytest.mark.parametrize("name", list(NOTES))
def test_every_layer_has_the_notes_output_shape_and_parameter_count(models, name):
    model = models[name]
    assert model.name == name
    assert [(tuple(layer.output.shape), layer.count_params()) for layer in model.layers] == NOTES[name]


@pytest.mark.parametrize("name", list(NOTES))
def test_totals_are_the_notes_totals(models, name):
    assert models[name].count_params() == TOTALS[name] == sum(params for _, params in NOTES[name])
    assert len(models[name].non_trainable_weights) == 0  # "Non-trainable params: 0"


def test_the_notes_cnn_keeps_the_notes_layer_names_and_settings(models):
    model = models["notes_cnn"]
    assert [layer.name for layer in model.layers] == [
        "reshape",
        "conv_filter",
        "max_pooling",
        "flatten",
        "hidden",
        "softmax",
    ]
    conv = model.get_layer("conv_filter")
    assert (conv.filters, conv.kernel_size, conv.padding, conv.use_bias) == (16, (5, 5), "same", True)
    assert isinstance(conv.kernel_initializer, keras.initializers.TruncatedNormal)
    assert isinstance(model.get_layer("hidden").kernel_initializer, keras.initializers.TruncatedNormal)


def test_chollet_and_two_conv_use_valid_padding_and_the_notes_cnn_same(models):
    paddings = {
        name: {layer.padding for layer in m.layers if isinstance(layer, layers.Conv2D)} for name, m in models.items()
    }
    assert paddings == {
        "notes_cnn": {"same"},
        "chollet_convnet": {"valid"},
        "sigmoid_mlp": set(),
        "two_conv_cnn": {"valid"},
    }


def test_two_conv_cnn_drops_a_quarter_then_half(models):
    assert [layer.rate for layer in models["two_conv_cnn"].layers if isinstance(layer, layers.Dropout)] == [0.25, 0.5]


@pytest.mark.parametrize("name", list(NOTES))
def test_every_model_takes_784_pixels_and_returns_probabilities(models, name):
    model = models[name]
    assert tuple(model.input_shape) == (None, 784)
    for batch in (1, 5, 32):
        images = RNG.random((batch, 784), dtype=np.float32)
        probabilities = keras.ops.convert_to_numpy(model(images))
        assert probabilities.shape == (batch, 10)
        assert np.all(probabilities >= 0)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_build_model_makes_a_new_untrained_model_each_time():
    first, second = build_model("sigmoid_mlp"), build_model("sigmoid_mlp")
    assert first is not second
    assert not np.array_equal(first.layers[0].get_weights()[0], second.layers[0].get_weights()[0])


@pytest.mark.parametrize("name", ["cnn", "Notes_CNN", "", "notes_cnn "])
def test_build_model_rejects_an_unknown_name_and_lists_the_known_ones(name):
    with pytest.raises(ValueError, match="expected one of notes_cnn, chollet_convnet, sigmoid_mlp, two_conv_cnn"):
        build_model(name)


@pytest.mark.parametrize(
    "name, optimizer",
    [("notes_cnn", "Adam"), ("chollet_convnet", "Adam"), ("sigmoid_mlp", "SGD"), ("two_conv_cnn", "Adam")],
)
def test_compile_model_uses_sgd_for_the_mlp_and_adam_otherwise(name, optimizer):
    model = compile_model(build_model(name))
    assert type(model.optimizer).__name__ == optimizer
    assert model.loss == "categorical_crossentropy"
    one_hot = np.eye(10, dtype=np.float32)[[3, 1]]
    model.fit(RNG.random((2, 784), dtype=np.float32), one_hot, epochs=1, verbose=0)  # one-hot labels train
    assert {"loss", "accuracy"} <= set(model.get_metrics_result())  # "accuracy", not the notes' "acc"


def test_compile_model_takes_another_optimizer():
    assert isinstance(compile_model(build_model("sigmoid_mlp"), "adam").optimizer, keras.optimizers.Adam)
    rmsprop = keras.optimizers.RMSprop(0.01)
    assert compile_model(build_model("notes_cnn"), rmsprop).optimizer is rmsprop


@pytest.mark.parametrize("not_a_model", [None, "notes_cnn", layers.Dense(3)])
def test_compile_model_rejects_what_is_not_a_model(not_a_model):
    with pytest.raises(ValueError, match="expected a Keras model"):
        compile_model(not_a_model)


# ---------------------------------------------------------------- parameters by hand


@pytest.mark.parametrize(
    "kernel, channels, filters, use_bias, padding",
    [
        ((5, 5), 1, 16, True, "same"),
        ((3, 3), 32, 64, True, "valid"),
        ((1, 7), 3, 5, False, "same"),
        ((2, 3), 4, 1, True, "valid"),
    ],
)
def test_the_conv2d_formula_agrees_with_keras(kernel, channels, filters, use_bias, padding):
    model = keras.Sequential(
        [keras.Input((9, 9, channels)), layers.Conv2D(filters, kernel, padding=padding, use_bias=use_bias)]
    )
    count, formula = layer_params(model.layers[0])
    assert count == model.layers[0].count_params() == (kernel[0] * kernel[1] * channels + use_bias) * filters
    assert formula == f"({kernel[0]}*{kernel[1]}*{channels} + {int(use_bias)})*{filters}"


@pytest.mark.parametrize("inputs, units, use_bias", [(784, 512, True), (3136, 1024, True), (7, 1, False), (1, 9, True)])
def test_the_dense_formula_agrees_with_keras(inputs, units, use_bias):
    model = keras.Sequential([keras.Input((inputs,)), layers.Dense(units, use_bias=use_bias)])
    count, formula = layer_params(model.layers[0])
    assert count == model.layers[0].count_params() == (inputs + use_bias) * units
    assert formula == f"({inputs} + {int(use_bias)})*{units}"


def test_the_notes_arithmetic_appears_in_the_layer_table(models):
    table = layer_table(models["notes_cnn"])
    assert "(5*5*1 + 1)*16" in table and "(3136 + 1)*1024" in table and "(1024 + 1)*10" in table
    assert table.splitlines()[-1].split() == ["total", "3,222,954"]
    for model in models.values():
        assert len(layer_table(model).splitlines()) == len(model.layers) + 2  # header, layers, total


def test_layer_params_rejects_unbuilt_and_unknown_layers():
    with pytest.raises(ValueError, match="expected a built Keras layer"):
        layer_params(layers.Dense(3))
    with pytest.raises(ValueError, match="expected a built Keras layer"):
        layer_params("hidden")
    normalization = keras.Sequential([keras.Input((4,)), layers.BatchNormalization()]).layers[0]
    with pytest.raises(ValueError, match="no formula for layer"):
        layer_params(normalization)


def test_the_exercise_cnn_by_hand():
    model = deeper_cnn()
    by_hand = (5 * 5 * 1 + 1) * 32 + (5 * 5 * 32 + 1) * 64 + (7 * 7 * 64 + 1) * 1024 + (1024 + 1) * 10
    assert model.count_params() == by_hand == 3_274_634
    assert tuple(model.get_layer("flatten").output.shape) == (None, 3136)  # 7*7*64, like the notes' 14*14*16
    assert model.get_layer("hidden").count_params() == 3_212_288


@pytest.mark.parametrize(
    "padding, conv_shape, flat, total",
    [
        ("same", (None, 28, 28, 16), 3136, 3_222_954),
        ("valid", (None, 24, 24, 16), 2304, (5 * 5 + 1) * 16 + (2304 + 1) * 1024 + (1024 + 1) * 10),
    ],
)
def test_padding_changes_the_shapes_and_the_hidden_layer(padding, conv_shape, flat, total):
    """The page's pitfall: 'valid' shrinks 28 to 28 - 5 + 1 = 24, and the Dense layer after it."""
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(16, (5, 5), padding=padding),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(1024),
            layers.Dense(10),
        ]
    )
    assert tuple(model.layers[1].output.shape) == conv_shape
    assert model.layers[3].output.shape[1] == flat
    assert model.count_params() == total


SHAPE = re.compile(r"\(None(, \d+)*\)")


def drawn_shapes(fig):
    """The shape labels a pipeline figure shows, top to bottom: every text that reads like (None, ...)."""
    return [text.get_text() for text in fig.axes[0].texts if SHAPE.fullmatch(text.get_text())]


def test_the_pipeline_figure_shows_the_notes_cnn_real_shapes(models):
    model = models["notes_cnn"]
    fig = draw_pipeline(model, title="The notes' CNN: the output shape of every layer")
    try:
        real = [str(model.inputs[0].shape)] + [str(layer.output.shape) for layer in model.layers]
        assert drawn_shapes(fig) == real  # read from Keras, not typed in
        assert drawn_shapes(fig) == ["(None, 784)"] + [str(shape) for shape, _ in NOTES["notes_cnn"]]
        texts = [text.get_text() for text in fig.axes[0].texts]
        for name, what in [
            ("conv_filter", "conv 5x5x16, same, relu"),
            ("max_pooling", "max pool 2x2"),
            ("hidden", "dense 1024, relu"),
            ("softmax", "dense 10, softmax"),
        ]:
            assert texts.index(what) == texts.index(name) + 1
        assert fig.axes[0].get_title() == "The notes' CNN: the output shape of every layer"
        fig.savefig(io.StringIO(), format="svg")
    finally:
        plt.close(fig)
    assert not plt.fignum_exists(fig.number)


@pytest.mark.parametrize("name", ["chollet_convnet", "sigmoid_mlp", "two_conv_cnn"])
def test_the_pipeline_figure_follows_any_model(models, name):
    fig = draw_pipeline(models[name])
    try:
        assert drawn_shapes(fig) == ["(None, 784)"] + [str(shape) for shape, _ in NOTES[name]]
        assert fig.axes[0].get_title() == f"{name}: shape after each layer"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("not_a_model", [keras.Sequential([layers.Dense(3)]), "notes_cnn"])
def test_the_pipeline_figure_needs_a_built_sequential_model(not_a_model):
    with pytest.raises(ValueError, match="expected a built keras.Sequential model"):
        draw_pipeline(not_a_model)
