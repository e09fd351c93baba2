"""Every reading path through a page's content tabs runs on its own.

The build runs all of a page's blocks, tabs included; a reader runs only the tab
they clicked. A name that only one tab defines (an import, a variable) breaks the
blocks after the tab group for the reader who chose the other tab. So for every
page whose Python blocks sit in content tabs, the blocks of "always the first tab"
(NumPy, say) and of "always the second tab" (Keras) must run in a fresh Python.

Also: a Keras global setting (`keras.config.set_floatx`) that later blocks rely on
must be visible to every reader, and said on the page.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.blocks import FENCE, Block, python_blocks
from tools.runner import worker_environment

from conftest import ROOT

DOCS = ROOT / "docs"
# `=== "Title"` starts a tab; `===+` opens it first, `===!` starts a new group (pymdownx.tabbed).
TAB = re.compile(r'^(?P<indent>[ \t]*)===(?P<flag>[+!]?)[ \t]+"(?P<title>[^"]*)"[ \t]*$')
PATHS = {"first tab": 0, "second tab": 1}  # "only NumPy" and "only Keras"


@dataclass(frozen=True)
class Tab:
    """One tab: its group (numbered in page order), its position in the group, its title."""

    group: int
    index: int
    title: str


def indentation(line: str) -> int:
    """How deep a line is indented, a tab counting as 4 spaces as in Python-Markdown."""
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def tab_chains(markdown: str) -> tuple[dict[int, tuple[Tab, ...]], dict[int, int]]:
    """For each line (1-based) the tabs it sits in, outermost first; and each group's tab count.

    A tab's content is the lines indented deeper than its `===` line. Tabs at one
    indentation form one group when nothing at that indentation or shallower stands
    between them; lines inside code fences are content, never tab headers.
    """
    fenced = set()
    for fence in FENCE.finditer(markdown):
        first = markdown.count("\n", 0, fence.start()) + 1
        fenced |= set(range(first + 1, first + fence[0].count("\n") + 1))
    chains, sizes, open_tabs = {}, {}, []  # open_tabs: (indentation, Tab), outermost first
    for number, line in enumerate(markdown.splitlines(), start=1):
        if line.strip() and number not in fenced:
            depth = indentation(line)
            closed = [(indent, tab) for indent, tab in open_tabs if indent >= depth]
            open_tabs = open_tabs[: len(open_tabs) - len(closed)]
            header = TAB.match(line)
            if header:
                joins = closed and closed[0][0] == depth and header["flag"] != "!"  # the tab just closed
                group, index = (closed[0][1].group, closed[0][1].index + 1) if joins else (len(sizes), 0)
                tab = Tab(group, index, header["title"])
                sizes[tab.group] = tab.index + 1
                open_tabs.append((depth, tab))
        chains[number] = tuple(tab for _, tab in open_tabs)
    return chains, sizes


def reading_path(markdown: str, blocks: list[Block], choice: int) -> list[Block]:
    """The blocks a reader runs who picks tab `choice` of every group (its last tab if it has fewer):
    every block outside tabs, and those of the chosen tabs, in page order."""
    chains, sizes = tab_chains(markdown)
    return [b for b in blocks if all(tab.index == min(choice, sizes[tab.group] - 1) for tab in chains[b.line])]


def tabbed_pages() -> list[str]:
    """The pages with at least one executed Python block inside a content tab."""
    pages = []
    for file in sorted(DOCS.glob("*.md")):
        markdown = file.read_text(encoding="utf-8")
        chains, _ = tab_chains(markdown)
        if any(chains[b.line] for b in python_blocks(markdown, file.name)):
            pages.append(file.name)
    return pages


TABBED = tabbed_pages()


def run_blocks(blocks: list[Block], folder: Path) -> subprocess.CompletedProcess:
    """The blocks pasted, in order, into one script, run in a fresh Python in a folder of its own."""
    script = folder / "path.py"
    script.write_text("\n\n".join(b.code for b in blocks) + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=folder, env=worker_environment(), capture_output=True, text=True, timeout=900
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("page", TABBED)
def test_each_reading_path_through_the_tabs_runs(page, path, tmp_path):
    markdown = (DOCS / page).read_text(encoding="utf-8")
    blocks = reading_path(markdown, python_blocks(markdown, page), PATHS[path])
    run = run_blocks(blocks, tmp_path)
    if run.returncode:
        pytest.fail(
            f"{page}, always the {path}: the blocks at lines {[b.line for b in blocks]} "
            f"fail when run alone:\n{run.stderr[-3000:]}"
        )


# ---------------------------------------------------------------- a global setting, said where it is set

SETS_FLOATX = re.compile(r"\bset_floatx\(")
RELIES = re.compile(r"#.*\blater blocks\b")
SAYS_GLOBAL = re.compile(r"later blocks?|rest of the (?:page|Python session|session)", re.I)


def paragraphs(text: str) -> list[str]:
    """The text's paragraphs: what blank lines separate."""
    return [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def floatx_problems(markdown: str, page: str, root: Path = ROOT) -> list[str]:
    """What a reader could miss about a block that changes Keras's floatx for the blocks after it.

    Such a block must sit outside tabs (every reader runs it), the line that sets it
    must say in a comment that later blocks rely on it, and the prose next to the
    block must name `set_floatx` and say it lasts. A block that sets floatx back
    before it ends (a second call) leaves nothing behind and needs none of this.
    """
    chains, _ = tab_chains(markdown)
    fences = {markdown.count("\n", 0, f.start()) + 1: f for f in FENCE.finditer(markdown)}
    starts = sorted(fences)
    problems = []
    for block in python_blocks(markdown, page, root):
        calls = [line for line in block.code.splitlines() if SETS_FLOATX.search(line)]
        if len(calls) != 1:
            continue  # never set, or set and restored
        where = f"{page}:{block.line} ({block.label})"
        if chains[block.line]:
            problems.append(
                f"{where}: sets floatx inside the tab {chains[block.line][-1].title!r}; "
                "readers of the other tabs never run it"
            )
        if not RELIES.search(calls[0]):
            problems.append(f"{where}: the set_floatx line has no comment saying that later blocks rely on it")
        index = starts.index(block.line)
        previous_end = fences[starts[index - 1]].end() if index else 0
        next_start = fences[starts[index + 1]].start() if index + 1 < len(starts) else len(markdown)
        before = markdown[previous_end : fences[block.line].start()]
        after = markdown[fences[block.line].end() : next_start]
        prose = "\n".join(paragraphs(before)[-1:] + paragraphs(after)[:1])  # the paragraphs either side
        if "set_floatx" not in prose or not SAYS_GLOBAL.search(prose):
            problems.append(f"{where}: the prose next to the block does not say that set_floatx lasts for later blocks")
    return problems


def test_a_page_that_changes_keras_floatx_says_so_where_it_does():
    pages = {file.name: file.read_text(encoding="utf-8") for file in sorted(DOCS.glob("*.md"))}
    setting = [
        page
        for page, markdown in pages.items()
        if "set_floatx" in "".join(b.code for b in python_blocks(markdown, page))
    ]
    assert "gradient_descent.md" in setting  # the check below is not vacuous
    assert [p for page in setting for p in floatx_problems(pages[page], page)] == []


# ---------------------------------------------------------------- the tab parser itself

MADE_UP = """\
Intro.

```python
--8<-- "snippets/demo.py:setup"
```

=== "NumPy"

    Text of the first tab.

    ```python
    --8<-- "snippets/demo.py:numpy"
    ```

=== "Keras"

    ```python
    --8<-- "snippets/demo.py:keras"
    ```

    === "Inner A"

        ```python
        --8<-- "snippets/demo.py:inner-a"
        ```

    === "Inner B"

        Only text.

Between the groups.

```text
=== "Not a tab: inside a fence"
```

=== "Alone"

    ```python
    --8<-- "snippets/demo.py:alone"
    ```

Prose at the tabs' indentation ends a group.

=== "A"

    ```python
    --8<-- "snippets/demo.py:a"
    ```

===! "B, a group of its own"

    ```python
    --8<-- "snippets/demo.py:b"
    ```

??? success "An admonition is not a tab"

    ```python
    --8<-- "snippets/demo.py:after"
    ```
"""
SECTIONS = ["setup", "numpy", "keras", "inner-a", "alone", "a", "b", "after"]


@pytest.fixture
def made_up_blocks(tmp_path):
    """The made-up page's blocks, each section printing its own name."""
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "demo.py").write_text(
        "".join(f"# --8<-- [start:{s}]\nprint({s!r})\n# --8<-- [end:{s}]\n" for s in SECTIONS), encoding="utf-8"
    )
    return python_blocks(MADE_UP, "made-up.md", root=tmp_path)


