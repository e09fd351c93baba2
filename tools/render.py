"""Step 4 of the page pipeline: render each Python block with the output its run recorded.

A block shows its source (highlighted as a `py` fence, through markdown-exec's
renderer) and below it what it printed and drew; the prose shows the values the
run computed where it asks for them ({{ expression }}). Rendering never runs code:
the outputs come from tools/runner.py or from the cache, consumed in page order, and
a block that differs from what was run fails the build.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import markdown_exec
from pymdownx.superfences import SuperFencesException

from tools.blocks import SOURCE_LANGUAGE, Block


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
class Current:
    """The page being rendered: SuperFences calls format_block without saying which."""

    run: PageRun | None = None


CURRENT = Current()


def validate(language, inputs, options, attrs, md) -> bool:
    """Every Python fence is executed: no option switches that off."""
    if inputs:
        raise SuperFencesException(f"Python blocks take no options, got {sorted(inputs)}")
    options.update(source="above", result="", html=False, tabs=markdown_exec.default_tabs, update_toc=False)
    return True


def format_block(source, language, css_class, options, md, **kwargs) -> str:
    """Render a Python block: its source, then the output the page's run recorded for it."""
    if CURRENT.run is None:
        raise SuperFencesException("a Python block was rendered outside a page")
    output = CURRENT.run.next_output(source)
    wrapped = f'<div class="exec-result" markdown="1">\n\n{output}\n\n</div>' if output else ""
    return markdown_exec.base_format(
        language=SOURCE_LANGUAGE, run=lambda *a, **k: wrapped, code=source, md=md, **options
    )


def fill_values(markdown: str, places, values: list[list[str]]) -> str:
    """The prose with each placeholder replaced by its value, marked as computed by the build."""
    for start, end, block, index in reversed(places):
        shown = html.escape(values[block][index])
        markdown = markdown[:start] + f'<span class="exec-value">{shown}</span>' + markdown[end:]
    return markdown
