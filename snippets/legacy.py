"""Old Keras code (Keras 1, Keras 2, tf.keras 2019) on today's Keras 3: what breaks, and the fix.

Page: docs/legacy.md. Tests: tests/test_legacy.py.
Run the page as a script: ``python -m snippets.legacy``.
Check an old script without running it: ``python -m snippets.legacy check old_script.py``;
exit status 0: no old idiom found, 1: old idioms found (listed on stdout),
2: usage error, missing or unreadable file, or not Python (one line on stderr).

Each idiom record holds the old code as a string; `run_old` executes it, alone, in a
fresh namespace against the installed Keras, and reports what happens now. Nothing
in the table on the page is typed by hand: it is what `run_old` returned.
"""

# --8<-- [start:records]
import ast
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Idiom:
    """One old way of writing Keras: the old code (run as is), and what to write today.

    `setup` is code of ours that the old line needs (imports, a tiny model); it must
    not fail. `probe` (ours too) may set `result` to show a silent change of meaning.
    """

    name: str
    old: str
    new: str
    setup: str = ""
    probe: str = ""  # code of ours run after the old code, to make a silent change visible
    fresh_process: bool = False  # for old code that must run before TensorFlow is imported


TINY_MODEL = """
import numpy as np
import keras
from keras.layers import Dense
x = np.zeros((8, 4), "float32")
y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2, 0, 1]]
model = keras.Sequential([keras.Input((4,)), Dense(3, activation="softmax")])
model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
"""

