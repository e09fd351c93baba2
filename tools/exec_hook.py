"""MkDocs hook: every Python block on a page is a snippet, executed, with its output.

The contract this file enforces while the site builds:

- Every fenced Python block in `docs/` holds only includes of sections of
  `snippets/` (``--8<-- "snippets/name.py:section"``); anything else fails the build.
- The blocks of a page run in order in one fresh Python (`tools/page_worker.py`),
  exactly as a reader who pastes them would run them; the page shows each
  block's source and, below it, what it printed and drew.
- An exception fails the build with the page, the snippet and the traceback.
- Outputs are cached per page under a key made of everything that can change
  them: the page, the snippet files it includes and the `snippets` modules
  those import (transitively), the data files, the build tools, the Python
  version, the installed distributions, `requirements.lock` and the
  `CNN_TUTORIAL_*` settings. Editing a snippet re-executes exactly the pages that
  depend on it.
- mkdocs-jupyter's own cache hashes only the notebook, so its cache folder is
  moved under a key of the same environment plus the whole `snippets` package.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import html
import importlib.metadata
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape as html_escape
from pathlib import Path

import markdown_exec
from mkdocs.exceptions import PluginError
from pymdownx.superfences import SuperFencesException


ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("mkdocs.hooks.exec")

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*\{?[ \t]*\.?(?P<lang>[\w+-]*)(?P<info>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S,
)
INCLUDE = re.compile(r'^[ \t]*-{1,}8<-{1,}[ \t]+"(?P<target>[^"]+)"[ \t]*$')
SECTION = re.compile(r"-{1,}8<-{1,}[ \t]+\[[ \t]*(?P<type>start|end)[ \t]*:[ \t]*(?P<name>[a-z][-_0-9a-z]*)[ \t]*\]")
# Unset or empty settings mean these defaults (snippets/data.py reads the same one).
SETTING_DEFAULTS = {"CNN_TUTORIAL_DATA": "sample"}
PYTHON = {"python", "python3"}
# The source of a block is rendered as a `py` fence, which keeps the ordinary highlighter;
# pages must not use `py` fences themselves (they would escape execution).
SOURCE_LANGUAGE = "py"


def cache_dir() -> Path:
    return Path(os.environ.get("CNN_TUTORIAL_CACHE", ROOT / ".cache" / "exec"))


# ---------------------------------------------------------------- snippets


@dataclass(frozen=True)
class Block:
    """One Python block of a page: where it is, what it includes, the code that runs."""

    page: str
    line: int
    targets: tuple[str, ...]
    code: str
    values: tuple[tuple[str, str], ...] = ()  # (expression, format spec) the prose shows after this block

    @property
    def label(self) -> str:
        return " + ".join(self.targets)


def read_section(target: str, root: Path = ROOT) -> str:
    """The text of ``path:section`` (or of a whole file) as pymdownx.snippets includes it."""
    path, _, name = target.partition(":")
    file = root / path
    if not file.is_file():
        raise FileNotFoundError(f"snippet file {path!r} does not exist")
    lines, inside, found = [], not name, False
    for line in file.read_text(encoding="utf-8").splitlines():
        marker = SECTION.search(line)
        if marker:
            if marker["name"] == name and marker["type"] == "start":
                inside = found = True
            elif marker["name"] == name and inside:
                break
            continue
        if inside:
            lines.append(line)
    if name and not found:
        raise LookupError(f"snippet section {name!r} not found in {path!r}")
    return textwrap.dedent("\n".join(lines)).strip("\n")


def python_blocks(markdown: str, page: str, root: Path = ROOT) -> list[Block]:
    """All Python fences of a page, checked to be includes of `snippets/` only."""
    blocks = []
    for fence in FENCE.finditer(markdown):
        line = markdown.count("\n", 0, fence.start()) + 1
        if fence["lang"].lower() == SOURCE_LANGUAGE:
            raise PluginError(f"{page}:{line}: write Python blocks as ```python (they are executed), not ```py")
        if fence["lang"].lower() not in PYTHON:
            continue
        body = [l for l in fence["body"].splitlines() if l.strip()]
        targets = [INCLUDE.match(l) for l in body]
        if not body or not all(targets):
            raise PluginError(
                f"{page}:{line}: a Python block may only include snippets, like "
                f'--8<-- "snippets/name.py:section"; code a reader sees lives in snippets/'
            )
        targets = tuple(t["target"] for t in targets)
        outside = [t for t in targets if not t.startswith("snippets/")]
        if outside:
            raise PluginError(f"{page}:{line}: Python blocks include from snippets/ only, not {outside}")
        try:
            code = "\n".join(read_section(t, root) for t in targets)
        except (FileNotFoundError, LookupError) as error:
            raise PluginError(f"{page}:{line}: {error}") from error
        blocks.append(Block(page, line, targets, code))
    return blocks


# A value the page's code computed, shown in the prose: {{ expression }} or {{ expression | format spec }}.
VALUE = re.compile(r"\{\{\s*(?P<expression>.+?)\s*(?:\|\s*(?P<spec>[^{}|]*?)\s*)?\}\}")


def prose_values(markdown: str, blocks: list[Block]) -> tuple[list[Block], list[tuple[int, int, int]]]:
    """Attach each {{ value }} of the prose to the block it follows; return the blocks and
    (start, end, (block index, value index)) of every placeholder, outside code fences."""
    fenced = [(f.start(), f.end()) for f in FENCE.finditer(markdown)]
    wanted = [[] for _ in blocks]
    places = []
    for match in VALUE.finditer(markdown):
        if any(a <= match.start() < b for a, b in fenced):
            continue
        line = markdown.count("\n", 0, match.start()) + 1
        before = [i for i, block in enumerate(blocks) if block.line < line]
        if not before:
            raise PluginError(f"{blocks[0].page if blocks else 'page'}:{line}: {match[0]} comes before any "
                              "Python block: a value in the prose must follow the block that computes it")
        wanted[before[-1]].append((match["expression"], match["spec"] or ""))
        places.append((match.start(), match.end(), before[-1], len(wanted[before[-1]]) - 1))
    blocks = [dataclasses.replace(block, values=tuple(values)) for block, values in zip(blocks, wanted)]
    return blocks, places


def fill_values(markdown: str, places, values: list[list[str]]) -> str:
    """The prose with each placeholder replaced by its value, marked as computed by the build."""
    for start, end, block, index in reversed(places):
        shown = html.escape(values[block][index])
        markdown = markdown[:start] + f'<span class="exec-value">{shown}</span>' + markdown[end:]
    return markdown


def snippet_dependencies(files: set[Path], root: Path = ROOT) -> set[Path]:
    """The files plus every `snippets` module they import, transitively."""
    todo, seen = list(files), set()
    while todo:
        file = todo.pop()
        if file in seen or not file.is_file():
            continue
        seen.add(file)
        if file.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = file.parent
                for _ in range(node.level - 1):
                    base = base.parent
                rel = base.relative_to(root).as_posix().replace("/", ".")
                module = f"{rel}.{node.module}" if node.module else rel
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            for name in names:
                if name == "snippets" or name.startswith("snippets."):
                    stem = root / Path(*name.split("."))
                    todo += [stem.with_suffix(".py"), stem / "__init__.py"]
    return seen


# ---------------------------------------------------------------- cache keys


def _hash_files(hasher, files, root: Path = ROOT) -> None:
    for file in sorted(files):
        hasher.update(file.relative_to(root).as_posix().encode() + b"\0")
        hasher.update(file.read_bytes() + b"\0")


def environment_fingerprint(root: Path = ROOT) -> str:
    """Everything outside a page's own snippets that can change its outputs."""
    hasher = hashlib.sha256()
    hasher.update(platform.python_version().encode())
    dists = sorted(f"{d.metadata['Name']}=={d.version}".lower() for d in importlib.metadata.distributions())
    hasher.update("\n".join(dists).encode())
    settings = dict(SETTING_DEFAULTS)
    settings.update((k, v) for k, v in os.environ.items() if k.startswith("CNN_TUTORIAL_") and v)
    # where and how things run, or data only tests read: not what a page prints
    for unrelated in ("CNN_TUTORIAL_CACHE", "CNN_TUTORIAL_SITE", "CNN_TUTORIAL_JOBS", "CNN_TUTORIAL_FASHION_MNIST_DIR"):
        settings.pop(unrelated, None)
    if "CNN_TUTORIAL_MNIST_DIR" in settings:  # verified official files: only whether they are used matters
        settings["CNN_TUTORIAL_MNIST_DIR"] = "set" if settings["CNN_TUTORIAL_DATA"] == "full" else None
    hasher.update(repr(sorted(settings.items())).encode())
    # The tools that run pages; not those that render them, write notebooks or measure.
    files = [root / "requirements.lock", root / "tools" / "exec_hook.py", root / "tools" / "page_worker.py",
             root / "snippets" / "__init__.py"]
    files += [f for f in (root / "snippets" / "sample").rglob("*") if f.is_file()]
    _hash_files(hasher, [f for f in files if f.is_file()], root)
    return hasher.hexdigest()


