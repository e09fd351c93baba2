"""Which `snippets` modules a piece of code depends on: what a cached result must be keyed on.

The site's build keys each page's executed outputs on the modules its blocks include
and every `snippets` module those import, transitively (tools/keys.py); `trained()`
keys the MNIST chapter's stored models the same way (snippets/mnist_training.py).
Following the imports, rather than listing files by hand, means a new module cannot
be forgotten. Only the package's own modules count: installed libraries are keyed by
their versions.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the `snippets` package


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


def definitions(path: Path) -> bytes:
    """A module's source without its demonstrations (its `if __name__ == "__main__":` blocks),
    which print and plot but cannot change what its functions compute."""
    source = path.read_text(encoding="utf-8")
    kept = [
        ast.get_source_segment(source, node)
        for node in ast.parse(source).body
        if not (isinstance(node, ast.If) and "__name__" in ast.unparse(node.test))
    ]
    return "\n".join(kept).encode()
