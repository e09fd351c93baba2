"""How long does building the whole site take: cold, warm, and after editing one snippet?

Run: ``make bench-site`` (``python -m bench.site_build``, then ``--data full``): about 10-15
minutes on a 2-core CPU for the offline sample, and more for the published edition on full
MNIST (CNN_TUTORIAL_MNIST_DIR, else a download), which trains the chapter's models on 60,000
images. Writes bench/results/site_build.json and site_build_full.json, with every page's time;
bench/README.md shows the figures (`python -m bench.report` writes it from those files).

The builds run in a copy of the repository in a temporary folder (the real files are
never edited), with fresh, empty CNN_TUTORIAL_CACHE and CNN_TUTORIAL_MODELS folders:
1. cold: every page executes its blocks and the chapter's models are trained;
2. warm: nothing changed, every page's outputs come from the cache;
3. edit: one comment line appended to one concept snippet; only the pages that show
   that snippet, or run code that imports it, may execute again. The build hook
   (tools/exec_hook.py) writes which pages executed and which came from the cache to
   build-report.json in the cache folder: {"executed": [...], "cached": [...]};
4. tool edit: a line appended to the tools that do not run pages (notebooks, page
   tools, the reader's wheel, Lighthouse): no page may execute again.
Then the chapter's model key: it must change when a module the training code imports
changes, and not when another one does.

It also reports the MNIST chapter's share of the cold build (goal: under 5 minutes):
each of its pages' execution seconds, which the hook records with the page's outputs,
and the notebook page run once more with nbclient (mkdocs-jupyter does not time it; the
chapter's models are stored by then, in the build as here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine_info, write_results
from snippets.dependencies import snippet_dependencies
from tools.blocks import python_blocks
from tools.keys import record_stem
from tools.nav import section_pages
from tools.notebooks import execute_notebook
from tools.prose_numbers import unaccounted

ROOT = Path(__file__).resolve().parent.parent
RESULTS = {
    "sample": ROOT / "bench" / "results" / "site_build.json",
    "full": ROOT / "bench" / "results" / "site_build_full.json",
}
EDITED = "snippets/pooling.py"  # a concept snippet that one other chapter's module imports
GOALS = {"cold": 600, "warm": 20}  # seconds
CHAPTER, CHAPTER_GOAL = "The MNIST CNN", 300  # a section of mkdocs.yml's nav; seconds
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "site", "site-full", ".cache", "node_modules", "__pycache__", "*.egg-info", ".pytest_cache", "runs"
)


def read_report(path) -> dict:
    """The build hook's report: {"executed": [pages], "cached": [pages]}, checked."""
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    if (
        not isinstance(report, dict)
        or set(report) != {"executed", "cached"}
        or not all(isinstance(v, list) and all(isinstance(p, str) for p in v) for v in report.values())
    ):
        raise ValueError(f"{path}: expected {{'executed': [pages], 'cached': [pages]}}, got {report!r}"[:300])
    if set(report["executed"]) & set(report["cached"]):
        raise ValueError(
            f"{path}: pages both executed and cached: {sorted(set(report['executed']) & set(report['cached']))}"
        )
    return report


def pages_using(root: Path, snippet: str) -> list[str]:
    """The pages whose blocks include `snippet` or a snippet that imports it (transitively):
    the pages whose cached outputs an edit of `snippet` must invalidate (the build's own rules)."""
    target, pages = (root / snippet).resolve(), []
    for page in sorted((root / "docs").rglob("*.md")):
        name = page.relative_to(root / "docs").as_posix()
        blocks = python_blocks(page.read_text(encoding="utf-8"), name, root)
        included = {root / t.partition(":")[0] for b in blocks for t in b.targets}
        if target in {f.resolve() for f in snippet_dependencies(included, root)}:
            pages.append(name)
    return pages


# Tools that render pages, write notebooks or the reader's wheel, or measure: editing them
# must re-execute no page (tools/keys.py keys pages on the tools that run them only).
TOOLS_THAT_DO_NOT_RUN_PAGES = (
    "tools/notebooks.py",
    "tools/page_tools.py",
    "tools/reader_wheel.py",
    "tools/lighthouse.py",
)
MODEL_KEY = (
    "from snippets.mnist_training import cache_key; print(cache_key('notes_cnn', 'MNIST offline sample', 10, 128, 0))"
)