def page_key(blocks: list[Block], fingerprint: str, root: Path = ROOT) -> str:
    """What the page runs: its blocks in order and the values its prose asks for (the prose
    itself is not executed, so editing it re-renders from the cache)."""
    hasher = hashlib.sha256(fingerprint.encode())
    hasher.update(json.dumps([[b.targets, b.code, b.values] for b in blocks]).encode())
    included = {root / t.partition(":")[0] for b in blocks for t in b.targets}
    _hash_files(hasher, snippet_dependencies(included, root), root)
    return hasher.hexdigest()


# ---------------------------------------------------------------- execution


def worker_environment(root: Path = ROOT) -> dict[str, str]:
    """The environment in which pages run: the tests run the reader's copy in the same one."""
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
    """Run the blocks in one fresh Python; return each block's output as Markdown and the
    formatted values its prose shows."""
    log_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # what libraries write to stderr
    worker = subprocess.Popen(
        [sys.executable, str(root / "tools" / "page_worker.py")],
        cwd=root,
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


@dataclass
class PageRun:
    """The blocks of the page being rendered and their outputs, consumed in order."""

    page: str
    blocks: list[Block]
    outputs: list[str]
    position: int = 0

    def next_output(self, source: str) -> str:
        if self.position >= len(self.blocks):
            raise SuperFencesException(f"{self.page}: more Python blocks were rendered than found")
        block = self.blocks[self.position]
        if source.strip("\n") != block.code:
            raise SuperFencesException(
                f"{self.page}:{block.line}: the block rendered differs from snippet {block.label} as read by the hook"
            )
        self.position += 1
        return self.outputs[self.position - 1]


@dataclass
class BuildState:
    fingerprint: str = ""
    current: PageRun | None = None
    report: dict = field(default_factory=dict)
    repository: str = ""  # where Colab opens the notebooks from: the GitHub repository and branch
    branch: str = ""
    install: str = ""  # the one command that installs what the pages' code imports
    verified: dict = field(default_factory=dict)  # page -> what its outputs were produced with
    notebook_verified: dict | None = None
    pending: dict = field(default_factory=dict)  # page -> (key, future of its outputs and seconds)
    pool: ThreadPoolExecutor | None = None


STATE = BuildState()


def validate(language, inputs, options, attrs, md) -> bool:  # noqa: ARG001 - SuperFences' signature
    """Every Python fence is executed: no option switches that off."""
    if inputs:
        raise SuperFencesException(f"Python blocks take no options, got {sorted(inputs)}")
    options.update(source="above", result="", html=False, tabs=markdown_exec.default_tabs, update_toc=False)
    return True


def format_block(source, language, css_class, options, md, **kwargs) -> str:  # noqa: ARG001
    """Render a Python block: its source, then the output the page's run recorded for it."""
    if STATE.current is None:
        raise SuperFencesException("a Python block was rendered outside a page")
    output = STATE.current.next_output(source)
    wrapped = f'<div class="exec-result" markdown="1">\n\n{output}\n\n</div>' if output else ""
    return markdown_exec.base_format(language=SOURCE_LANGUAGE, run=lambda *a, **k: wrapped, code=source, md=md, **options)


# ---------------------------------------------------------------- MkDocs events


def on_config(config):
    snippets = config.mdx_configs.get("pymdownx.snippets", {})
    if "pymdownx.snippets" not in config.markdown_extensions or snippets.get("check_paths") is not True:
        raise PluginError("mkdocs.yml: pymdownx.snippets must be enabled with check_paths: true")
    superfences = config.mdx_configs.setdefault("pymdownx.superfences", {})
    fences = [f for f in superfences.get("custom_fences", []) if f.get("name") not in PYTHON]
    fences += [{"name": name, "class": "python", "validator": validate, "format": format_block} for name in PYTHON]
    superfences["custom_fences"] = fences

    STATE.fingerprint = environment_fingerprint()
    STATE.report = {"executed": [], "cached": []}
    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        if jupyter.config.get("allow_errors") is not False:
            raise PluginError("mkdocs.yml: mkdocs-jupyter must set allow_errors: false")
        hasher = hashlib.sha256(STATE.fingerprint.encode())
        _hash_files(hasher, [f for f in (ROOT / "snippets").rglob("*") if f.is_file() and "__pycache__" not in f.parts])
        folder = cache_dir() / "jupyter" / hasher.hexdigest()[:16]
        stamp = folder.parent / f"{folder.name}.verified.json"  # not inside: mkdocs-jupyter evicts strangers
        for stale in folder.parent.glob("*"):
            if stale not in (folder, stamp):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
        jupyter.config["cache_dir"] = str(folder)
        # mkdocs-jupyter executes notebooks whose outputs are not in this folder yet: record when.
        if not stamp.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps(verified_with()), encoding="utf-8")
        STATE.notebook_verified = json.loads(stamp.read_text(encoding="utf-8"))
    notebooks = notebooks_tool()
    STATE.verified = {}
    STATE.repository, STATE.branch = notebooks.repository(), notebooks.branch()
    if not notebooks.colab_url(STATE.repository, STATE.branch, "downloads/x.ipynb"):
        log.info("exec: no Colab links: no GitHub repository known (REPO_URL, or the clone's origin remote)")
    STATE.install = notebooks.reader_wheel.install_command(config.site_url or "")
    return config


