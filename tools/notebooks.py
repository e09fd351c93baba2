"""Every tutorial page as a Jupyter notebook: its prose and its code, in order.

The notebooks are generated, never edited: a page's code cells are the snippet
sections the page includes, its Markdown cells are the page's prose. They are
committed under docs/downloads/ (and notebook pages under docs/notebooks/, which
mkdocs-jupyter renders) so that the site can offer them for download and
Colab can open them from the repository; `python tools/notebooks.py` rewrites
them and `python tools/notebooks.py --check` (run by the tests) fails when one is
out of date.

Sources: every page of docs/ with Python blocks, and the notebook-only pages in
notebooks/*.md (Markdown written like a page, e.g. the whole MNIST workflow).
The first cell of every notebook sets up what the code needs: in a clone set up
with `make setup` nothing; elsewhere, e.g. in Colab, it installs this tutorial's
package from the repository named in pyproject.toml ([tool.cnn-tutorial]).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exec_hook import FENCE, PYTHON, ROOT, VALUE, python_blocks  # noqa: E402

DOCS = ROOT / "docs"
CONTAINER = re.compile(r'^(?P<indent>[ \t]*)(?:(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?|===\+?[ \t]+"(?P<tab>[^"]*)")[ \t]*$')
PAGE_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?!https?:)(?:\.\./)?(?P<page>[\w/-]+)\.md(?P<anchor>#[^)\s]*)?\)")
ATTR_LIST = re.compile(r"[ \t]*\{[ \t]*[.#:][^}\n]*\}")
ABBREVIATION = re.compile(r"^\*\[[^\]]+\]:.*$", re.M)


def settings() -> dict:
    """[tool.cnn-tutorial] of pyproject.toml: `repository`, the GitHub URL of this project."""
    path = ROOT / "pyproject.toml"
    if not path.is_file():
        return {}
    with open(path, "rb") as file:
        return tomllib.load(file).get("tool", {}).get("cnn-tutorial", {})


def repository() -> str:
    return settings().get("repository", "").rstrip("/")


def site_url(repo: str) -> str:
    """Where GitHub Pages publishes `repo` (https://github.com/OWNER/NAME)."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repo)
    return f"https://{match[1].lower()}.github.io/{match[2]}/" if match else ""


def colab_url(repo: str, notebook: str) -> str:
    """Colab opens notebooks straight from a GitHub repository; notebook: path under docs/."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", repo)
    return f"https://colab.research.google.com/github/{match[1]}/blob/main/docs/{notebook}" if match else ""


def setup_code(repo: str) -> str:
    lines = [
        "# Setup: this notebook uses the tutorial's `snippets` package (code and offline data).",
        "# A clone of the repository set up with `make setup` has it; elsewhere, e.g. in Colab,",
    ]
    if repo:
        lines += [
            "# this cell installs it, and uses full MNIST (downloaded by Keras) instead of the sample.",
            "import importlib.util",
            "import os",
            "",
            'if importlib.util.find_spec("snippets") is None:',
            f'    %pip install --quiet "cnn-tutorial @ git+{repo}"',
            '    os.environ.setdefault("CNN_TUTORIAL_DATA", "full")',
        ]
    else:
        lines += [
            "# clone the repository, run `make setup`, and start Jupyter from its .venv.",
            "import importlib.util",
            "",
            'if importlib.util.find_spec("snippets") is None:',
            '    raise ModuleNotFoundError("this notebook needs the cnn-tutorial repository: clone it and run `make setup`")',
        ]
    return "\n".join(lines)


def cell(kind: str, text: str) -> dict:
    lines = text.splitlines(keepends=True)
    if kind == "markdown":
        return {"cell_type": "markdown", "metadata": {}, "source": lines}
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": lines}


def page_link(match: re.Match, base_url: str) -> str:
    """A link to a page of the site, from a notebook: the published URL when it is known;
    in a notebook page of the site (docs/notebooks/), the path from there; else the text only."""
    page = "" if match["page"] == "index" else match["page"] + "/"
    if base_url:
        return f"[{match['text']}]({base_url}{page}{match['anchor'] or ''})"
    return match["text"]


def prose(text: str, base_url: str) -> str:
    """A page's Markdown between code blocks, without Material-only syntax: admonitions and
    tabs become bold headings over their (dedented) content, links to pages become URLs
    below base_url (or plain text without one), and a value the site's build put in the
    prose ({{ expression }}) becomes the expression, which the notebook's own run computes."""
    out, stack = [], []  # stack: the indentation of the containers we are in
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        while stack and line.strip() and indent < stack[-1]:
            stack.pop()
        depth = stack[-1] if stack else 0
        container = CONTAINER.match(line)
        if container:
            title = container["tab"] or container["title"] or container["kind"].capitalize()
            out += [f"**{title}**", ""]
            stack.append(len(container["indent"]) + 4)
            continue
        out.append(line[depth:] if line[:depth].strip() == "" else line.lstrip())
    text = ABBREVIATION.sub("", "\n".join(out))
    text = ATTR_LIST.sub("", text)
    text = PAGE_LINK.sub(lambda m: page_link(m, base_url), text)
    text = VALUE.sub(lambda m: f"`{m['expression']}`", text)  # the value the reader's own run computed
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def notebook(markdown: str, page: str, repo: str) -> dict:
    """The notebook of one page: a setup cell, then the page's prose and code in order."""
    blocks = iter(python_blocks(markdown, page))
    base = site_url(repo) or ("../../" if page.startswith("notebooks/") else "")  # the site's notebook pages
    cells, position = [cell("code", setup_code(repo))], 0
    for fence in FENCE.finditer(markdown):
        if fence["lang"].lower() not in PYTHON:
            continue
        text = prose(markdown[position:fence.start()], base)
        cells += [cell("markdown", text)] if text else []
        cells.append(cell("code", next(blocks).code))
        position = fence.end()
    text = prose(markdown[position:], base)
    cells += [cell("markdown", text)] if text else []
    first = "".join(cells[1]["source"]) if len(cells) > 1 and cells[1]["cell_type"] == "markdown" else ""
    if first.startswith("# "):  # the title comes before the setup cell
        title, _, rest = first.partition("\n")
        cells[:2] = [cell("markdown", title), cells[0]] + ([cell("markdown", rest.strip())] if rest.strip() else [])
    for number, each in enumerate(cells):
        each["id"] = f"cell-{number:03d}"  # nbformat 4.5 wants ids; stable ones keep diffs small
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def sources() -> dict[str, Path]:
    """Notebook (path under docs/) -> the Markdown it is made from: downloads/PAGE.ipynb for
    every page with code, notebooks/NAME.ipynb (a page of its own) for notebooks/NAME.md."""
    pages = {f"downloads/{p.stem}.ipynb": p for p in sorted(DOCS.glob("*.md"))
             if python_blocks(p.read_text(encoding="utf-8"), p.name)}
    return pages | {f"notebooks/{p.stem}.ipynb": p for p in sorted((ROOT / "notebooks").glob("*.md"))}


def notebook_of(page_src: str) -> str:
    """The notebook (path under docs/) that holds the code of a page (its path under docs/)."""
    if page_src.endswith(".ipynb"):
        return page_src
    return f"downloads/{Path(page_src).stem}.ipynb"


def render(path: Path, repo: str) -> str:
    page = path.relative_to(ROOT).as_posix()
    return json.dumps(notebook(path.read_text(encoding="utf-8"), page, repo), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: python tools/notebooks.py [--check]", file=sys.stderr)
        return 2
    repo, stale = repository(), []
    wanted = sources()
    for name, path in wanted.items():
        target, text = DOCS / name, render(path, repo)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    existing = [p.relative_to(DOCS).as_posix() for folder in ("downloads", "notebooks") for p in (DOCS / folder).glob("*.ipynb")]
    extra = sorted(set(existing) - set(wanted))
    if check and (stale or extra):
        print(f"out of date: {stale}; without a source: {extra}. Run: python tools/notebooks.py", file=sys.stderr)
        return 1
    for name in [] if check else extra:
        (DOCS / name).unlink()
    print(f"{len(wanted)} notebooks: {len(stale)} rewritten" + (f", {len(extra)} removed" if extra and not check else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
