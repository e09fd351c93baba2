"""Step 2 of the page pipeline: the key under which a page's outputs are cached.

A page's key covers everything that can change what its blocks print and draw:
its blocks in order and the values its prose asks for; the snippet files they
include and every `snippets` module those import, transitively; the offline
sample; the tools that run pages; the Python version, the installed distributions
and `requirements.lock`; and the `CNN_TUTORIAL_*` settings that choose the data.
Not the prose (editing it re-renders from the cache) and not the tools that only
render, write notebooks or measure. Editing a snippet re-executes exactly the
pages that depend on it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
from pathlib import Path

from snippets.dependencies import snippet_dependencies
from tools.blocks import ROOT, Block

# Unset or empty settings mean these defaults (snippets/data.py reads the same one).
SETTING_DEFAULTS = {"CNN_TUTORIAL_DATA": "sample"}
# Where and how things run, or data only tests read: not what a page prints.
UNRELATED_SETTINGS = (
    "CNN_TUTORIAL_CACHE",
    "CNN_TUTORIAL_SITE",
    "CNN_TUTORIAL_JOBS",
    "CNN_TUTORIAL_FASHION_MNIST_DIR",
    "CNN_TUTORIAL_MODELS",
)
# The tools whose code runs a page's blocks (the others render, write notebooks or measure).
EXECUTING_TOOLS = ("tools/runner.py", "tools/page_worker.py")


def cache_dir() -> Path:
    return Path(os.environ.get("CNN_TUTORIAL_CACHE", ROOT / ".cache" / "exec"))


def data_source() -> str:
    """The data the pages use: CNN_TUTORIAL_DATA, else the default."""
    return os.environ.get("CNN_TUTORIAL_DATA") or SETTING_DEFAULTS["CNN_TUTORIAL_DATA"]


def record_path(page: str, key: str) -> Path:
    """The one file that holds a page's executed outputs; `page` is its path under docs/."""
    return cache_dir() / f"{record_stem(page)}.{key[:20]}.json"


def record_stem(page: str) -> str:
    return re.sub(r"[^\w.-]", "_", page)


def hash_files(hasher, files, root: Path = ROOT) -> None:
    for file in sorted(files):
        hasher.update(file.relative_to(root).as_posix().encode() + b"\0")
        hasher.update(file.read_bytes() + b"\0")


def settings() -> dict[str, str | None]:
    """The CNN_TUTORIAL_* settings that can change what a page prints."""
    chosen = dict(SETTING_DEFAULTS)
    chosen.update((k, v) for k, v in os.environ.items() if k.startswith("CNN_TUTORIAL_") and v)
    for unrelated in UNRELATED_SETTINGS:
        chosen.pop(unrelated, None)
    if "CNN_TUTORIAL_MNIST_DIR" in chosen:  # verified official files: only whether they are used matters
        if chosen["CNN_TUTORIAL_DATA"] == "full":
            chosen["CNN_TUTORIAL_MNIST_DIR"] = "set"
        else:
            del chosen["CNN_TUTORIAL_MNIST_DIR"]  # the sample is used: the same outputs as without it
    return chosen


def environment_fingerprint(root: Path = ROOT) -> str:
    """Everything outside a page's own snippets that can change its outputs."""
    hasher = hashlib.sha256()
    hasher.update(platform.python_version().encode())
    dists = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in importlib.metadata.distributions())
    hasher.update("\n".join(dists).encode())
    hasher.update(repr(sorted(settings().items())).encode())
    files = [root / "requirements.lock", root / "snippets" / "__init__.py", *(root / t for t in EXECUTING_TOOLS)]
    files += [f for f in (root / "snippets" / "sample").rglob("*") if f.is_file()]
    hash_files(hasher, [f for f in files if f.is_file()], root)
    return hasher.hexdigest()


def page_key(blocks: list[Block], fingerprint: str, root: Path = ROOT) -> str:
    """What the page runs: its blocks in order and the values its prose asks for (the prose
    itself is not executed, so editing it re-renders from the cache)."""
    hasher = hashlib.sha256(fingerprint.encode())
    hasher.update(json.dumps([[b.targets, b.code, b.values] for b in blocks]).encode())
    included = {root / t.partition(":")[0] for b in blocks for t in b.targets}
    hash_files(hasher, snippet_dependencies(included, root), root)
    return hasher.hexdigest()