def test_the_tab_parser_finds_groups_tabs_and_nesting(made_up_blocks):
    chains, sizes = tab_chains(MADE_UP)
    where = {b.targets[0].split(":")[1]: [(t.group, t.index, t.title) for t in chains[b.line]] for b in made_up_blocks}
    assert where == {
        "setup": [],
        "numpy": [(0, 0, "NumPy")],
        "keras": [(0, 1, "Keras")],
        "inner-a": [(0, 1, "Keras"), (1, 0, "Inner A")],
        "alone": [(2, 0, "Alone")],
        "a": [(3, 0, "A")],
        "b": [(4, 0, "B, a group of its own")],  # `===!` starts a group even right after a tab
        "after": [],
    }
    assert sizes == {0: 2, 1: 2, 2: 1, 3: 1, 4: 1}


def test_a_reading_path_takes_the_ith_tab_or_the_last(made_up_blocks):
    def names(choice):
        return [b.code for b in reading_path(MADE_UP, made_up_blocks, choice)]

    common = ["print('alone')", "print('a')", "print('b')", "print('after')"]  # one-tab groups: always read
    assert names(0) == ["print('setup')", "print('numpy')", *common]
    assert names(1) == ["print('setup')", "print('keras')", *common]
    # "inner-a" sits in Keras (tab 1) and in Inner A (tab 0): no single-index path reads it
    assert "print('inner-a')" not in names(0) + names(1)


