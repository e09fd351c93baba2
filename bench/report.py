"""Write bench/README.md: the benchmarks' figures, generated from their stored results.

    python -m bench.report           # writes bench/README.md
    python -m bench.report --check   # exit status 1 when bench/README.md differs from what it would write

Every figure in bench/README.md comes from a results file that a benchmark wrote (SOURCES);
none is typed in by hand. A results file may lack what a newer version of its benchmark
records (the site build's "tool edit" run and "model_key" check, say): the tables show what
is there, and a missing file is reported as not measured yet, with the command that measures it.
tests/test_bench.py fails when the committed bench/README.md is not what this writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
# name -> (what it measures, the results file (relative to the repository), the command that writes it,
# and the make target that runs that command, if any)
SOURCES = {
    "site_build": ("site build, sample", "bench/results/site_build.json", "python -m bench.site_build", "bench-site"),
    "site_build_full": (
        "site build, full MNIST",
        "bench/results/site_build_full.json",
        "python -m bench.site_build --data full",
        "bench-site",
    ),
    "ci": ("CI before and after", "bench/results/ci.json", "python -m bench.ci", "bench-ci"),
    "accuracy": (
        "the MNIST chapter's accuracy",
        "snippets/mnist_accuracy.json",
        "python -m snippets.mnist reproduce --seeds 3",
        None,
    ),
    "training": ("training speed", "snippets/training_faster.json", "python -m bench.training", "bench"),
}
EDITIONS = {"site_build": "sample", "site_build_full": "full MNIST"}
NOT_RECORDED = "–"  # a value the results file does not hold
GOALS = {  # the goals the benchmarks record, in words
    "cold_under_10_min": "cold build under 10 minutes",
    "warm_under_20_s": "warm build under 20 seconds",
    "edit_reexecutes_only_its_pages": "editing a snippet re-executes only the pages that use it",
    "tool_edit_reexecutes_nothing": "editing the tools that do not run pages re-executes no page",
    "model_key_follows_imports": "the stored models' key follows the training code's imports",
    "chapter_under_5_min": "the MNIST chapter under 5 minutes",
    "twice_as_fast": "an epoch twice as fast at the same accuracy",
    "same_accuracy_points": "the same accuracy means within this many points",
    "half_of_matmul_rate": "training at half of the matrix multiply rate",
}


def load_results(root: Path = ROOT) -> dict[str, dict | None]:
    """Each source's results, or None where its file does not exist."""
    found = {}
    for name, (_, path, _, _) in SOURCES.items():
        file = root / path
        found[name] = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None
    return found


# ------------------------------------------------------------------ formatting


def seconds(value) -> str:
    return NOT_RECORDED if value is None else f"{value:.1f}"


def code(text: str) -> str:
    return f"`{text}`"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def measured(results: dict) -> str:
    """Where and when: the machine (a dict, or a description) with its versions, and the date."""
    machine = results.get("machine")
    info = machine if isinstance(machine, dict) else {}
    where = [str(machine)] if isinstance(machine, str) else []
    if info.get("cpu"):
        where.append(str(info["cpu"]))
    if info.get("cores"):
        where.append(f"{info['cores']} cores")
    versions = {**info, **(results.get("versions") or {})}
    where += [f"{label} {versions[key]}" for key, label in NAMES.items() if versions.get(key)]
    date = info.get("date") or results.get("date")
    text = "Measured" + (f" {date}" if date else "") + (f" on {', '.join(where)}" if where else "")
    return text + "."


NAMES = {"tensorflow": "TensorFlow", "keras": "Keras", "python": "Python"}


def goals(recorded: dict | None) -> list[str]:
    if not recorded:
        return []
    lines = []
    for key, value in recorded.items():
        shown = ("met" if value else "missed") if isinstance(value, bool) else str(value)
        lines.append(f"- {GOALS.get(key, key.replace('_', ' '))}: {shown}")
    return ["Goals, as the benchmark recorded them:", "", *lines]


