"""How fast does the notes' CNN train on this computer, and what makes it faster?

Run: ``make bench`` (``python -m bench.training``); about 10 minutes on a 2-core CPU.
Writes snippets/training_faster.json, which docs/training_faster.md shows.

Every configuration trains a fresh notes_cnn (same seed) for the same budget, one
epoch of the 60,000 full-size training images (full MNIST if the Keras cache has it,
else Fashion-MNIST from the Debian package dataset-fashion-mnist), then is evaluated
on the 10,000 test images. All run in this one process, except the thread settings:
TensorFlow fixes those when its runtime starts, so that configuration runs the same
code in a child process (``--child NAME``). The recipe functions come from
snippets/training_faster.py: the page's code is what is measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import machine_info, write_results

RESULTS = Path(__file__).resolve().parent.parent / "snippets" / "training_faster.json"
SAME_ACCURACY_POINTS = 0.3  # the "same accuracy": at most 0.3 points below the baseline


@dataclass(frozen=True)
class Config:
    """One way to train: where the batches come from, their size, XLA, threads, precision."""

    name: str
    batch_size: int = 128
    tf_data: bool = False
    xla: bool = False
    lr_rule: str | None = None  # None: Adam's default 0.001, as the notes; else scaled_learning_rate's rule
    threads: tuple[int, int] | None = None  # (intra_op, inter_op); None: TensorFlow's default
    precision: str = "float32"
    short: bool = False  # throughput only, on a few steps (for settings this hardware cannot run fast)


CONFIGS = [
    Config("baseline: NumPy into fit, batch 128"),
    Config("tf.data cache + prefetch", tf_data=True),
    Config("batch 256, lr x1.41 (sqrt rule)", batch_size=256, lr_rule="sqrt"),
    Config("batch 512, lr x2 (sqrt rule)", batch_size=512, lr_rule="sqrt"),
    Config("batch 1024, lr x2.83 (sqrt rule)", batch_size=1024, lr_rule="sqrt"),
    Config("XLA (jit_compile=True)", xla=True, short=True),
    Config("threads: intra 2, inter 1", threads=(2, 1)),
    Config("mixed precision (bfloat16)", precision="mixed_bfloat16", short=True),
    Config("tf.data + batch 512, lr x2", batch_size=512, tf_data=True, lr_rule="sqrt"),
]
# XLA and bfloat16 ran at half the baseline's speed or less on this CPU in a first try
# (no bfloat16 instructions; XLA's CPU convolutions are slower than oneDNN's): they are
# timed on SHORT_STEPS steps only, which leaves the 10-minute budget to the others.
SHORT_STEPS = 60


# ---------------------------------------------------------------- the machine


def matmul_rate(sizes=(2048, 4096), repeats=5) -> dict:
    """Best float32 rate of tf.matmul on large square matrices: 2 n^3 FLOP in t seconds.
    This is the practical limit: the most arithmetic this CPU does in TensorFlow."""
    import tensorflow as tf

    best = {"flops_per_second": 0.0}
    for n in sizes:
        a, b = tf.random.normal((n, n), seed=1), tf.random.normal((n, n), seed=2)
        product = tf.function(lambda a=a, b=b: tf.reduce_sum(tf.matmul(a, b)))  # a scalar: no copy out
        product().numpy()
        for _ in range(repeats):
            start = time.perf_counter()
            product().numpy()
            seconds = time.perf_counter() - start
            if 2 * n**3 / seconds > best["flops_per_second"]:
                best = {"n": n, "seconds": seconds, "flops_per_second": 2 * n**3 / seconds}
    return best


# ---------------------------------------------------------------- data


@dataclass
class Data:
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    description: str


def load_data() -> Data:
    from snippets.mnist_data import one_hot, scale_pixels
    from snippets.training_faster import load_full_size

    x_train, y_train, x_test, y_test, description = load_full_size()
    return Data(
        scale_pixels(x_train),
        one_hot(y_train.astype("int64")),
        scale_pixels(x_test),
        one_hot(y_test.astype("int64")),
        description,
    )


# ---------------------------------------------------------------- one configuration


class StepTimer:
    """Records when each training batch ends (a Keras callback, built lazily)."""

    def __new__(cls):
        import keras

        class Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start, self.ends = time.perf_counter(), []

            def on_train_batch_end(self, batch, logs=None):
                self.ends.append(time.perf_counter())

        return Timer()


def steady_images_per_second(ends, sizes, warmup) -> float:
    """Images per second of a typical step after the first `warmup` steps (which trace,
    compile and warm caches): the median step, so that a few steps slowed down by
    something else on the machine do not count. ends: time each step ended; sizes:
    images in each step (a smaller last batch is left out)."""
    if len(ends) != len(sizes) or len(ends) <= warmup + 1:
        raise ValueError(
            f"need more than {warmup + 1} timed steps and one size per step, "
            f"got {len(ends)} times and {len(sizes)} sizes"
        )
    steps = [
        (size, end - before)
        for size, end, before in zip(sizes[warmup + 1 :], ends[warmup + 1 :], ends[warmup:])
        if size == max(sizes)
    ]
    rates = sorted(size / seconds for size, seconds in steps)
    return rates[len(rates) // 2]


def run_config(config: Config, data: Data, *, epochs=1, images=None, seed=0) -> dict:
    """Train a fresh notes_cnn as `config` says; measure speed; evaluate on the test set."""
    import keras

    from snippets.mnist_models import compile_model, notes_cnn
    from snippets.training_faster import compile_fast, make_dataset, scaled_learning_rate

    x, y = data.x_train, data.y_train
    if config.short:
        images = min(images or len(x), config.batch_size * SHORT_STEPS)
    if images:
        x, y = x[:images], y[:images]
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        model = notes_cnn()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    rate = scaled_learning_rate(config.batch_size, config.lr_rule) if config.lr_rule else 1e-3
    if (config.batch_size, config.tf_data, config.xla, config.lr_rule, config.precision) == (
        128,
        False,
        False,
        None,
        "float32",
    ):
        # the notes' code as written (with or without thread settings)
        compile_model(model)
    else:
        compile_fast(model, rate, jit_compile=config.xla)
    timer = StepTimer()
    start = time.perf_counter()
    if config.tf_data:
        model.fit(
            make_dataset(x, y, config.batch_size, shuffle_seed=seed),
            epochs=epochs,
            verbose=0,
            callbacks=[timer],
            shuffle=False,
        )  # the pipeline shuffles
    else:
        model.fit(x, y, batch_size=config.batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    seconds = time.perf_counter() - start
    steps = -(-len(x) // config.batch_size)
    sizes = ([config.batch_size] * (steps - 1) + [len(x) - config.batch_size * (steps - 1)]) * epochs
    images_per_second = steady_images_per_second(timer.ends, sizes, warmup=max(3, steps // 20))
    accuracy = None
    if not config.short:
        accuracy = float(model.evaluate(data.x_test, data.y_test, batch_size=1000, verbose=0)[1])
    return {
        "name": config.name,
        "batch_size": config.batch_size,
        "learning_rate": rate,
        "tf_data": config.tf_data,
        "xla": bool(model.jit_compile),
        "threads": list(config.threads) if config.threads else None,
        "precision": config.precision,
        "images_trained": len(x) * epochs,
        "steps": steps * epochs,
        "images_per_second": images_per_second,
        "epoch_seconds": None if config.short else seconds / epochs,
        "test_accuracy": accuracy,
        "process": "child" if config.threads else "main",
    }


def run_in_child(config: Config, epochs: int, images: int | None) -> dict:
    """The same run in a fresh Python, whose first act is to set the thread counts."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [
            sys.executable,
            "-m",
            "bench.training",
            "--child",
            config.name,
            "--epochs",
            str(epochs),
            "--out",
            str(out),
        ] + (["--images", str(images)] if images else [])
        subprocess.run(command, check=True, cwd=Path(__file__).resolve().parent.parent)
        return json.loads(out.read_text())


