"""Run a page's code blocks, in order, in one fresh Python process.

This is what a reader gets who pastes the blocks of a page into a new Python
session one after the other, so it is also what the page shows. The build hook
(`tools/runner.py`) starts one worker per page and talks to it over a pipe:

- request, one JSON line on stdin: ``{"label": "snippets/x.py:part", "code": "...",
  "values": [["expression", "format spec"], ...]}``
- reply, one JSON line on the original stdout:
  ``{"ok": true, "output": "<markdown>", "values": ["formatted", ...]}`` or
  ``{"ok": false, "error": "<traceback>"}``

"values" are what the page's prose shows after this block, ``{{ expression | spec }}``:
each expression is evaluated in the page's namespace once the block has run and
formatted with ``format(value, spec)``. Expressions may only read: names, attributes,
subscripts, constants, arithmetic and a few pure built-ins, never call the page's code.

What the code prints (stdout and stderr) becomes a text block; every matplotlib
figure left open at the end of a block becomes an inline SVG whose ink is
``currentColor``, so the same figure reads well in the light and the dark theme.
"""

from __future__ import annotations

import ast
import contextlib
import html
import io
import json
import linecache
import os
import re
import sys
import traceback

# A colour no figure uses on purpose; in the SVG it becomes `currentColor`.
INK = "#0b0c0d"
# Mid-luminance colours that keep their contrast on white and on Material's slate.
PALETTE = ["#3b82f6", "#f97316", "#10b981", "#ef4444", "#a855f7", "#06b6d4", "#eab308", "#ec4899"]


def theme_neutral_matplotlib() -> None:
    """Make figures transparent, with all text, axes and ticks drawn in INK."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "cnn-tutorial",
            "font.family": "sans-serif",
            "figure.facecolor": "none",
            "axes.facecolor": "none",
            "savefig.transparent": True,
            "savefig.bbox": "tight",
            "text.color": INK,
            "axes.labelcolor": INK,
            "axes.edgecolor": INK,
            "xtick.color": INK,
            "ytick.color": INK,
            "grid.color": INK,
            "grid.alpha": 0.2,
            "legend.facecolor": "none",
            "legend.edgecolor": INK,
            "legend.framealpha": 0.3,
            "patch.edgecolor": INK,  # annotation arrows, hatches: ink, not black
            "axes.prop_cycle": cycler(color=PALETTE),
        }
    )
    plt.show = lambda *args, **kwargs: None  # figures are collected after each block


def figure_html(fig) -> str:
    """One matplotlib figure as an accessible, theme-following inline SVG."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :].replace(INK, "currentColor")
    titles = [fig._suptitle.get_text()] if fig._suptitle else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    label = html.escape(fig.get_label() or "; ".join(titles) or "Figure", quote=True)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    svg = re.sub(r"\n\s*\n", "\n", svg)  # a blank line would end the raw HTML block
    return f'<figure class="exec-figure">\n{svg}</figure>'


def text_block(text: str) -> str:
    """Text output as a fenced block, with a fence longer than any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence} {{ .text .exec-output }}\n{text.rstrip()}\n{fence}"


def run_block(code: str, label: str, namespace: dict) -> str:
    """Execute one block in `namespace`; return its output as Markdown."""
    import matplotlib.pyplot as plt

    filename = f"<{label}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        exec(compile(code, filename, "exec"), namespace)
    parts = [text_block(captured.getvalue())] if captured.getvalue().strip() else []
    for number in plt.get_fignums():
        figure = plt.figure(number)
        parts.append(figure_html(figure))
        plt.close(figure)
    return "\n\n".join(parts)


ALLOWED_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Constant,
    ast.Slice,
    ast.BinOp,
    ast.UnaryOp,
    ast.operator,
    ast.unaryop,
    ast.Call,
    ast.Tuple,
)
ALLOWED_CALLS = {"abs", "len", "max", "min", "round", "sum", "int", "float"}


def prose_value(expression: str, spec: str, namespace: dict) -> str:
    """The value of a read-only expression in the page's namespace, formatted for the prose."""
    tree = ast.parse(expression, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ValueError(
                f"{{{{ {expression} }}}}: prose values only read names, attributes, subscripts and "
                f"arithmetic, not {type(node).__name__}"
            )
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in ALLOWED_CALLS):
            raise ValueError(f"{{{{ {expression} }}}}: prose values call only {sorted(ALLOWED_CALLS)}")
    value = eval(compile(tree, "<prose value>", "eval"), {"__builtins__": __builtins__}, namespace)
    return format(value, spec)


def user_traceback(error: BaseException) -> str:
    """The traceback from the reader's code on, without this worker's own frames."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next
    return "".join(traceback.format_exception(type(error), error, frames))


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray writes to fd 1 (C libraries) must not corrupt the replies
    sys.stdout = sys.stderr
    theme_neutral_matplotlib()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            output = run_block(request["code"], request["label"], namespace)
            values = [prose_value(expression, spec, namespace) for expression, spec in request.get("values", [])]
            reply = {"ok": True, "output": output, "values": values}
        except BaseException as error:  # noqa: BLE001 - every failure is reported to the build
            reply = {"ok": False, "error": user_traceback(error)}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        if not reply["ok"]:
            break


if __name__ == "__main__":
    main()
