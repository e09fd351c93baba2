"""Step 3 of the page pipeline: run a page's blocks, in order, in one fresh Python.

Each page runs in its own process (`tools/page_worker.py`), exactly as a reader who
pastes its blocks into a new Python would run them, with the repository on the path.
An exception fails the build with the page, the line, the snippet and the traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError

from tools.blocks import ROOT, Block


def worker_environment(root: Path = ROOT) -> dict[str, str]:
    """The environment in which pages run: the repository first on the path, a fixed hash
    seed, figures drawn off screen, TensorFlow's start-up chatter off."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="2",
        COLUMNS="100",
    )
    return env


def execute(blocks: list[Block], root: Path = ROOT) -> list[tuple[str, list[str]]]:
    """Run the blocks in one fresh Python, in an empty folder of their own, as a reader would
    in theirs; return each block's output as Markdown and the formatted values its prose
    shows. A page whose code leaves files behind in that folder fails: a reader's copy
    would litter theirs (write to a temporary folder instead)."""
    with tempfile.TemporaryDirectory(prefix="page-") as folder:
        outputs = run_in(blocks, root, Path(folder))
        left = sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*"))
    if left:
        raise PluginError(
            f"{blocks[0].page}: its code left files in the folder it ran in: {left}; "
            "write them to a temporary folder (tempfile.TemporaryDirectory)"
        )
    return outputs


def run_in(blocks: list[Block], root: Path, folder: Path) -> list[tuple[str, list[str]]]:
    log_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # what libraries write to stderr
    worker = subprocess.Popen(
        [sys.executable, "-m", "tools.page_worker"],
        cwd=folder,
        env=worker_environment(root),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
        encoding="utf-8",
    )

    def stderr_tail() -> str:
        log_file.seek(0)
        tail = log_file.read()[-3000:].strip()
        return f"\n\nThe Python process wrote to stderr:\n{tail}" if tail else ""

    outputs = []
    try:
        for block in blocks:
            worker.stdin.write(json.dumps({"label": block.label, "code": block.code, "values": block.values}) + "\n")
            worker.stdin.flush()
            reply = worker.stdout.readline()
            if not reply:
                worker.wait(timeout=30)
                raise PluginError(
                    f"{block.page}:{block.line}: Python exited with code {worker.returncode} "
                    f"while running snippet {block.label}{stderr_tail()}"
                )
            reply = json.loads(reply)
            if not reply["ok"]:
                raise PluginError(
                    f"{block.page}:{block.line}: snippet {block.label} raised an exception:\n\n{reply['error']}"
                )
            outputs.append((reply["output"], reply["values"]))
    finally:
        worker.stdin.close()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log_file.close()
    return outputs


def timed_execute(blocks: list[Block]) -> tuple[list, float]:
    start = time.perf_counter()
    outputs = execute(blocks)
    return outputs, round(time.perf_counter() - start, 1)


def jobs() -> int:
    """How many pages execute at once: CNN_TUTORIAL_JOBS, else one per core."""
    return max(1, int(os.environ.get("CNN_TUTORIAL_JOBS") or os.cpu_count() or 1))
