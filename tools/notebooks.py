"""Every tutorial page as a Jupyter notebook: its prose and its code, in order.

The notebooks are generated, never edited: a page's code cells are the snippet
sections the page includes, its Markdown cells are the page's prose. They are
committed under docs/downloads/ (and notebook pages under docs/notebooks/, which
mkdocs-jupyter renders) so that the site can offer them for download and
Colab can open them from the repository; `python -m tools.notebooks` rewrites
them and `python -m tools.notebooks --check` (run by the tests) fails when one is
out of date.

Sources: every page of docs/ with Python blocks, and the notebook-only pages in
notebooks/*.md (Markdown written like a page, e.g. the whole MNIST workflow).
The first cell of every notebook sets up what the code needs: in a clone set up
with `make setup`, or where the package is installed, nothing; elsewhere (Colab, a
downloaded notebook) it writes the `snippets` modules the notebook imports beside
it. So a notebook needs no repository URL, no install and no setting, and it
cannot go stale: the check below fails when a module it carries has changed.
Links to other pages become their text: the notebooks are the same for every fork.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

from snippets.dependencies import snippet_dependencies
from tools import reader_wheel
from tools.blocks import FENCE, PYTHON, ROOT, VALUE, python_blocks

DOCS = ROOT / "docs"
CONTAINER = re.compile(
    r'^(?P<indent>[ \t]*)(?:(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?'
    r'|===\+?[ \t]+"(?P<tab>[^"]*)")[ \t]*$'
)
PAGE_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?!https?:)(?:\.\./)?(?P<page>[\w/-]+)\.md(?P<anchor>#[^)\s]*)?\)")
ATTR_LIST = re.compile(r"[ \t]*\{[ \t]*[.#:][^}\n]*\}")
ABBREVIATION = re.compile(r"^\*\[[^\]]+\]:.*$", re.M)


def helper_files(blocks: list) -> dict[str, str]:
    """What the notebook's code imports from `snippets`: the modules its blocks include and
    every module they import, transitively, and the package data those modules name (their
    stored results, the notes' programs). Not the offline sample (2.5 MB): without it the
    data is full MNIST, which Keras downloads."""
    included = {ROOT / t.partition(":")[0] for b in blocks for t in b.targets}
    modules = snippet_dependencies(included | {ROOT / "snippets" / "__init__.py"})
    modules = sorted(f for f in modules if f.suffix == ".py")
    code = "".join(f.read_text(encoding="utf-8") for f in modules)

    def named(file: Path) -> bool:
        return file.name in code or (file.parent.name != "snippets" and file.parent.name in code)

    data = [ROOT / f for f in reader_wheel.package_files(sample=False) if not f.endswith(".py") and named(Path(f))]
    return {f.relative_to(ROOT).as_posix(): f.read_text(encoding="utf-8") for f in modules + data}


def literal(text: str) -> str:
    """`text` as a Python literal a reader can read: a raw triple-quoted string where that
    holds it exactly, else repr."""
    if "'''" not in text and not text.endswith(("'", "\\")) and "\r" not in text:
        return "r'''" + text + "'''"
    return repr(text)


def setup_code(files: dict[str, str]) -> str:
    """The first code cell: writes the helper modules beside the notebook unless a `snippets`
    package is installed already (a clone set up with `make setup`, or `pip install`)."""
    entries = "".join(f"    {name!r}: {literal(text)},\n" for name, text in files.items())
    return (
        "#@title Setup: the tutorial's helper modules (run this cell first)\n"
        "# The code below imports the tutorial's `snippets` package. A clone of its repository has\n"
        "# it; elsewhere (Colab, a downloaded notebook) this cell writes the modules it needs into\n"
        "# ./snippets/. Its data is then full MNIST, which Keras downloads (11 MB) the first time.\n"
        "import importlib.util\n"
        "from pathlib import Path\n\n"
        f"FILES = {{\n{entries}}}\n"
        'found = importlib.util.find_spec("snippets")\n'
        'if found is None or Path("snippets").resolve() in map(Path, found.submodule_search_locations or []):\n'
        "    for name, text in FILES.items():\n"
        "        Path(name).parent.mkdir(parents=True, exist_ok=True)\n"
        '        Path(name).write_text(text, encoding="utf-8")\n'
        "    importlib.invalidate_caches()\n"
    )


def cell(kind: str, text: str, **metadata) -> nbformat.NotebookNode:
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    return make(text, metadata=metadata)


# Colab shows the setup cell as its title (a form), Jupyter collapses its code, and the
# site's notebook pages (mkdocs.yml: mkdocs-jupyter remove_tag_config) leave its code out.
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": ["setup"]}


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


def notebook(markdown: str, page: str) -> nbformat.NotebookNode:
    """The notebook of one page: a setup cell, then the page's prose and code in order."""
    blocks = python_blocks(markdown, page)
    base = "../../" if page.startswith("notebooks/") else ""  # the site's notebook pages link to pages
    cells, position, code = [cell("code", setup_code(helper_files(blocks)), **SETUP_METADATA)], 0, iter(blocks)
    for fence in FENCE.finditer(markdown):
        if fence["lang"].lower() not in PYTHON:
            continue
        text = prose(markdown[position : fence.start()], base)
        cells += [cell("markdown", text)] if text else []
        cells.append(cell("code", next(code).code))
        position = fence.end()
    text = prose(markdown[position:], base)
    cells += [cell("markdown", text)] if text else []
    first = cells[1].source if len(cells) > 1 and cells[1].cell_type == "markdown" else ""
    if first.startswith("# "):  # the title comes before the setup cell
        title, _, rest = first.partition("\n")
        cells[:2] = [cell("markdown", title), cells[0]] + ([cell("markdown", rest.strip())] if rest.strip() else [])
    for number, each in enumerate(cells):
        each.id = f"cell-{number:03d}"  # stable ids keep diffs small
    nb = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    return nb


def execute_notebook(
    nb: nbformat.NotebookNode, folder: Path, env: dict, *, kernel_manager=None, timeout: int = 900
) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel started in `folder` (the kernel
    manager's, else the default Python 3 kernel); its outputs are filled in."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, km=kernel_manager, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env)
    return nb


def sources() -> dict[str, Path]:
    """Notebook (path under docs/) -> the Markdown it is made from: downloads/PAGE.ipynb for
    every page with code, notebooks/NAME.ipynb (a page of its own) for notebooks/NAME.md."""
    pages = {
        f"downloads/{p.stem}.ipynb": p
        for p in sorted(DOCS.glob("*.md"))
        if python_blocks(p.read_text(encoding="utf-8"), p.name)
    }
    return pages | {f"notebooks/{p.stem}.ipynb": p for p in sorted((ROOT / "notebooks").glob("*.md"))}


def render(path: Path) -> str:
    page = path.relative_to(ROOT).as_posix()
    return nbformat.writes(notebook(path.read_text(encoding="utf-8"), page)) + "\n"


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        print("usage: python -m tools.notebooks [--check]", file=sys.stderr)
        return 2
    stale = []
    wanted = sources()
    for name, path in wanted.items():
        target, text = DOCS / name, render(path)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    existing = [
        p.relative_to(DOCS).as_posix() for folder in ("downloads", "notebooks") for p in (DOCS / folder).glob("*.ipynb")
    ]
    extra = sorted(set(existing) - set(wanted))
    if check and (stale or extra):
        print(f"out of date: {stale}; without a source: {extra}. Run: python -m tools.notebooks", file=sys.stderr)
        return 1
    for name in [] if check else extra:
        (DOCS / name).unlink()
    print(
        f"{len(wanted)} notebooks: {len(stale)} rewritten" + (f", {len(extra)} removed" if extra and not check else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