IDIOMS = [
    Idiom(
        "keras.layers.core",
        "from keras.layers.core import Dense, Activation",
        "from keras.layers import Dense, Activation",
    ),
    Idiom("np_utils", "from keras.utils import np_utils", "keras.utils.to_categorical(y, 10)"),
    Idiom(
        "Convolution2D(32, 3, 3)",
        "layer = Convolution2D(32, 3, 3)",
        "Conv2D(32, (3, 3)): the 3rd argument is now strides",
        setup="from keras.layers import Convolution2D",
        probe="result = f'kernel_size={layer.kernel_size}, strides={layer.strides}'",
    ),
    Idiom("nb_epoch", "model.fit(x, y, nb_epoch=1, verbose=0)", "model.fit(x, y, epochs=1)", setup=TINY_MODEL),
    Idiom(
        "border_mode",
        "Conv2D(32, (3, 3), border_mode='valid')",
        "Conv2D(32, (3, 3), padding='valid')",
        setup="from keras.layers import Conv2D",
    ),
    Idiom(
        "init",
        "Dense(128, init='he_normal')",
        "Dense(128, kernel_initializer='he_normal')",
        setup="from keras.layers import Dense",
    ),
    Idiom(
        "input_shape",
        "model = keras.Sequential([Dense(10, input_shape=(784,))])",
        "keras.Sequential([keras.Input(shape=(784,)), Dense(10)])",
        setup="import keras\nfrom keras.layers import Dense",
    ),
    Idiom(
        "metrics=['acc']",
        "model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['acc'])\n"
        "history = model.fit(x, y, verbose=0)",
        "metrics=['accuracy'], keys 'accuracy' and 'val_accuracy'",
        setup=TINY_MODEL,
        probe="result = f'history keys {sorted(history.history)}'",
    ),
    Idiom(
        "history['acc']",
        "history = model.fit(x, y, verbose=0)\nhistory.history['acc']",
        "history.history['accuracy'] (Keras 2.2 and older called it 'acc')",
        setup=TINY_MODEL,
    ),
    Idiom("lr=", "keras.optimizers.Adam(lr=0.001)", "keras.optimizers.Adam(learning_rate=0.001)", setup="import keras"),
    Idiom(
        "optimizer='adadelta'",
        "optimizer = keras.optimizers.get('adadelta')",
        "Adadelta(learning_rate=1.0): Keras 1 and 2 started at 1.0",
        setup="import keras",
        probe="result = f'learning rate {float(optimizer.learning_rate):g}'",
    ),
    Idiom("predict_classes", "model.predict_classes(x)", "np.argmax(model.predict(x), axis=-1)", setup=TINY_MODEL),
    Idiom(
        "fit_generator",
        "model.fit_generator(iter([(x, y)]), steps_per_epoch=1)",
        "model.fit(generator, steps_per_epoch=1)",
        setup=TINY_MODEL,
    ),
    Idiom(
        "save_weights('w.h5')",
        "open('model.json', 'w').write(model.to_json())\nmodel.save_weights('model.h5')",
        "model.save('model.keras'), or save_weights('model.weights.h5')",
        setup=TINY_MODEL,
    ),
    Idiom(".hdf5", "model.save('model.hdf5')", "model.save('model.keras')", setup=TINY_MODEL),
    Idiom("save_format", "model.save('model', save_format='h5')", "model.save('model.keras')", setup=TINY_MODEL),
    Idiom(
        "np.random.seed + tf.random.set_seed",
        "np.random.seed(20190222)\ntf.random.set_seed(20190222)\nfirst = Dense(3)\nfirst.build((None, 2))\n"
        "np.random.seed(20190222)\ntf.random.set_seed(20190222)\nsecond = Dense(3)\nsecond.build((None, 2))",
        "keras.utils.set_random_seed(20190222): seeds Python, NumPy and TF",
        setup="import numpy as np\nimport tensorflow as tf\nfrom keras.layers import Dense",
        probe="result = f'same starting weights twice: {bool((first.kernel.numpy() == second.kernel.numpy()).all())}'",
    ),
    Idiom(
        "TF_USE_LEGACY_KERAS",
        "os.environ['TF_USE_LEGACY_KERAS'] = '1'\nimport tensorflow as tf\ntf.keras.layers.Dense(10)",
        "nothing: port the code (tf_keras is Keras 2, frozen)",
        setup="import os",
        fresh_process=True,
    ),
    Idiom(
        "softmax(x, dim=-1)",
        "tf.nn.softmax(np.ones((1, 3)), dim=-1)",
        "tf.nn.softmax(x, axis=-1)",
        setup="import numpy as np\nimport tensorflow as tf",
    ),
    Idiom(
        "activation='softmax' (2018 'axis' error)",
        "Dense(10, activation='softmax')(np.ones((1, 4)))",
        "unchanged: keep it",
        setup="import inspect\nimport numpy as np\nimport tensorflow as tf\nfrom keras.layers import Dense",
        probe="result = f'tf.nn.softmax{inspect.signature(tf.nn.softmax)}'",
    ),
]
# --8<-- [end:records]


# --8<-- [start:runner]
@dataclass(frozen=True)
class Outcome:
    """What the old code does today. kind: 'error', 'warning', 'changed' or 'runs'."""

    kind: str
    message: str

    def __str__(self):
        return {"error": "", "warning": "warns: ", "changed": "runs; ", "runs": ""}[self.kind] + self.message


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        message = record.getMessage().strip()
        if "tf.function retracing" not in message:  # about earlier code in this process, not the old form
            self.messages.append(message)


@contextlib.contextmanager
def _captured(folder):
    """Run inside `folder`, keep stdout, stderr, warnings and log records away from the screen."""
    root, handler, cwd = logging.getLogger(), _Records(), os.getcwd()
    saved_handlers = root.handlers[:]
    root.handlers = [handler]
    os.chdir(folder)
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", category=DeprecationWarning)  # NumPy 2 chatter from TF internals
            yield caught, handler.messages
    finally:
        os.chdir(cwd)
        root.handlers = saved_handlers


def short_paths(message):
    """Paths into the installed packages differ from machine to machine: start them at site-packages."""
    import keras

    return message.replace(os.path.dirname(os.path.dirname(keras.__file__)), "<site-packages>")


