"""MkDocs hook: LaTeX math rendered to MathML while the site builds.

`pymdownx.arithmatex` (generic mode) marks math as ``<span class="arithmatex">\\(...\\)</span>``
and ``<div class="arithmatex">\\[...\\]</div>``. This hook turns each into MathML, which
browsers render natively: no JavaScript, no font download, nothing fetched from another
site, and screen readers read it. The LaTeX stays in an annotation, so search finds it.
Math that cannot be converted fails the build, naming the page.
"""

from __future__ import annotations

import html
import re

import latex2mathml.converter
from mkdocs.exceptions import PluginError

MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])\s*</(?P=tag)>',
    re.S,
)


def to_mathml(latex: str, display: str) -> str:
    mathml = latex2mathml.converter.convert(latex, display=display)
    annotation = f'<annotation encoding="application/x-tex">{html.escape(latex.strip())}</annotation>'
    head, _, body = mathml.partition(">")
    mathml = f"{head}><semantics>{body.removesuffix('</math>')}{annotation}</semantics></math>"
    css = "arithmatex arithmatex-block" if display == "block" else "arithmatex"
    if display == "block":  # a wide equation scrolls sideways: keyboard users must reach it
        return f'<div class="{css}" tabindex="0" role="group" aria-label="equation">{mathml}</div>'
    return f'<span class="{css}">{mathml}</span>'


def on_page_content(content, page, config, files):
    def convert(match: re.Match) -> str:
        latex = html.unescape(match["inline"] if match["inline"] is not None else match["block"])
        try:
            return to_mathml(latex, "inline" if match["inline"] is not None else "block")
        except Exception as error:  # latex2mathml raises many kinds
            raise PluginError(f"{page.file.src_uri}: cannot render math {latex!r}: {error}") from error

    return MATH.sub(convert, content)
