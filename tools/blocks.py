"""Step 1 of the page pipeline: find a page's Python blocks and the values its prose asks for.

Every fenced Python block in `docs/` holds only includes of sections of `snippets/`
(``--8<-- "snippets/name.py:section"``), read here the way pymdownx.snippets reads
them, so that the code that runs is the code the page shows. Anything else in a
Python block fails the build, naming the page and the line.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*\{?[ \t]*\.?(?P<lang>[\w+-]*)(?P<info>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.M | re.S,
)
INCLUDE = re.compile(r'^[ \t]*-{1,}8<-{1,}[ \t]+"(?P<target>[^"]+)"[ \t]*$')
SECTION = re.compile(r"-{1,}8<-{1,}[ \t]+\[[ \t]*(?P<type>start|end)[ \t]*:[ \t]*(?P<name>[a-z][-_0-9a-z]*)[ \t]*\]")
PYTHON = {"python", "python3"}
# The source of a block is rendered as a `py` fence, which keeps the ordinary highlighter;
# pages must not use `py` fences themselves (they would escape execution).
SOURCE_LANGUAGE = "py"


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


def read_section(target: str, root: Path = ROOT, *, strip: bool = True) -> str:
    """The text of ``path:section`` (or of a whole file) as pymdownx.snippets includes it,
    dedented; without `strip`, with the blank lines it starts and ends with."""
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
    text = textwrap.dedent("\n".join(lines))
    return text.strip("\n") if strip else text


def python_blocks(markdown: str, page: str, root: Path = ROOT) -> list[Block]:
    """All Python fences of a page, checked to be includes of `snippets/` only."""
    blocks = []
    for fence in FENCE.finditer(markdown):
        line = markdown.count("\n", 0, fence.start()) + 1
        if fence["lang"].lower() == SOURCE_LANGUAGE:
            raise PluginError(f"{page}:{line}: write Python blocks as ```python (they are executed), not ```py")
        if fence["lang"].lower() not in PYTHON:
            continue
        body = [line for line in fence["body"].splitlines() if line.strip()]
        targets = [INCLUDE.match(line) for line in body]
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
            # Several includes in one block: their sections one after the other, as included.
            code = "\n".join(read_section(t, root, strip=False) for t in targets).strip("\n")
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
            raise PluginError(
                f"{blocks[0].page if blocks else 'page'}:{line}: {match[0]} comes before any "
                "Python block: a value in the prose must follow the block that computes it"
            )
        wanted[before[-1]].append((match["expression"], match["spec"] or ""))
        places.append((match.start(), match.end(), before[-1], len(wanted[before[-1]]) - 1))
    blocks = [dataclasses.replace(block, values=tuple(values)) for block, values in zip(blocks, wanted)]
    return blocks, places