def run_here(idiom):
    """Execute idiom.setup, then idiom.old, in a fresh namespace in this process."""
    namespace = {"__name__": "old_code"}
    with tempfile.TemporaryDirectory() as folder, _captured(folder) as (caught, logged):
        exec(idiom.setup, namespace)  # ours: an error here is a bug, let it through
        try:
            exec(idiom.old, namespace)
        except Exception as error:  # noqa: BLE001 - recording what the old code raises is the point
            logged_first = "".join(f" (logged first: {m})" for m in logged)
            return Outcome("error", short_paths(f"{type(error).__name__}: {error}{logged_first}"))
        exec(idiom.probe, namespace)
        notes = [str(w.message) for w in caught] + logged
    if notes:
        return Outcome("warning", " ".join(notes))
    if "result" in namespace:
        return Outcome("changed", str(namespace["result"]))
    return Outcome("runs", "runs unchanged")


def run_in_fresh_python(idiom):
    """run_here in a new Python process: for old code that changes how TensorFlow starts."""
    code = (
        "import json, sys\nfrom snippets.legacy import IDIOMS, run_here\n"
        f"outcome = run_here(IDIOMS[{IDIOMS.index(idiom)}])\n"
        "print(json.dumps([outcome.kind, outcome.message]))"
    )
    import snippets  # the new Python imports the same copy of this module

    root = str(Path(snippets.__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the fresh Python failed:\n{done.stderr[-2000:]}")
    return Outcome(*json.loads(done.stdout.strip().splitlines()[-1]))


def run_old(idiom):
    """What idiom.old does against the installed Keras: the exception, the warning, or the changed result."""
    return run_in_fresh_python(idiom) if idiom.fresh_process else run_here(idiom)


# --8<-- [end:runner]


# --8<-- [start:modern]
import numpy as np


def predicted_classes(model, x):
    """What model.predict_classes(x) returned: the most probable class per row, shape (n,)."""
    return np.argmax(model.predict(x, verbose=0), axis=-1)


def batches(x, y, batch_size):
    """An endless generator of (x, y) batches, the kind fit_generator took; fit takes it now."""
    if batch_size <= 0 or len(x) != len(y):
        raise ValueError(f"need batch_size > 0 and as many x as y, got {batch_size}, {len(x)} and {len(y)}")
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start : start + batch_size], y[start : start + batch_size]


def save_and_reload(model, folder):
    """Save the Keras 3 ways; return (the model loaded from .keras, a rebuilt copy loaded from .weights.h5)."""
    import keras  # here, not at the top: the checker must start without loading TensorFlow

    folder = Path(folder)
    model.save(folder / "model.keras")  # architecture, weights and optimizer state
    model.save_weights(folder / "model.weights.h5")  # weights only
    rebuilt = keras.models.model_from_json(model.to_json())  # to_json still works
    rebuilt.load_weights(folder / "model.weights.h5")
    return keras.models.load_model(folder / "model.keras"), rebuilt


# --8<-- [end:modern]


# --8<-- [start:checker]
@dataclass(frozen=True)
class Finding:
    """An old idiom at a line of a script, and what to write instead."""

    line: int
    idiom: str
    replacement: str


REPLACEMENT = {idiom.name: idiom.new for idiom in IDIOMS}
OLD_KEYWORDS = {
    "nb_epoch": "nb_epoch",
    "border_mode": "border_mode",
    "init": "init",
    "lr": "lr=",
    "input_shape": "input_shape",
    "input_dim": "input_shape",
    "save_format": "save_format",
}
OLD_METHODS = {
    "predict_classes": "predict_classes",
    "fit_generator": "fit_generator",
    "evaluate_generator": "fit_generator",
    "predict_generator": "fit_generator",
}


def _name(node):
    """'np.random.seed' for the expression np.random.seed, '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _text(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_findings(call):
    """(line, idiom) for the old idioms in one call: its name, its keywords, its arguments."""
    name = _name(call.func)
    last = name.rsplit(".", 1)[-1]
    found = [(k.lineno, OLD_KEYWORDS[k.arg]) for k in call.keywords if k.arg in OLD_KEYWORDS]
    found += [(call.lineno, OLD_METHODS[last])] if last in OLD_METHODS else []
    if last in ("Convolution2D", "Conv2D") and len(call.args) >= 3:
        found.append((call.lineno, "Convolution2D(32, 3, 3)"))
    if last == "softmax" and any(k.arg == "dim" for k in call.keywords):
        found.append((call.lineno, "softmax(x, dim=-1)"))
    if name in ("np.random.seed", "numpy.random.seed", "tf.random.set_seed", "tf.set_random_seed"):
        found.append((call.lineno, "np.random.seed + tf.random.set_seed"))
    path = _text(call.args[0]) if call.args else None
    if last == "save_weights" and path is not None and not path.endswith(".weights.h5"):
        found.append((call.lineno, "save_weights('w.h5')"))
    if last == "save" and path is not None and path.endswith((".h5", ".hdf5")):
        found.append((call.lineno, ".hdf5"))
    for keyword in call.keywords:
        if keyword.arg == "metrics" and isinstance(keyword.value, (ast.List, ast.Tuple)):
            found += [(item.lineno, "metrics=['acc']") for item in keyword.value.elts if _text(item) == "acc"]
        if keyword.arg == "optimizer" and _text(keyword.value) == "adadelta":
            found.append((keyword.lineno, "optimizer='adadelta'"))
    return found


def _node_findings(node):
    """(line, idiom) for the old idioms in one node of the syntax tree."""
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.ImportFrom) and node.module:
        if node.module == "keras.layers.core":
            return [(line, "keras.layers.core")]
        if node.module == "keras.utils" and any(a.name == "np_utils" for a in node.names):
            return [(line, "np_utils")]
    if isinstance(node, ast.Import):
        return [
            (line, "np_utils" if a.name.startswith("keras.utils.np_utils") else "keras.layers.core")
            for a in node.names
            if a.name.startswith(("keras.layers.core", "keras.utils.np_utils"))
        ]
    if isinstance(node, ast.Call):
        return _call_findings(node)
    if (
        isinstance(node, ast.Subscript)
        and _text(node.slice) in ("acc", "val_acc")
        and _name(node.value).endswith("history")
    ):
        return [(line, "history['acc']")]
    if _text(node) == "TF_USE_LEGACY_KERAS":
        return [(line, "TF_USE_LEGACY_KERAS")]
    return []


def check_source(source, filename="<source>"):
    """Every old idiom in Python source, by line, without running it. SyntaxError if it is not Python."""
    tree = ast.parse(source, filename=filename)
    findings = {
        Finding(line, idiom, REPLACEMENT[idiom]) for node in ast.walk(tree) for line, idiom in _node_findings(node)
    }
    return sorted(findings, key=lambda f: (f.line, f.idiom))


def check_file(path):
    """check_source of a file. OSError if it cannot be read, UnicodeDecodeError if it is not text."""
    path = Path(path)
    return check_source(path.read_text(encoding="utf-8"), str(path))


def report(findings):
    """One line per finding: line number, old idiom, what to write today."""
    if not findings:
        return "no old Keras idioms found"
    width = max(len(f.idiom) for f in findings)
    return "\n".join(f"line {f.line:>3}  {f.idiom:<{width}}  ->  {f.replacement}" for f in findings)


# --8<-- [end:checker]


USAGE = "usage: python -m snippets.legacy check FILE.py   (no arguments: run the page's examples)"


def cli(argv):
    """`check FILE`: print the findings; exit 0 if none, 1 if some, 2 on a usage or file error."""
    if len(argv) != 2 or argv[0] != "check":
        print(USAGE, file=sys.stderr)
        return 2
    try:
        findings = check_file(argv[1])
    except FileNotFoundError:
        print(f"error: {argv[1]}: no such file", file=sys.stderr)
        return 2
    except IsADirectoryError:
        print(f"error: {argv[1]}: is a folder, not a Python file", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: {argv[1]}: cannot read it as text ({type(error).__name__}: {error})", file=sys.stderr)
        return 2
    except SyntaxError as error:
        print(f"error: {argv[1]}: not Python (SyntaxError at line {error.lineno}: {error.msg})", file=sys.stderr)
        return 2
    print(report(findings))
    return 1 if findings else 0


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit(cli(sys.argv[1:]))

    # --8<-- [start:table]
    for number, idiom in enumerate(IDIOMS, 1):
        print(f"{number:2}. {idiom.name}")
        print("    old:  " + idiom.old.replace("\n", "\n          "))
        print(f"    now:  {run_old(idiom)}")
        print(f"    fix:  {idiom.new}\n")
    # --8<-- [end:table]

    # --8<-- [start:modern_demo]
    import keras

    keras.utils.set_random_seed(0)
    for layer in (keras.layers.Conv2D(32, 3, 3), keras.layers.Conv2D(32, (3, 3))):
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layer])
        print(
            f"kernel {layer.kernel_size} strides {layer.strides}: output {model.output_shape}, "
            f"{model.count_params()} weights"
        )

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = keras.utils.to_categorical(np.arange(64) % 3, 3)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(
        batches(x, y, 16), steps_per_epoch=4, epochs=2, validation_data=(x, y), shuffle=False, verbose=0
    )
    print("history keys:", sorted(history.history))
    print("predicted classes of the first 8 rows:", predicted_classes(model, x[:8]))

    with tempfile.TemporaryDirectory() as folder:
        loaded, rebuilt = save_and_reload(model, folder)
        for name, copy in [(".keras", loaded), (".weights.h5", rebuilt)]:
            difference = np.max(np.abs(copy.predict(x, verbose=0) - model.predict(x, verbose=0)))
            print(f"reloaded from {name:12} largest prediction difference: {difference:.1e}")

    def first_kernel():
        keras.utils.set_random_seed(20190222)
        layer = keras.layers.Dense(3)
        layer.build((None, 2))
        return keras.ops.convert_to_numpy(layer.kernel)

    print("set_random_seed: same starting weights twice:", bool((first_kernel() == first_kernel()).all()))
    # --8<-- [end:modern_demo]

    # --8<-- [start:programs]
    from snippets.notes_programs import note_002, note_003, note_004

    for program in (note_002, note_004, note_003):
        print(f"{program.__name__}: {program.build_model().count_params():,} weights")
    import dataclasses

    from snippets.data import load_mnist

    data = load_mnist()
    data = dataclasses.replace(data, x_test=data.x_test[:2000], y_test=data.y_test[:2000])  # a quicker evaluation
    accuracy = note_002.main(epochs=1, data=data, verbose=0)
    # --8<-- [end:programs]

    # --8<-- [start:checker_demo]
    from pathlib import Path

    from snippets import notes_programs

    programs = Path(notes_programs.__file__).parent  # the notes' programs, installed with the package
    print(report(check_file(programs / "old_004.txt")))
    # --8<-- [end:checker_demo]

    # --8<-- [start:softmax]
    import collections
    import inspect

    import tensorflow as tf

    print("Python", sys.version.split()[0], "| TensorFlow", tf.__version__, "| Keras", keras.__version__)
    print("tf.nn.softmax           ", inspect.signature(tf.nn.softmax))
    print("keras.activations.softmax", inspect.signature(keras.activations.softmax))
    print("tf.compat.v1.nn.softmax ", inspect.signature(tf.compat.v1.nn.softmax))
    print(
        "TF 1 graph API left (tf.placeholder, tf.get_default_graph):",
        hasattr(tf, "placeholder"),
        hasattr(tf, "get_default_graph"),
    )
    print("collections.Iterable, which Keras 2.1.3 imports:", hasattr(collections, "Iterable"))
    # --8<-- [end:softmax]

    # --8<-- [start:exercise]
    print(report(check_file(programs / "old_003.txt")))
    print("rewritten:", report(check_file(programs / "note_003.py")))
    # --8<-- [end:exercise]
