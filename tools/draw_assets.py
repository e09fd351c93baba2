"""The "Draw a digit" page's files in the built site: site/draw/.

    python -m tools.draw_assets SITE_DIR      # what the build's on_post_build runs (tools/exec_hook.py)

The page (docs/mnist_draw.md) runs Chollet's convnet in the browser with onnxruntime-web.
Into SITE_DIR/draw/ go: model.onnx (the chapter's trained model, exported with its first
convolution's feature maps as a second output, snippets/mnist_draw.py: export_onnx),
digits.json (a few MNIST test digits for the keyboard picker), the page's script
(snippets/mnist_draw.js) and onnxruntime-web's files from node_modules (`npm ci`).

Exporting needs TensorFlow and the trained model, so it runs in a subprocess (MkDocs never
imports TensorFlow) and only when the export's key changed. The key is made like a page's
(tools/keys.py): the environment (Python, installed distributions, requirements.lock, the
settings that choose the data, the offline sample), every `snippets` module that
snippets/mnist_draw.py and snippets/mnist_training.py import, and this file; so a changed
model (its code, its data, Keras) re-exports, and an unchanged one is copied from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock
from mkdocs.exceptions import PluginError

from snippets.dependencies import definitions, snippet_dependencies
from tools.keys import cache_dir, environment_fingerprint

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = Path("node_modules") / "onnxruntime-web"
RUNTIME_FILES = ("dist/ort.wasm.min.js", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm")
EXPORTED = ("model.onnx", "digits.json")
SCRIPT = Path("snippets") / "mnist_draw.js"
FOLDER = "draw"  # under the site: the page loads ../draw/mnist_draw.js


class MissingRuntime(PluginError):
    """onnxruntime-web is not installed (MkDocs reports a PluginError as one sentence, without a traceback)."""


def runtime_files(root: Path = ROOT) -> list[Path]:
    """onnxruntime-web's files the page needs; MissingRuntime, saying what to run, if npm has not installed them."""
    files = [root / RUNTIME / name for name in RUNTIME_FILES]
    missing = [f.relative_to(root).as_posix() for f in files if not f.is_file()]
    if missing:
        raise MissingRuntime(
            f"the Draw a digit page needs onnxruntime-web, but {', '.join(missing)} is missing: "
            "run `npm ci` in the repository root (`make build` does)"
        )
    return files  # ort.wasm.min.js starts with its copyright and MIT licence notice


def export_key(root: Path = ROOT) -> str:
    """What the exported files depend on (see the module's docstring). Modules count without
    their `__main__` demonstrations (the page's blocks), which cannot change the model."""
    hasher = hashlib.sha256(environment_fingerprint(root).encode())
    modules = snippet_dependencies({root / "snippets" / "mnist_draw.py", root / "snippets" / "mnist_training.py"}, root)
    for module in sorted(modules):
        hasher.update(module.relative_to(root).as_posix().encode() + b"\0" + definitions(module) + b"\0")
    hasher.update((root / "tools" / "draw_assets.py").read_bytes())
    return hasher.hexdigest()


def exported(key: str, export: Callable[[Path], None], cache: Path | None = None) -> Path:
    """The cache folder with the exported files for `key`: made by `export(folder)` only when
    it is not there yet (older keys' folders are removed). Builds running at once export once."""
    cache = (cache or cache_dir()) / FOLDER
    folder = cache / key[:20]
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(cache / "export.lock"):
        if not all((folder / name).is_file() for name in EXPORTED):
            partial = cache / f"{key[:20]}.partial-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            try:
                export(partial)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            missing = [name for name in EXPORTED if not (partial / name).is_file()]
            if missing:
                raise RuntimeError(f"the export wrote no {', '.join(missing)}")
            shutil.rmtree(folder, ignore_errors=True)
            partial.replace(folder)
        for stale in cache.iterdir():
            if stale.is_dir() and stale.name != folder.name and ".partial-" not in stale.name:
                shutil.rmtree(stale, ignore_errors=True)
    return folder


def export_in_subprocess(folder: Path) -> None:
    """Run `python -m tools.draw_assets --export FOLDER`: TensorFlow stays out of MkDocs' process."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.draw_assets", "--export", str(folder)],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise PluginError(f"exporting the Draw a digit page's model failed:\n{result.stderr[-4000:]}")


def export(folder: Path) -> None:
    """Train (or load) the chapter's Chollet convnet, as the pages do, and export it."""
    from snippets.mnist_data import prepare_mnist
    from snippets.mnist_draw import export_onnx, write_picker_digits
    from snippets.mnist_training import trained

    mnist = prepare_mnist()
    convnet = trained("chollet_convnet", mnist, epochs=10)
    export_onnx(convnet.model, folder / "model.onnx")
    write_picker_digits(mnist, folder / "digits.json")
    info = {"model": "chollet_convnet", "data": str(mnist), "test_accuracy": convnet.test_accuracy}
    (folder / "model.json").write_text(json.dumps(info), encoding="utf-8")


PAGE = Path("mnist_draw") / "index.html"  # the built page (MkDocs' directory URLs)


def build(site: Path, root: Path = ROOT, export: Callable[[Path], None] = export_in_subprocess) -> Path | None:
    """Write the page's files into site/draw/ and return that folder; nothing (None) for a
    site without the page, such as the small projects the build's tests make."""
    if not (Path(site) / PAGE).is_file():
        return None
    runtime = runtime_files(root)
    source = exported(export_key(root), export)
    target = Path(site) / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for file in [*(source / name for name in EXPORTED), *runtime, root / SCRIPT]:
        shutil.copyfile(file, target / file.name)
    return target


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--export":
        export(Path(argv[1]))
        return 0
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    try:
        print(build(Path(argv[0])))
    except MissingRuntime as error:
        print(f"draw_assets: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