# ---------------------------------------------------------------- where the time goes


def profile_step(data: Data, base_images_per_second: float, batch_size=128, repeats=50) -> dict:
    """Split one baseline step: input (NumPy -> tensors), the hidden layer's three matrix
    products, Adam's update, and the rest, by timing each part alone."""
    import keras
    import tensorflow as tf

    from snippets.mnist_models import compile_model, notes_cnn

    def best_ms(function):
        function()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return 1000 * sorted(times)[len(times) // 2]  # the median: steady, not the lucky best

    step_ms = 1000 * batch_size / base_images_per_second
    keras.utils.set_random_seed(0)
    model = compile_model(notes_cnn())
    one_batch = tf.data.Dataset.from_tensors((data.x_train[:batch_size], data.y_train[:batch_size])).repeat()
    timer = StepTimer()
    steps = 80
    model.fit(one_batch, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer], shuffle=False)
    compute_ms = 1000 * batch_size / steady_images_per_second(timer.ends, [batch_size] * steps, warmup=10)

    hidden = model.get_layer("hidden").kernel
    inputs, grads = tf.random.normal((batch_size, 3136)), tf.random.normal((batch_size, 1024))
    gemms = tf.function(
        lambda: (
            tf.reduce_sum(tf.matmul(inputs, hidden))  # forward
            + tf.reduce_sum(tf.matmul(inputs, grads, transpose_a=True))  # weight gradient
            + tf.reduce_sum(tf.matmul(grads, hidden, transpose_b=True))
        )
    )  # input gradient
    gemm_ms = best_ms(lambda: gemms().numpy())

    adam = keras.optimizers.Adam()
    variables = model.trainable_variables
    adam.build(variables)
    fake = [tf.fill(v.shape, 1e-6) for v in variables]
    update = tf.function(lambda: adam.apply(fake, variables))
    adam_ms = best_ms(lambda: (update(), variables[0].numpy()))
    return {
        "batch_size": batch_size,
        "step_ms": step_ms,
        "milliseconds": {
            "input: NumPy arrays sliced into tensors": step_ms - compute_ms,
            "hidden layer: its 3 matrix products": gemm_ms,
            "Adam: updating 3.2 million weights": adam_ms,
            "rest: convolution, pooling, ReLU, loss": compute_ms - gemm_ms - adam_ms,
        },
    }


