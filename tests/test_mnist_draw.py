"""Draw a digit (docs/mnist_draw.md): the preprocessing, the exported model, its caching, and
the page in Chromium.

The preprocessing is checked against hand-made references and against MNIST itself (a test
digit blown up and moved comes back exactly). The ONNX file runs in onnxruntime with Keras's
numbers. The export is cached on its key. In the browser (Playwright, like test_browser.py):
for 30 MNIST test digits picked with the keyboard-friendly list, the page's probabilities are
Keras's on the same 28x28 input within 1e-4, with the same top digit; strokes drawn with the
mouse give the same 28x28 array in JavaScript as snippets.mnist_draw.preprocess gives in
Python on the same pad pixels; predicting an empty pad says so in a sentence; no console
errors, no request to another host, and axe finds nothing serious.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_browser import AXE, CHROMIUM_FLAGS, SERIOUS, chromium_executable, open_page, unavailable

from snippets.mnist import box_weights
from snippets.mnist_draw import centre_of_mass, draw_strokes, preprocess
from tools import draw_assets
from tools.browser import serving
from tools.keys import EXECUTING_TOOLS

from conftest import ROOT

# ---------------------------------------------------------------- preprocessing, by hand


def test_box_weights_average_the_pixels_each_output_pixel_covers():
    np.testing.assert_allclose(box_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_allclose(box_weights(3, 2), [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    np.testing.assert_allclose(box_weights(2, 4), [[1, 0], [1, 0], [0, 1], [0, 1]])  # enlarging repeats
    np.testing.assert_allclose(box_weights(280, 20).sum(axis=1), np.ones(20))  # a mean: weights sum to 1


def test_a_solid_rectangle_fills_the_20_pixel_box_keeps_its_shape_and_is_centred():
    pad = np.zeros((280, 280))
    pad[30:130, 150:200] = 1.0  # 100 rows by 50 columns, top right
    image = preprocess(pad)
    expected = np.zeros((28, 28))
    # 20x10 after scaling; its centre of mass (9.5, 4.5) goes to row 14.5 and column 14.5:
    # the shift 14 - 9.5 = 4.5 rounds half up to 5 rows, 14 - 4.5 = 9.5 to 10 columns.
    expected[5:25, 10:20] = 1.0
    np.testing.assert_array_equal(image, expected)


def test_a_drawn_digit_lands_in_a_20_pixel_box_with_its_centre_of_mass_in_the_middle():
    strokes = [[(200, 200), (260, 210), (230, 270)]]  # a small 7 in the bottom right corner
    image = preprocess(draw_strokes(strokes))
    rows, cols = np.nonzero(image > 0)
    assert max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == 20
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert image.min() >= 0 and image.max() <= 1 + 1e-12  # means of values in [0, 1], up to rounding


def test_an_empty_pad_gives_none():
    assert preprocess(np.zeros((280, 280))) is None


def test_the_pen_draws_a_disc_of_its_width():
    ink = draw_strokes([[(140, 140)]], width=24)
    assert abs(ink.sum() - math.pi * 12**2) < 0.02 * math.pi * 12**2
    assert ink[140, 140] == 1 and ink[140, 140 + 14] == 0


def test_mnist_test_digits_blown_up_and_moved_come_back_exactly(mnist):
    """The preprocessing is MNIST's: a test digit (already made this way), enlarged 8 times and
    put anywhere on the pad, is preprocessed back into the very same 28x28 image."""
    for index in range(100):
        original = mnist.x_test[index].reshape(28, 28).astype(np.float64)
        pad = np.zeros((280, 280))
        top, left = (index * 7) % 56, (index * 13) % 56
        pad[top : top + 224, left : left + 224] = np.kron(original, np.ones((8, 8)))
        np.testing.assert_allclose(preprocess(pad), original, atol=1e-12, err_msg=f"test digit {index}")


# ---------------------------------------------------------------- the exported model


@pytest.fixture(scope="module")
def convnet(mnist):
    from snippets.mnist_training import trained

    return trained("chollet_convnet", mnist, epochs=10).model


def test_the_onnx_model_gives_keras_numbers(convnet, mnist, tmp_path):
    import onnxruntime

    from snippets.mnist_draw import export_onnx, with_first_feature_maps

    path = export_onnx(convnet, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = mnist.x_test[:200]
    maps, probabilities = session.run(None, {session.get_inputs()[0].name: x})
    keras_maps, keras_probabilities = with_first_feature_maps(convnet).predict(x, verbose=0)
    assert maps.shape == (200, 26, 26, 32) and probabilities.shape == (200, 10)
    np.testing.assert_allclose(probabilities, keras_probabilities, atol=1e-5)
    np.testing.assert_allclose(maps, keras_maps, atol=1e-4)
    assert (probabilities.argmax(axis=1) == keras_probabilities.argmax(axis=1)).all()
    np.testing.assert_allclose(keras_probabilities, convnet.predict(x, verbose=0), atol=1e-6)  # the same model


# ---------------------------------------------------------------- the export's cache


def fake_export(calls):
    def export(folder: Path) -> None:
        calls.append(folder)
        for name in draw_assets.EXPORTED:
            (folder / name).write_text(f"{name} {len(calls)}")

    return export


def test_an_unchanged_key_does_not_export_again_and_a_changed_one_does(tmp_path):
    calls = []
    first = draw_assets.exported("a" * 64, fake_export(calls), cache=tmp_path)
    again = draw_assets.exported("a" * 64, fake_export(calls), cache=tmp_path)
    assert first == again and len(calls) == 1
    changed = draw_assets.exported("b" * 64, fake_export(calls), cache=tmp_path)
    assert len(calls) == 2 and changed != first
    assert (changed / "model.onnx").read_text() == "model.onnx 2"
    assert not first.exists()  # the stale export is removed
    assert sorted(p.name for p in (tmp_path / "draw").iterdir() if p.is_dir()) == [changed.name]


def copy_of_the_project(tmp_path) -> Path:
    """What export_key reads, in a folder of its own that a test may change."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "snippets", root / "snippets", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "tools").mkdir()
    for name in ["tools/draw_assets.py", "requirements.lock", *EXECUTING_TOOLS]:
        shutil.copyfile(ROOT / name, root / name)
    return root