def test_the_pages_with_code_in_tabs_are_found():
    assert {"gradient_descent.md", "pooling.md", "softmax.md"} <= set(TABBED)


FLOATX_PAGES = {
    "in a tab, silent": """\
=== "NumPy"

    ```python
    --8<-- "snippets/demo.py:numpy"
    ```

=== "Keras"

    ```python
    --8<-- "snippets/demo.py:silent"
    ```

Later text.
""",
    "said": """\
Keras computes in float32; `keras.config.set_floatx` switches the rest of the
page to float64, and every later block relies on it.

```python
--8<-- "snippets/demo.py:said"
```
""",
    "restored": """\
```python
--8<-- "snippets/demo.py:restored"
```
""",
}
FLOATX_CODE = {
    "numpy": 'print("numpy")',
    "silent": 'keras.config.set_floatx("float64")',
    "said": 'keras.config.set_floatx("float64")  # global: later blocks on this page rely on it',
    "restored": 'keras.config.set_floatx("float64")\nprint(1)\nkeras.config.set_floatx("float32")',
}


def test_the_floatx_check_finds_a_hidden_setting_and_accepts_a_visible_or_restored_one(tmp_path):
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "demo.py").write_text(
        "".join(f"# --8<-- [start:{s}]\n{code}\n# --8<-- [end:{s}]\n" for s, code in FLOATX_CODE.items()),
        encoding="utf-8",
    )
    found = {name: floatx_problems(page, "made-up.md", root=tmp_path) for name, page in FLOATX_PAGES.items()}
    assert [p.split(": ", 1)[1].split(";")[0] for p in found["in a tab, silent"]] == [
        "sets floatx inside the tab 'Keras'",
        "the set_floatx line has no comment saying that later blocks rely on it",
        "the prose next to the block does not say that set_floatx lasts for later blocks",
    ]
    assert found["said"] == found["restored"] == []