def model_key_follows_imports(copy: Path, env: dict) -> dict:
    """The stored models' key (snippets.mnist_training.cache_key) before and after editing a
    module the training code imports (it must change) and one it does not (it must not)."""

    def key() -> str:
        run = subprocess.run([sys.executable, "-c", MODEL_KEY], cwd=copy, env=env, capture_output=True, text=True)
        return run.stdout.strip()

    keys = {"before": key()}
    for name, module in (
        ("after editing an unrelated module", "snippets/pooling.py"),
        ("after editing an imported module", "snippets/mnist_data.py"),
    ):
        with open(copy / module, "a", encoding="utf-8") as file:
            file.write("\nEDITED = True\n")
        keys[name] = key()
    values = list(keys.values())
    return {"keys": keys, "follows_imports": values[0] == values[1] != values[2]}


def build(copy: Path, env: dict, name: str) -> dict:
    """One strict build of the copy; its wall time and the hook's report."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(copy / "site")], cwd=copy, env=env
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"the {name} build failed (exit code {done.returncode}) after {seconds:.0f} s: see above")
    report = read_report(Path(env["CNN_TUTORIAL_CACHE"]) / "build-report.json")
    print(
        f"{name:6} {seconds:7.1f} s  executed {len(report['executed']):2} pages, "
        f"{len(report['cached']):2} from the cache",
        flush=True,
    )
    return {"name": name, "seconds": seconds, **report}


def chapter_pages(root: Path) -> list[str]:
    """The pages of the chapter, in reading order, as mkdocs.yml's nav lists them."""
    from mkdocs.config import load_config

    try:
        return section_pages(load_config(str(root / "mkdocs.yml"))["nav"], CHAPTER)
    except LookupError as error:
        raise SystemExit(str(error)) from error


def page_seconds(cache: Path, page: str) -> float:
    """How long the build took to execute `page`, from the hook's record of its outputs."""
    records = list(cache.glob(f"{record_stem(page)}.*.json"))
    if len(records) != 1:
        raise SystemExit(f"expected one record of {page} in {cache}, found {len(records)}")
    return float(json.loads(records[0].read_text(encoding="utf-8"))["seconds"])


def notebook_seconds(path: Path, env: dict) -> float:
    """Execute a notebook top to bottom in a fresh kernel, in a temporary folder."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        execute_notebook(notebook, Path(folder), env)
        return time.perf_counter() - start


def all_page_times(copy: Path, env: dict) -> dict:
    """Seconds each page with code took to execute in the build just done."""
    cache = Path(env["CNN_TUTORIAL_CACHE"])
    return {
        page.relative_to(copy / "docs").as_posix(): page_seconds(cache, page.relative_to(copy / "docs").as_posix())
        for page in sorted((copy / "docs").glob("*.md"))
        if list(cache.glob(f"{record_stem(page.name)}.*.json"))
    }


def prose_check(copy: Path) -> dict:
    """tools/prose_numbers.py on the cold build's site: numbers its prose states that it did not produce."""
    found = unaccounted(copy / "site")
    print(f"prose numbers the build did not produce: {found or 'none'}", flush=True)
    return found


def chapter_times(copy: Path, env: dict) -> dict:
    """Seconds per page of the chapter in the cold build just done, and their sum."""
    pages = {
        page: notebook_seconds(copy / "docs" / page, env)
        if page.endswith(".ipynb")
        else page_seconds(Path(env["CNN_TUTORIAL_CACHE"]), page)
        for page in chapter_pages(copy)
    }
    return {"section": CHAPTER, "pages": pages, "seconds": sum(pages.values()), "goal": CHAPTER_GOAL}


def summary_table(results: dict) -> str:
    lines = [f"{'build':10}{'seconds':>9}{'goal':>8}{'executed':>10}{'cached':>8}"]
    for run in results["runs"]:
        goal = f"{GOALS[run['name']]} s" if run["name"] in GOALS else "-"
        lines.append(
            f"{run['name']:10}{run['seconds']:>9.1f}{goal:>8}{len(run['executed']):>10}{len(run['cached']):>8}"
        )
    return "\n".join(lines)