def test_the_key_changes_with_the_model_and_not_with_the_pages_demonstrations(tmp_path):
    root = copy_of_the_project(tmp_path)
    key = draw_assets.export_key(root)
    assert draw_assets.export_key(root) == key
    draw = root / "snippets" / "mnist_draw.py"
    draw.write_text(draw.read_text() + "\n\nif __name__ == '__main__':\n    print('another demonstration')\n")
    assert draw_assets.export_key(root) == key  # the page's blocks cannot change the model
    models = root / "snippets" / "mnist_models.py"
    models.write_text(models.read_text().replace("layers.Dense(64, activation=", "layers.Dense(65, activation="))
    assert draw_assets.export_key(root) != key  # another model: exported again


def test_without_onnxruntime_web_the_build_says_to_run_npm_ci(tmp_path):
    with pytest.raises(draw_assets.MissingRuntime, match=r"run `npm ci`"):
        draw_assets.runtime_files(tmp_path)


def test_build_copies_the_model_runtime_and_script_into_the_site(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_TUTORIAL_CACHE", str(tmp_path / "cache"))
    assert draw_assets.build(tmp_path / "site", export=fake_export([])) is None  # a site without the page
    (tmp_path / "site" / draw_assets.PAGE).parent.mkdir(parents=True)
    (tmp_path / "site" / draw_assets.PAGE).write_text("<html></html>")
    target = draw_assets.build(tmp_path / "site", export=fake_export([]))
    names = {p.name for p in target.iterdir()}
    assert names == {
        "model.onnx",
        "digits.json",
        "mnist_draw.js",
        "ort.wasm.min.js",
        "ort-wasm-simd-threaded.mjs",
        "ort-wasm-simd-threaded.wasm",
    }
    assert (target / "mnist_draw.js").read_bytes() == (ROOT / "snippets" / "mnist_draw.js").read_bytes()


# ---------------------------------------------------------------- the page, in Chromium

WAIT = 60_000  # ms: the first prediction loads the runtime's WebAssembly


@pytest.fixture(scope="module")
def chromium(built_site):
    """Chromium and the built site's address, found and served as test_browser.py does (it
    skips, or fails under CI, saying what to install when Chromium or axe-core is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package playwright is not installed: install the test extra")
    if not AXE.is_file():
        unavailable(f"axe-core is not installed at {AXE.relative_to(ROOT)}: run `npm ci` in the repository root")
    with serving(built_site) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(playwright), args=CHROMIUM_FLAGS)
        yield browser, server
        browser.close()


def opened(chromium, scheme="light"):
    """The page in a fresh tab, once its test digits are loaded; records console errors
    (page.errors) and requests to any other host (page.foreign)."""
    browser, server = chromium
    page = open_page(browser, server + "mnist_draw/", scheme)
    page.foreign = []
    host = server.split("/")[2]
    page.on("request", lambda r: page.foreign.append(r.url) if r.url.split("/")[2] != host else None)
    page.wait_for_function("() => !document.getElementById('draw-pick').disabled", timeout=WAIT)
    return page


@pytest.fixture(scope="module")
def draw_page(chromium):
    page = opened(chromium)
    yield page
    page.context.close()


def predictions(page) -> int:
    return page.evaluate("window.mnistDraw.predictions")


def wait_for_prediction(page, before: int) -> dict:
    page.wait_for_function(f"() => window.mnistDraw.predictions > {before}", timeout=WAIT)
    return page.evaluate("window.mnistDraw.last")


def test_an_empty_pad_says_so_in_a_sentence(draw_page):
    draw_page.click("#draw-clear")
    draw_page.click("#draw-predict")
    text = draw_page.inner_text("#draw-status")
    assert "empty" in text and text.endswith(".")
    assert draw_page.errors == []


def test_picked_test_digits_get_keras_probabilities(draw_page, convnet, mnist):
    """Every digit of the picker (30 test digits), chosen from the list: the page feeds the
    network the stored 28x28 image, and its probabilities are Keras's within 1e-4."""
    options = draw_page.eval_on_selector_all("#draw-pick option", "options => options.map((o) => o.value)")
    options = [o for o in options if o]
    assert len(options) >= 20
    inputs, browser_probabilities, indices = [], [], []
    for value in options:
        before = predictions(draw_page)
        draw_page.select_option("#draw-pick", value)
        last = wait_for_prediction(draw_page, before)
        label = draw_page.eval_on_selector("#draw-pick", "select => select.selectedOptions[0].textContent")
        indices.append(int(label.split(":")[0].split()[-1]))
        inputs.append(last["input"])
        browser_probabilities.append(last["probabilities"])
    inputs = np.asarray(inputs, dtype=np.float32)
    np.testing.assert_array_equal(inputs, mnist.x_test[indices])  # the stored test images, as Keras gets them
    keras_probabilities = convnet.predict(inputs, verbose=0)
    browser_probabilities = np.asarray(browser_probabilities)
    np.testing.assert_allclose(browser_probabilities, keras_probabilities, atol=1e-4)
    assert (browser_probabilities.argmax(axis=1) == keras_probabilities.argmax(axis=1)).all()
    assert draw_page.errors == []


# Strokes on the 280x280 pad: a 7, a 0 and a 1 with a flag, drawn small and off-centre.
STROKES = {
    "seven": [[(40, 50), (130, 45), (95, 150)], [(70, 100), (120, 98)]],
    "zero": [[(180 + 50 * math.cos(t / 6), 160 + 70 * math.sin(t / 6)) for t in range(0, 39)]],
    "one": [[(120, 90), (150, 40), (150, 240)]],
}


def draw(page, strokes):
    box = page.locator("#draw-pad").bounding_box()
    scale = box["width"] / 280
    for stroke in strokes:
        points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=4)
        page.mouse.up()