def wrote(name: str) -> str:
    _, path, command, _ = SOURCES[name]
    return f"`{command}` wrote `{path}`"


def missing(name: str) -> list[str]:
    _, path, command, _ = SOURCES[name]
    return [f"Not measured yet: `{command}` writes `{path}`."]


# ------------------------------------------------------------------ the site build


def run_label(run: dict, results: dict) -> str:
    name = run.get("name", "?")
    if name == "cold":
        return "cold: empty caches, trains the chapter's models"
    if name == "warm":
        return "warm: nothing changed"
    if name == "edit":
        snippet = (results.get("edit") or {}).get("snippet")
        return f"edit: a comment appended to {code(snippet)}" if snippet else "edit: one snippet changed"
    if name == "tool edit":
        tools = (results.get("tool_edit") or {}).get("tools")
        return f"tool edit: a comment appended to {', '.join(map(code, tools))}" if tools else name
    return name


def executed_cell(run: dict, results: dict) -> str:
    executed, cached = run.get("executed"), run.get("cached")
    if executed is None:
        return NOT_RECORDED
    cell = f"{len(executed)} of {len(executed) + len(cached or [])}"
    if executed and run.get("name") in ("edit", "tool edit"):
        cell += ": " + ", ".join(map(code, sorted(executed)))
    expected = (results.get("edit") or {}).get("expected")
    if run.get("name") == "edit" and expected is not None:
        cell += " (as expected)" if sorted(expected) == sorted(executed) else f" (expected {len(expected)})"
    return cell


def edition(name: str, results: dict) -> list[str]:
    lines = [f"### The {EDITIONS[name]} edition", ""]
    lines += [f"{wrote(name)}. " + measured(results)]
    if results.get("data"):
        lines[-1] += f" Data: {results['data']}."
    runs = results.get("runs") or []
    lines += [""] + table(
        ["build", "seconds", "pages executed"],
        [[run_label(r, results), seconds(r.get("seconds")), executed_cell(r, results)] for r in runs],
    )
    key = results.get("model_key")
    if key:
        keys = ", ".join(f"{when}: {code(value)}" for when, value in (key.get("keys") or {}).items())
        verdict = "follows" if key.get("follows_imports") else "does not follow"
        lines += ["", f"The stored models' key {verdict} the training code's imports ({keys})."]
    if "prose_numbers_unaccounted" in results:
        found = results["prose_numbers_unaccounted"]
        listed = "; ".join(f"{page}: {', '.join(numbers)}" for page, numbers in found.items()) if found else "none"
        lines += ["", f"Numbers in the cold build's prose that the build did not produce: {listed}."]
    if results.get("goals"):
        lines += [""] + goals(results["goals"])
    return lines


def page_times(results: dict | None) -> dict[str, float]:
    """Each page's execution seconds in the cold build: every page where the run recorded them,
    the chapter's pages (with the notebook page, run once more with nbclient) otherwise."""
    if not results:
        return {}
    return {**((results.get("chapter") or {}).get("pages") or {}), **(results.get("pages") or {})}


def per_page(found: dict) -> list[str]:
    editions = [name for name in EDITIONS if found.get(name)]
    times = {name: page_times(found[name]) for name in editions}
    pages = sorted({page for t in times.values() for page in t}, key=lambda p: (p.endswith(".ipynb"), p))
    if not pages:
        return []
    lines = [
        "### Seconds per page, cold build",
        "",
        "Each page's execution as the build hook recorded it; the notebook page is run once more with "
        "nbclient, because mkdocs-jupyter does not time it. Pages run side by side, so a page that needs "
        "a model another page is training waits for it, and the times add up to more than the build's "
        f"wall time. {NOT_RECORDED}: the run did not record that page.",
        "",
    ]
    header = ["page"] + [f"{EDITIONS[name]}, seconds" for name in editions]
    return lines + table(header, [[code(p)] + [seconds(times[n].get(p)) for n in editions] for p in pages])


