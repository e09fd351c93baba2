"""MkDocs hook: connects MkDocs' events to the steps of the page pipeline.

The steps, one module each in this package:

1. tools/blocks.py finds a page's Python blocks (includes of `snippets/` sections,
   nothing else) and the values its prose asks for;
2. tools/keys.py keys them on everything that can change their outputs;
3. tools/runner.py runs them, in order, in one fresh Python (pages not cached run
   `runner.jobs()` at a time, started before MkDocs renders the first page);
4. tools/render.py renders each block with its recorded output, and the values;
5. tools/page_tools.py says what the page offers under its title (the theme shows it).

tools/jupyter.py holds what the site changes about mkdocs-jupyter, and
tools/reader_wheel.py builds the package a reader installs outside a clone.
MkDocs loads this file by path; run it as `python -m mkdocs` from the repository
root (the Makefile does), so that the `tools` and `snippets` packages import.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.exceptions import PluginError

from tools import draw_assets, jupyter, page_tools, reader_wheel, render, runner
from tools.blocks import PYTHON, Block, prose_values, python_blocks
from tools.keys import cache_dir, data_source, environment_fingerprint, page_key, record_path, record_stem

log = logging.getLogger("mkdocs.hooks.exec")
TITLE = re.compile(r"\A\s*# (?P<title>[^\n]+)\n")


@dataclass
class Prepared:
    """A page's blocks with the values its prose asks for, and where its outputs are cached."""

    page: str
    blocks: list[Block]
    places: list
    key: str

    @property
    def record(self) -> Path:
        return record_path(self.page, self.key)


@dataclass
class BuildState:
    fingerprint: str = ""
    report: dict = field(default_factory=dict)
    repository: str = ""  # where Colab opens the notebooks from: the GitHub repository and branch
    branch: str = ""
    install: str = ""  # the one command that installs what the pages' code imports
    verified: dict = field(default_factory=dict)  # page -> what its outputs were produced with
    notebook_verified: dict | None = None
    pending: dict = field(default_factory=dict)  # page -> (key, future of its outputs and seconds)
    pool: ThreadPoolExecutor | None = None


STATE = BuildState()


def prepare(markdown: str, page: str) -> Prepared | None:
    blocks = python_blocks(markdown, page)
    if not blocks:
        return None
    blocks, places = prose_values(markdown, blocks)
    return Prepared(page, blocks, places, page_key(blocks, STATE.fingerprint))


def on_config(config):
    snippets = config.mdx_configs.get("pymdownx.snippets", {})
    if "pymdownx.snippets" not in config.markdown_extensions or snippets.get("check_paths") is not True:
        raise PluginError("mkdocs.yml: pymdownx.snippets must be enabled with check_paths: true")
    superfences = config.mdx_configs.setdefault("pymdownx.superfences", {})
    fences = [f for f in superfences.get("custom_fences", []) if f.get("name") not in PYTHON]
    fences += [
        {"name": n, "class": "python", "validator": render.validate, "format": render.format_block} for n in PYTHON
    ]
    superfences["custom_fences"] = fences

    STATE.fingerprint = environment_fingerprint()
    STATE.report = {"executed": [], "cached": []}
    STATE.verified = {}
    if config.plugins.get("mkdocs-jupyter") is not None:
        STATE.notebook_verified = jupyter.configure(config.plugins["mkdocs-jupyter"], STATE.fingerprint)
    STATE.repository, STATE.branch = page_tools.repository(), page_tools.branch()
    if not page_tools.colab_url(STATE.repository, STATE.branch, "downloads/x.ipynb"):
        log.info("exec: no Colab links: no GitHub repository known (REPO_URL, or the clone's origin remote)")
    STATE.install = reader_wheel.install_command(config.site_url or "")
    return config


def on_files(files, config):
    """Start executing every page whose outputs are not cached, `jobs()` at a time, before MkDocs
    renders the first page; each page then waits for its own run (or runs itself, if its
    Markdown changed meanwhile). Pages execute in fresh processes, so they cannot disturb
    each other; only their wall-clock timings are longer while others run."""
    STATE.pending = {}
    if runner.jobs() < 2:
        return files
    STATE.pool = ThreadPoolExecutor(runner.jobs(), thread_name_prefix="exec")
    for file in files.documentation_pages():
        if not file.src_uri.endswith(".md"):
            continue
        try:
            prepared = prepare(Path(file.abs_src_path).read_text(encoding="utf-8-sig"), file.src_uri)
        except PluginError:
            continue  # reported, with the page, when MkDocs renders it
        if prepared is not None and not prepared.record.is_file():
            STATE.pending[file.src_uri] = (prepared.key, STATE.pool.submit(runner.timed_execute, prepared.blocks))
    return files