# ---------------------------------------------------------------- the whole run


def add_ratios(results: dict) -> dict:
    """Ratios to the baseline (the first configuration), the share of the matmul rate,
    the best configuration and the issue's goals, all derived from the raw measurements.

    Two speeds: images_per_second is a typical (median) step, robust to moments when
    something else uses the CPU; epoch_seconds is the wall-clock time of the whole epoch,
    which is what a reader waits for. "Faster" and the best configuration are judged on
    the epoch: the fastest epoch among those at most 0.3 points less accurate than the baseline."""
    configs, training = results["configs"], results["flops_per_image"]["training"]
    base = configs[0]
    for c in configs:
        c["speedup"] = c["images_per_second"] / base["images_per_second"]
        c["epoch_time_ratio"] = c["epoch_seconds"] / base["epoch_seconds"] if c["epoch_seconds"] else None
        c["accuracy_points"] = (
            100 * (c["test_accuracy"] - base["test_accuracy"]) if c["test_accuracy"] is not None else None
        )
        c["flops_per_second"] = c["images_per_second"] * training
        c["matmul_fraction"] = c["flops_per_second"] / results["matmul"]["flops_per_second"]
    fair = [c for c in configs if c["accuracy_points"] is not None and c["accuracy_points"] >= -SAME_ACCURACY_POINTS]
    best = min(fair, key=lambda c: c["epoch_seconds"])
    results["best"] = best["name"]
    results["goals"] = {
        "twice_as_fast": best["epoch_time_ratio"] <= 0.5,
        "same_accuracy_points": SAME_ACCURACY_POINTS,
        "half_of_matmul_rate": best["matmul_fraction"] >= 0.5,
    }
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per configuration (default 1)")
    parser.add_argument("--images", type=int, default=None, help="train on the first N images only (a quick try)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write the JSON (default {RESULTS})")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # run one configuration (thread settings)
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="measure nothing: derive the ratios, best and goals again from the raw numbers in --out",
    )
    args = parser.parse_args(argv)

    if args.recompute:
        from snippets.training_faster import results_table

        results = add_ratios(json.loads(args.out.read_text()))
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(results_table(results))
        print(f"best at the same accuracy: {results['best']}; goals {results['goals']}")
        return 0

    if args.child:
        config = next(c for c in CONFIGS if c.name == args.child)
        from snippets.training_faster import set_threads

        set_threads(*config.threads)  # before TensorFlow runs anything
        result = run_config(config, load_data(), epochs=args.epochs, images=args.images)
        args.out.write_text(json.dumps(result))
        return 0

    begin = time.perf_counter()
    import tensorflow as tf  # noqa: F401 - started here so that the import is not timed below

    from snippets.mnist_models import notes_cnn
    from snippets.training_faster import forward_flops, training_flops_per_image

    data = load_data()
    print(f"data: {data.description}: {len(data.x_train):,} training + {len(data.x_test):,} test images", flush=True)
    machine = machine_info()
    machine["load_average_before"] = os.getloadavg()[0]  # 1-minute average: about 0 on a quiet machine
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, TensorFlow {machine['tensorflow']}", flush=True)
    matmul = matmul_rate()
    print(f"float32 matmul {matmul['n']}x{matmul['n']}: {matmul['flops_per_second'] / 1e9:.0f} GFLOP/s", flush=True)
    cnn = notes_cnn()
    results = {
        "machine": machine,
        "data": {"description": data.description, "train": len(data.x_train), "test": len(data.x_test)},
        "budget": {"epochs": args.epochs, "images": (args.images or len(data.x_train)) * args.epochs},
        "matmul": matmul,
        "flops_per_image": {"forward": sum(forward_flops(cnn).values()), "training": training_flops_per_image(cnn)},
        "configs": [],
    }
    for config in CONFIGS:
        if config.precision != "float32" and machine["bf16_hardware"]:
            config = Config(config.name, precision=config.precision)  # the hardware has it: a full run
        if config.threads:
            result = run_in_child(config, args.epochs, args.images)
        else:
            result = run_config(config, data, epochs=args.epochs, images=args.images)
        results["configs"].append(result)
        accuracy = f"{result['test_accuracy']:.4f}" if result["test_accuracy"] is not None else "-"
        print(f"{config.name:34}{result['images_per_second']:7.0f} img/s  test accuracy {accuracy}", flush=True)
    control = run_config(Config("baseline again, as a control", short=True), data, images=args.images)
    results["control"] = {
        "images_per_second": control["images_per_second"],
        "of_baseline": control["images_per_second"] / results["configs"][0]["images_per_second"],
    }
    print(
        f"control: the baseline again, {SHORT_STEPS} steps: {results['control']['of_baseline']:.2f}x the first "
        "measurement (far from 1: something else used the CPU during the run)",
        flush=True,
    )
    again = matmul_rate()  # the best of the start and the end: the limit, not a disturbed moment
    if again["flops_per_second"] > results["matmul"]["flops_per_second"]:
        results["matmul"] = again
    results["profile"] = profile_step(data, results["configs"][0]["images_per_second"])
    results["machine"]["load_average_after"] = os.getloadavg()[0]
    results["seconds_total"] = time.perf_counter() - begin
    add_ratios(results)

    from snippets.training_faster import results_table

    print(results_table(results))
    best = next(c for c in results["configs"] if c["name"] == results["best"])
    print(
        f"best at the same accuracy: {best['name']}: epoch {best['epoch_time_ratio']:.2f}x the baseline's time, "
        f"{best['matmul_fraction']:.0%} of the matmul rate; total {results['seconds_total']:.0f} s"
    )
    write_results(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