def chapter(found: dict) -> list[str]:
    editions = [name for name in EDITIONS if found.get(name) and found[name].get("chapter")]
    if not editions:
        return []
    chapters = {name: found[name]["chapter"] for name in editions}
    pages = list(dict.fromkeys(page for c in chapters.values() for page in c.get("pages") or {}))
    section = next(iter(chapters.values())).get("section", "the chapter")
    rows = [[code(p)] + [seconds((chapters[n].get("pages") or {}).get(p)) for n in editions] for p in pages]
    rows.append(["**the whole chapter**"] + [f"**{seconds(chapters[n].get('seconds'))}**" for n in editions])
    rows.append(["goal: under this many seconds"] + [seconds(chapters[n].get("goal")) for n in editions])
    lines = [
        f"### {section}: the chapter's share of the cold build",
        "",
        "Its pages in reading order; the chapter's models are trained during the first page that needs them.",
        "",
    ]
    return lines + table(["page"] + [f"{EDITIONS[n]}, seconds" for n in editions], rows)


def site_build(found: dict) -> list[str]:
    lines = [
        "## Building the site",
        "",
        "A copy of the repository is built with empty output and model caches, then again with nothing "
        "changed, then after one snippet is edited (and, in newer runs, after the tools that do not run "
        "pages are edited): which pages execute again shows what the cache keys cover.",
    ]
    for name in EDITIONS:
        lines += [""] + (edition(name, found[name]) if found.get(name) else [f"### The {EDITIONS[name]} edition", ""])
        if not found.get(name):
            lines += missing(name)
    for part in (per_page(found), chapter(found)):
        if part:
            lines += [""] + part
    return lines


# ------------------------------------------------------------------ CI


def ci(results: dict | None) -> list[str]:
    lines = ["## Continuous integration, before and after", ""]
    if not results:
        return lines + missing("ci")
    before, after = results.get("before") or {}, results.get("after") or {}
    b, a = before.get("seconds") or {}, after.get("seconds") or {}
    lines += [
        f"{wrote('ci')}: `.ci/run`'s steps on fresh clones of two revisions, "
        "one after the other on the same machine. " + measured(results),
        "",
    ]
    rows = []
    for part in dict.fromkeys([*b, *a]):
        ratio = f"{a[part] / b[part]:.2f}x" if a.get(part) is not None and b.get(part) else NOT_RECORDED
        rows.append([part, seconds(b.get(part)), seconds(a.get(part)), ratio])
    header = [
        "part",
        f"before ({code(before.get('revision', '?'))}), s",
        f"after ({code(after.get('revision', '?'))}), s",
    ]
    return lines + table([*header, "after / before"], rows)


# ------------------------------------------------------------------ the MNIST chapter's accuracy


def accuracy(results: dict | None) -> list[str]:
    lines = ["## The MNIST chapter's accuracy over seeds", ""]
    if not results:
        return lines + missing("accuracy")
    settings = [
        text.format(results[key])
        for key, text in (("epochs", "{} epochs"), ("batch_size", "batch size {}"), ("seeds", "{} seeds"))
        if key in results
    ]
    lines += [
        f"{wrote('accuracy')}, which the training page shows and "
        "`tests/test_mnist_training.py` holds to its bars. " + measured(results),
        "",
        f"Data: {results.get('data', NOT_RECORDED)}; " + ", ".join(settings) + ".",
        "",
    ]
    rows = []
    for model, result in (results.get("models") or {}).items():
        runs = ", ".join(f"{x:.4f}" for x in result.get("accuracy") or [])
        stats = [f"{result[k]:.4f}" if result.get(k) is not None else NOT_RECORDED for k in ("mean", "min", "max")]
        rows.append([code(model), runs or NOT_RECORDED, *stats, seconds(result.get("seconds_per_epoch"))])
    header = ["model", "test accuracy per seed", "mean", "min", "max", "seconds per epoch"]
    return lines + table(header, rows)


