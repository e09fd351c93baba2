"""How long does CI take, before and after a change: the whole run and its main parts.

Run: ``make bench-ci`` (``python -m bench.ci --before REV``): about 25 minutes on a 2-core CPU.
Writes bench/results/ci.json and prints the seconds of each part and the after/before ratio.

Each revision is cloned fresh into a temporary folder (with ../shared beside it when this
clone has one, as CI has) and its CI steps run one after another, as `.ci/run` runs them
with CI=true on the offline sample: `make setup` (the virtual environment, from the pip cache
this machine already has), `make test` (browser tools, the tests and the site build they
need), `make build` (the strict build, from the outputs the tests cached). A measurement,
not a test: the two revisions run one after the other on the same machine, so keep it
otherwise idle.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine_info, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ci.json"
PARTS = ("setup", "test", "build")
BEFORE = "864c934"  # main before the work on issue 14 (CI in parallel processes, pages side by side)


def run_ci(revision: str, folder: Path) -> dict:
    """Clone `revision`, run its CI steps in order; seconds per step and in all."""
    clone = folder / "p"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", revision], cwd=clone, check=True)
    shared = ROOT.parent / "shared"
    env = dict(os.environ, CI="true", CNN_TUTORIAL_DATA="sample")
    for name in ("CNN_TUTORIAL_CACHE", "CNN_TUTORIAL_MODELS", "CNN_TUTORIAL_SITE", "VIRTUAL_ENV"):
        env.pop(name, None)
    if shared.is_dir():
        (folder / "shared").symlink_to(shared)
        env["CNN_TUTORIAL_MNIST_DIR"] = str(shared / "data" / "mnist")
    seconds = {}
    for part in PARTS:
        start = time.perf_counter()
        done = subprocess.run(["make", part], cwd=clone, env=env, capture_output=True, text=True)
        seconds[part] = round(time.perf_counter() - start, 1)
        if done.returncode:
            raise SystemExit(f"{revision}: make {part} failed after {seconds[part]:.0f} s:\n{done.stdout[-3000:]}")
        print(f"{revision:>10} {part:6} {seconds[part]:7.1f} s", flush=True)
    seconds["whole run"] = round(sum(seconds.values()), 1)
    return seconds


def ratio_table(before: dict, after: dict) -> str:
    lines = [f"{'part':10}{'before':>9}{'after':>9}{'after/before':>14}"]
    for part in (*PARTS, "whole run"):
        lines.append(f"{part:10}{before[part]:>8.0f}s{after[part]:>8.0f}s{after[part] / before[part]:>13.2f}x")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help=f"the revision to compare with (default: {BEFORE})")
    parser.add_argument("--after", default="HEAD", help="default: HEAD")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    revisions = {}
    for label, revision in (("before", args.before), ("after", args.after)):
        revision = subprocess.run(
            ["git", "rev-parse", "--short", revision], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
        with tempfile.TemporaryDirectory(prefix=f"ci-bench-{label}-") as folder:
            revisions[label] = {"revision": revision, "seconds": run_ci(revision, Path(folder))}
    table = ratio_table(revisions["before"]["seconds"], revisions["after"]["seconds"])
    print(table)
    write_results({"machine": machine_info(), **revisions}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