# ---------------------------------------------------------------- page tools


def notebooks_tool():
    """tools/notebooks.py, which imports this module (so it cannot be imported at the top)."""
    folder = str(Path(__file__).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import notebooks

    return notebooks


def verified_with() -> dict:
    """What a page's outputs are produced with: the versions that matter to a reader, and when."""
    return {
        "tensorflow": importlib.metadata.version("tensorflow"),
        "keras": importlib.metadata.version("keras"),
        "date": time.strftime("%Y-%m-%d"),
    }


def add_page_tools(html: str, page, verified: dict) -> str:
    """Below the page title: download the page as a notebook, open it in Colab, and the
    line that says which TensorFlow and Keras produced the outputs, and when."""
    from mkdocs.utils import get_relative_url

    notebooks = notebooks_tool()
    notebook = notebooks.notebook_of(page.file.src_uri)
    # mkdocs-jupyter (include_source) copies a notebook page's file into the page's own folder.
    href = Path(notebook).name if notebook == page.file.src_uri else get_relative_url(notebook, page.url)
    links = [f'<a class="md-button" href="{href}" download>Download notebook</a>']
    colab = notebooks.colab_url(STATE.repository, STATE.branch, notebook)
    if colab:
        links.append(f'<a class="md-button" href="{colab}">Open in Colab</a>')
    tools = (
        f'<div class="page-tools">{" ".join(links)}'
        f'<p class="install">Outside a clone of this site, first install what the code imports: '
        f'<code>{html_escape(STATE.install)}</code></p>'
        f'<p class="verified">Verified with TensorFlow {verified["tensorflow"]}, Keras {verified["keras"]} '
        f'on {verified["date"]}.</p></div>'
    )
    title_end = html.find("</h1>")
    return tools + html if title_end < 0 else html[: title_end + 5] + tools + html[title_end + 5 :]


@dataclass
class Prepared:
    """A page's blocks with the values its prose asks for, and where its outputs are cached."""

    blocks: list[Block]
    places: list
    key: str
    stem: str

    @property
    def record(self) -> Path:
        return cache_dir() / f"{self.stem}.{self.key[:20]}.json"


def prepare(markdown: str, name: str) -> Prepared | None:
    blocks = python_blocks(markdown, name)
    if not blocks:
        return None
    blocks, places = prose_values(markdown, blocks)
    return Prepared(blocks, places, page_key(blocks, STATE.fingerprint), re.sub(r"[^\w.-]", "_", name))


def timed_execute(blocks: list[Block]) -> tuple[list, float]:
    start = time.perf_counter()
    outputs = execute(blocks)
    return outputs, round(time.perf_counter() - start, 1)


def jobs() -> int:
    """How many pages execute at once: CNN_TUTORIAL_JOBS, else one per core."""
    return max(1, int(os.environ.get("CNN_TUTORIAL_JOBS") or os.cpu_count() or 1))


def on_files(files, config):  # noqa: ARG001
    """Start executing every page whose outputs are not cached, `jobs()` at a time, before MkDocs
    renders the first page; each page then waits for its own run (or runs itself, if its
    Markdown changed meanwhile). Pages execute in fresh processes, so they cannot disturb
    each other; only their wall-clock timings are longer while others run."""
    STATE.pending = {}
    if jobs() < 2:
        return files
    STATE.pool = ThreadPoolExecutor(jobs(), thread_name_prefix="exec")
    for file in files.documentation_pages():
        if not file.src_uri.endswith(".md"):
            continue
        try:
            prepared = prepare(Path(file.abs_src_path).read_text(encoding="utf-8-sig"), file.src_uri)
        except PluginError:
            continue  # reported, with the page, when MkDocs renders it
        if prepared is not None and not prepared.record.is_file():
            STATE.pending[file.src_uri] = (prepared.key, STATE.pool.submit(timed_execute, prepared.blocks))
    return files


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001
    name = page.file.src_uri
    STATE.current = None
    prepared = prepare(markdown, name)
    if prepared is None:
        return markdown
    blocks, places, key, record = prepared.blocks, prepared.places, prepared.key, prepared.record
    if record.is_file():
        data = json.loads(record.read_text(encoding="utf-8"))
        STATE.current = PageRun(name, blocks, [b["output"] for b in data["blocks"]])
        STATE.verified[name] = data["verified"]
        STATE.report["cached"].append(name)
        log.info("exec: %s: %d blocks from cache", name, len(blocks))
        return fill_values(markdown, places, [b["values"] for b in data["blocks"]])
    pending_key, future = STATE.pending.pop(name, (None, None))
    if future is not None and pending_key == key:
        outputs, seconds = future.result()
    else:
        for module in [m for m in sys.modules if m == "snippets" or m.startswith("snippets.")]:
            del sys.modules[module]  # `mkdocs serve` must not keep old snippet code
        outputs, seconds = timed_execute(blocks)
    log.info("exec: %s: executed %d blocks in %.1f s", name, len(blocks), seconds)
    record.parent.mkdir(parents=True, exist_ok=True)
    for stale in record.parent.glob(f"{prepared.stem}.*.json"):
        stale.unlink()
    payload = {
        "page": name,
        "key": key,
        "seconds": seconds,
        "verified": verified_with(),
        "blocks": [{"label": b.label, "line": b.line, "code": b.code, "output": o, "values": v}
                   for b, (o, v) in zip(blocks, outputs)],
    }
    record.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    STATE.current = PageRun(name, blocks, [o for o, _ in outputs])
    STATE.verified[name] = payload["verified"]
    STATE.report["executed"].append(name)
    return fill_values(markdown, places, [v for _, v in outputs])


def stop_pending() -> None:
    if STATE.pool is not None:
        STATE.pool.shutdown(wait=False, cancel_futures=True)
        STATE.pool = None


def on_build_error(error):  # noqa: ARG001
    stop_pending()  # pages not yet started are not started; running ones finish


def on_page_content(html, page, config, files):  # noqa: ARG001
    run = STATE.current
    if run is not None and run.position != len(run.blocks):
        raise PluginError(f"{run.page}: {len(run.blocks)} Python blocks found but {run.position} rendered")
    STATE.current = None
    name = page.file.src_uri
    if name.endswith(".ipynb"):  # mkdocs-jupyter's MathJax loader: an empty src and its settings
        html = NOTEBOOK_MATHJAX.sub("", html)
    verified = STATE.verified.get(name) or (STATE.notebook_verified if name.endswith(".ipynb") else None)
    return html if verified is None else add_page_tools(html, page, verified)


NOTEBOOK_MATHJAX = re.compile(
    r'<!-- Load mathjax -->\s*<script src="[^"]*">\s*</script>\s*<!-- MathJax configuration -->\s*'
    r'<script type="text/x-mathjax-config">.*?</script>',
    re.S,
)


def on_post_build(config):
    stop_pending()
    reader_wheel = notebooks_tool().reader_wheel
    wheel = Path(config.site_dir) / "downloads" / reader_wheel.wheel_name()
    wheel.parent.mkdir(parents=True, exist_ok=True)
    sample = os.environ.get("CNN_TUTORIAL_DATA", SETTING_DEFAULTS["CNN_TUTORIAL_DATA"]) != "full"
    wheel.write_bytes(reader_wheel.build_wheel(sample=sample))
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "build-report.json").write_text(json.dumps(STATE.report, indent=1), encoding="utf-8")
    log.info("exec: %d pages executed, %d from cache", len(STATE.report["executed"]), len(STATE.report["cached"]))