# ------------------------------------------------------------------ training speed


def times(value, digits: int = 2) -> str:
    return NOT_RECORDED if value is None else f"{value:.{digits}f}x"


def training(results: dict | None) -> list[str]:
    lines = ["## Training speed", ""]
    if not results:
        return lines + missing("training")
    data = results.get("data")
    description = data.get("description") if isinstance(data, dict) else data
    lines += [
        f"{wrote('training')}, which the page Training faster shows: "
        "the notes' CNN trained for one epoch in each configuration, in one process. " + measured(results),
    ]
    if description:
        lines[-1] += f" Data: {description}."
    matmul = results.get("matmul") or {}
    if matmul.get("flops_per_second"):
        n = matmul.get("n")
        size = f" ({n} x {n})" if n else ""
        lines[-1] += f" Float32 matrix multiply{size}: {matmul['flops_per_second'] / 1e9:.0f} GFLOP/s."
    rows = []
    for config in results.get("configs") or []:
        test_accuracy = config.get("test_accuracy")
        points = config.get("accuracy_points")
        share = config.get("matmul_fraction")
        rows.append(
            [
                config.get("name", "?"),
                NOT_RECORDED if config.get("images_per_second") is None else f"{config['images_per_second']:,.0f}",
                times(config.get("speedup")),
                seconds(config.get("epoch_seconds")),
                NOT_RECORDED if test_accuracy is None else f"{test_accuracy:.4f}",
                NOT_RECORDED if points is None else f"{points:+.2f}",
                NOT_RECORDED if share is None else f"{100 * share:.0f}%",
            ]
        )
    header = [
        "configuration",
        "images/s in a typical step",
        "step speed vs the baseline",
        "epoch seconds",
        "test accuracy",
        "points vs the baseline",
        "share of the matmul rate",
    ]
    lines += [""] + table(header, rows)
    control = results.get("control") or {}
    if control.get("of_baseline") is not None:
        lines += ["", f"The baseline again at the end, as a control: {times(control['of_baseline'])} its first rate."]
    if results.get("best"):
        lines += ["", f"Best at the same accuracy: {results['best']}."]
    if results.get("goals"):
        lines += [""] + goals(results["goals"])
    return lines


# ------------------------------------------------------------------ the whole file


def render(found: dict) -> str:
    """bench/README.md's text from the results (name -> dict, or None where not measured)."""
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m bench.report` from the results below; do not edit by hand. -->",
        "",
        "Measurements, not tests: each is one command that writes its results as JSON, and this file "
        "is generated from those files by `python -m bench.report` (run it again after a benchmark; "
        "`tests/test_bench.py` fails when this file is out of date). The figures depend on the machine "
        "and on what else ran on it; each section says where and when its results were measured.",
        "",
    ]
    rows = [
        [title, code(command) + (f" (part of `make {target}`)" if target else ""), code(path)]
        for title, path, command, target in SOURCES.values()
    ]
    lines += table(["measurement", "command", "results"], rows)
    lines += [
        "",
        "Lighthouse scores are not stored: `make lighthouse` prints them for the built site "
        "(`tools/lighthouse.py`), against the goals set there.",
        "",
    ]
    for part in (
        site_build(found),
        ci(found.get("ci")),
        accuracy(found.get("accuracy")),
        training(found.get("training")),
    ):
        lines += [*part, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when bench/README.md is out of date")
    args = parser.parse_args(argv)
    text = render(load_results())
    if args.check:
        if not README.is_file() or README.read_text(encoding="utf-8") != text:
            print(f"{README.relative_to(ROOT)} is out of date: run python -m bench.report", file=sys.stderr)
            return 1
        return 0
    README.write_text(text, encoding="utf-8")
    print(f"wrote {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