@pytest.mark.parametrize("name", list(STROKES))
def test_drawn_strokes_give_the_same_28x28_array_as_python_and_keras_numbers(draw_page, convnet, name):
    draw_page.click("#draw-clear")
    before = predictions(draw_page)
    draw(draw_page, STROKES[name])
    draw_page.wait_for_function(f"() => window.mnistDraw.predictions >= {before + len(STROKES[name])}", timeout=WAIT)
    ink = np.asarray(draw_page.evaluate("Array.from(window.mnistDraw.inkOf())")).reshape(280, 280)
    last = draw_page.evaluate("window.mnistDraw.last")
    python = preprocess(ink)
    np.testing.assert_allclose(np.asarray(last["input"]).reshape(28, 28), python, atol=1e-9)
    keras_probabilities = convnet.predict(python.reshape(1, 784).astype(np.float32), verbose=0)[0]
    np.testing.assert_allclose(last["probabilities"], keras_probabilities, atol=1e-4)
    assert np.argmax(last["probabilities"]) == keras_probabilities.argmax()
    assert draw_page.errors == []


def test_the_picker_works_from_the_keyboard(draw_page):
    draw_page.click("#draw-clear")
    before = predictions(draw_page)
    draw_page.focus("#draw-pick")
    draw_page.keyboard.press("ArrowDown")
    wait_for_prediction(draw_page, before)
    assert draw_page.inner_text("#draw-status").startswith("The network reads a ")


def test_no_console_errors_and_no_other_host_after_all_of_the_above(draw_page):
    assert draw_page.errors == []
    assert draw_page.foreign == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_with_a_prediction_shown(chromium, scheme):
    page = opened(chromium, scheme)
    before = predictions(page)
    page.select_option("#draw-pick", "0")
    wait_for_prediction(page, before)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations = [v for v in result["violations"] if v["impact"] in SERIOUS]
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations] == []
    assert page.errors == [] and page.foreign == []
    page.context.close()