def chapter_table(chapter: dict) -> str:
    lines = [f"{chapter['section']}, cold build:"]
    lines += [f"  {page:30}{seconds:>8.1f} s" for page, seconds in chapter["pages"].items()]
    lines.append(f"  {'the whole chapter':30}{chapter['seconds']:>8.1f} s (goal: under {chapter['goal']} s)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        choices=("sample", "full"),
        default="sample",
        help="sample: the offline sample, as CI builds; full: the published edition",
    )
    parser.add_argument("--out", type=Path, help="default: bench/results/site_build[_full].json")
    args = parser.parse_args(argv)
    args.out = args.out or RESULTS[args.data]
    with tempfile.TemporaryDirectory(prefix="site-bench-") as folder:
        copy = Path(folder) / "repo"
        shutil.copytree(ROOT, copy, ignore=NOT_COPIED, symlinks=True)
        (copy / "node_modules").symlink_to(ROOT / "node_modules")  # onnxruntime-web, which the site copies
        env = dict(
            os.environ,
            CNN_TUTORIAL_CACHE=str(Path(folder) / "cache"),
            CNN_TUTORIAL_MODELS=str(Path(folder) / "models"),
            NO_MKDOCS_2_WARNING="1",
            PYTHONPATH=str(copy),
        )  # the copy's snippets, also in notebooks
        env["CNN_TUTORIAL_DATA"] = args.data
        results = {
            "machine": machine_info(),
            "data": {
                "sample": "MNIST offline sample (5,000 training + 10,000 test images)",
                "full": "full MNIST (60,000 training + 10,000 test images)",
            }[args.data],
            "runs": [build(copy, env, "cold")],
        }
        results["pages"] = all_page_times(copy, env)  # before a later build replaces a record
        results["prose_numbers_unaccounted"] = prose_check(copy)
        results["chapter"] = chapter_times(copy, env)
        results["runs"].append(build(copy, env, "warm"))
        expected = pages_using(copy, EDITED)
        with open(copy / EDITED, "a", encoding="utf-8") as file:
            file.write("# an edit, to see which pages execute again\n")
        edit = build(copy, env, "edit")
        results["runs"].append(edit)
        results["edit"] = {
            "snippet": EDITED,
            "expected": expected,
            "only_those_executed": sorted(edit["executed"]) == sorted(expected),
        }
        for tool in TOOLS_THAT_DO_NOT_RUN_PAGES:
            with open(copy / tool, "a", encoding="utf-8") as file:
                file.write("# an edit, to see that no page executes again\n")
        tool_edit = build(copy, env, "tool edit")
        results["runs"].append(tool_edit)
        results["tool_edit"] = {"tools": list(TOOLS_THAT_DO_NOT_RUN_PAGES), "executed": tool_edit["executed"]}
        results["model_key"] = model_key_follows_imports(copy, env)
    cold, warm = results["runs"][0]["seconds"], results["runs"][1]["seconds"]
    results["goals"] = {
        "cold_under_10_min": cold < GOALS["cold"],
        "warm_under_20_s": warm < GOALS["warm"],
        "edit_reexecutes_only_its_pages": results["edit"]["only_those_executed"],
        "tool_edit_reexecutes_nothing": results["tool_edit"]["executed"] == [],
        "model_key_follows_imports": results["model_key"]["follows_imports"],
        "chapter_under_5_min": results["chapter"]["seconds"] < CHAPTER_GOAL,
    }
    print(summary_table(results))
    print(chapter_table(results["chapter"]))
    print("every page, cold: " + ", ".join(f"{page} {seconds:.0f} s" for page, seconds in results["pages"].items()))
    print(f"after editing {EDITED}: executed {edit['executed']}; expected {expected}")
    print(f"after editing {', '.join(TOOLS_THAT_DO_NOT_RUN_PAGES)}: executed {results['tool_edit']['executed']}")
    print("model key: " + ", ".join(f"{when} {key}" for when, key in results["model_key"]["keys"].items()))
    write_results(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