def outputs_of(prepared: Prepared) -> tuple[list[str], list[list[str]]]:
    """Each block's rendered output and the values the prose shows: from the cache, from the
    run started in on_files, or from a run now."""
    name, record = prepared.page, prepared.record
    if record.is_file():
        data = json.loads(record.read_text(encoding="utf-8"))
        STATE.verified[name] = data["verified"]
        STATE.report["cached"].append(name)
        log.info("exec: %s: %d blocks from cache", name, len(prepared.blocks))
        return [b["output"] for b in data["blocks"]], [b["values"] for b in data["blocks"]]
    pending_key, future = STATE.pending.pop(name, (None, None))
    if future is not None and pending_key == prepared.key:
        outputs, seconds = future.result()
    else:
        for module in [m for m in sys.modules if m == "snippets" or m.startswith("snippets.")]:
            del sys.modules[module]  # `mkdocs serve` must not keep old snippet code
        outputs, seconds = runner.timed_execute(prepared.blocks)
    log.info("exec: %s: executed %d blocks in %.1f s", name, len(prepared.blocks), seconds)
    record.parent.mkdir(parents=True, exist_ok=True)
    for stale in record.parent.glob(f"{record_stem(name)}.*.json"):
        stale.unlink()
    payload = {
        "page": name,
        "key": prepared.key,
        "seconds": seconds,
        "verified": page_tools.verified_with(),
        "blocks": [
            {"label": b.label, "line": b.line, "code": b.code, "output": o, "values": v}
            for b, (o, v) in zip(prepared.blocks, outputs)
        ],
    }
    record.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    STATE.verified[name] = payload["verified"]
    STATE.report["executed"].append(name)
    return [o for o, _ in outputs], [v for _, v in outputs]


def on_page_markdown(markdown, page, config, files):
    name = page.file.src_uri
    render.CURRENT.run = None
    prepared = prepare(markdown, name)
    if prepared is None:
        return markdown
    outputs, values = outputs_of(prepared)
    render.CURRENT.run = render.PageRun(name, prepared.blocks, outputs)
    markdown = render.fill_values(markdown, prepared.places, values)
    title = TITLE.match(markdown)
    if title is None or title["title"].strip() != page.title:
        raise PluginError(
            f"{name}: a page with code starts with `# Title`, the same as its title in the "
            f"nav ({page.title!r}): the theme shows it, with the page's tools below it"
        )
    page.meta["tools"] = page_tools.page_tools(
        name, page.url, STATE.verified[name], repository=STATE.repository, branch=STATE.branch, install=STATE.install
    )
    page.meta.setdefault("title", title["title"].strip())  # what the theme shows, with the tools below
    return markdown[title.end() :]


def stop_pending() -> None:
    if STATE.pool is not None:
        STATE.pool.shutdown(wait=False, cancel_futures=True)
        STATE.pool = None


def on_build_error(error):
    stop_pending()  # pages not yet started are not started; running ones finish


def on_page_content(html, page, config, files):
    run = render.CURRENT.run
    if run is not None and run.position != len(run.blocks):
        raise PluginError(f"{run.page}: {len(run.blocks)} Python blocks found but {run.position} rendered")
    render.CURRENT.run = None
    name = page.file.src_uri
    if name.endswith(".ipynb"):
        html = jupyter.without_mathjax(html)
        if STATE.notebook_verified is not None:
            page.meta["tools"] = page_tools.page_tools(
                name,
                page.url,
                STATE.notebook_verified,
                install=STATE.install,
                repository=STATE.repository,
                branch=STATE.branch,
            )
    return html


def on_post_build(config):
    """Stop page runs no page waited for, write the build report, the reader's wheel and the
    Draw a digit page's model and runtime (tools/draw_assets.py)."""
    stop_pending()
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "build-report.json").write_text(json.dumps(STATE.report, indent=1), encoding="utf-8")
    log.info("exec: %d pages executed, %d from cache", len(STATE.report["executed"]), len(STATE.report["cached"]))
    wheel = Path(config.site_dir) / "downloads" / reader_wheel.wheel_name()
    wheel.parent.mkdir(parents=True, exist_ok=True)
    wheel.write_bytes(reader_wheel.build_wheel(sample=data_source() != "full"))
    draw_assets.build(Path(config.site_dir))
