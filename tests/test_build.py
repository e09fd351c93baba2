"""The build contract, each point proved on a small throw-away site.

Each test writes a tiny project (a page or two and a `snippets` package without
TensorFlow, so a build takes seconds) that uses this repository's real
`mkdocs.yml` (through INHERIT) and real `tools/`, builds it with
`mkdocs build --strict` in a fresh process, and looks at what came out.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, mkdocs_build

A_PY = '''\
"""Fixture snippets for page a."""

# --8<-- [start:define]
def double(x):
    return 2 * x
# --8<-- [end:define]

if __name__ == "__main__":
    # --8<-- [start:use]
    from snippets.helper import VALUE

    print("double:", double(VALUE))
    # --8<-- [end:use]
'''

B_PY = """\
# --8<-- [start:hello]
import matplotlib.pyplot as plt

print("hello from b")
plt.plot([0, 1], [1, 0])
plt.title("a line")
plt.show()
# --8<-- [end:hello]
"""

PAGE_A = """\
# Page A

Math: $x^2 + \\frac{1}{2}$.

```python
--8<-- "snippets/a.py:define"
```

```python
--8<-- "snippets/a.py:use"
```
"""

PAGE_B = """\
# Page B

```python
--8<-- "snippets/b.py:hello"
```
"""

NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["CODE"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


class Site:
    """A throw-away project that inherits the real configuration."""

    def __init__(self, root: Path):
        self.root = root
        self.cache = root / "cache"
        shutil.copytree(ROOT / "tools", root / "tools", ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        shutil.copytree(ROOT / "overrides", root / "overrides")
        shutil.copytree(ROOT / "docs" / "stylesheets", root / "docs" / "stylesheets")
        shutil.copytree(ROOT / "docs" / "javascripts", root / "docs" / "javascripts")
        shutil.copytree(ROOT / "includes", root / "includes")
        (root / "requirements.lock").write_text("fixture==1\n")
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")  # names the reader's wheel
        self.write("snippets/__init__.py", "")
        shutil.copy(ROOT / "snippets" / "dependencies.py", root / "snippets" / "dependencies.py")  # tools/keys.py's
        self.write("snippets/helper.py", "VALUE = 21\n")
        self.write("snippets/a.py", A_PY)
        self.write("snippets/b.py", B_PY)
        self.write("docs/index.md", "# Home\n")
        self.write("docs/a.md", PAGE_A)
        self.write("docs/b.md", PAGE_B)
        self.nav = ["index.md", "a.md", "b.md"]

    def write(self, path: str, text: str) -> None:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")

    def notebook(self, name: str, code: str) -> None:
        self.write(f"docs/notebooks/{name}", json.dumps(NOTEBOOK).replace("CODE", code))
        self.nav.append(f"notebooks/{name}")

    def build(self, **env: str):
        config = {"INHERIT": str(ROOT / "mkdocs.yml"), "nav": self.nav}
        (self.root / "mkdocs.yml").write_text(json.dumps(config))  # JSON is YAML
        result = mkdocs_build(self.root, self.root / "site", {"CNN_TUTORIAL_CACHE": str(self.cache), **env})
        result.report = json.loads((self.cache / "build-report.json").read_text()) if result.returncode == 0 else None
        return result

    def html(self, page: str) -> str:
        return (self.root / "site" / page / "index.html").read_text(encoding="utf-8")


@pytest.fixture
def site(tmp_path) -> Site:
    return Site(tmp_path)


def test_builds_strictly_and_shows_what_the_code_printed_and_drew(site):
    result = site.build()
    assert result.returncode == 0, result.stderr
    a, b = site.html("a"), site.html("b")
    assert "double: 42" in a  # block 2 used block 1's function and a `snippets` import
    assert '<span class="nf">double</span>' in a and "8&lt;--" not in a and "8<--" not in a
    assert "<math" in a and "\\frac" not in a.split("<annotation")[0]
    assert "hello from b" in b
    assert 'role="img" aria-label="a line"' in b and "currentColor" in b


def test_an_exception_fails_the_build_and_names_page_and_snippet(site):
    site.write("snippets/b.py", B_PY.replace('print("hello from b")', "1 / 0"))
    result = site.build()
    assert result.returncode != 0
    assert "b.md" in result.stderr and "snippets/b.py:hello" in result.stderr
    assert "ZeroDivisionError" in result.stderr


def test_a_missing_section_fails_the_build(site):
    site.write("snippets/a.py", A_PY.replace("[start:use]", "[start:renamed]").replace("[end:use]", "[end:renamed]"))
    result = site.build()
    assert result.returncode != 0
    assert "a.md" in result.stderr and "'use'" in result.stderr


def test_a_missing_file_fails_the_build(site):
    (site.root / "snippets" / "b.py").unlink()
    result = site.build()
    assert result.returncode != 0
    assert "b.md" in result.stderr and "snippets/b.py" in result.stderr


def test_a_missing_include_outside_python_blocks_fails_too(site):
    site.write("docs/a.md", PAGE_A + '\n```text\n--8<-- "snippets/nowhere.txt"\n```\n')
    result = site.build()
    assert result.returncode != 0
    assert "nowhere.txt" in result.stderr


@pytest.mark.parametrize(
    "fence",
    [
        '```python\nprint("typed by hand")\n```',
        '```py\n--8<-- "snippets/a.py:define"\n```',
        '```python\n--8<-- "README.md"\n```',
    ],
    ids=["hand-written", "py-fence", "outside-snippets"],
)
def test_python_that_is_not_an_included_snippet_fails_the_build(site, fence):
    site.write("docs/b.md", PAGE_B + "\n" + fence + "\n")
    result = site.build()
    assert result.returncode != 0
    assert "b.md" in result.stderr


def test_a_broken_link_fails_the_strict_build(site):
    site.write("docs/b.md", PAGE_B + "\nSee [nothing](missing.md).\n")
    result = site.build()
    assert result.returncode != 0
    assert "missing.md" in result.stderr


def test_editing_a_snippet_reexecutes_exactly_the_pages_that_show_it(site):
    first = site.build()
    assert first.returncode == 0, first.stderr
    assert sorted(first.report["executed"]) == ["a.md", "b.md"]

    again = site.build()
    assert again.report == {"executed": [], "cached": ["a.md", "b.md"]}

    site.write("snippets/b.py", B_PY.replace("hello from b", "changed output"))
    edited = site.build()
    assert edited.report == {"executed": ["b.md"], "cached": ["a.md"]}
    assert "changed output" in site.html("b") and "hello from b" not in site.html("b")


def test_editing_an_imported_module_reexecutes_the_pages_that_import_it(site):
    assert site.build().returncode == 0
    site.write("snippets/helper.py", "VALUE = 50\n")
    result = site.build()
    assert result.report == {"executed": ["a.md"], "cached": ["b.md"]}
    assert "double: 100" in site.html("a")


@pytest.mark.parametrize("change", ["lock", "setting", "tools"])
def test_dependencies_settings_and_tools_are_part_of_every_key(site, change):
    assert site.build().returncode == 0
    env = {}
    if change == "lock":
        (site.root / "requirements.lock").write_text("fixture==2\n")
    elif change == "setting":
        env["CNN_TUTORIAL_DATA"] = "full"
    else:
        (site.root / "tools" / "page_worker.py").write_text((ROOT / "tools" / "page_worker.py").read_text() + "\n#\n")
    result = site.build(**env)
    assert sorted(result.report["executed"]) == ["a.md", "b.md"]


def test_an_error_in_a_notebook_fails_the_build(site):
    site.notebook("broken.ipynb", "1 / 0")
    result = site.build()
    assert result.returncode != 0
    assert "broken.ipynb" in result.stderr and "ZeroDivisionError" in result.stderr


def test_the_notebook_cache_is_keyed_on_the_snippets_too(site):
    site.notebook("fine.ipynb", "print(6 * 7)")
    assert site.build().returncode == 0
    first = {p.name for p in (site.cache / "jupyter").iterdir() if p.is_dir()}
    site.write("snippets/helper.py", "VALUE = 1\n")
    assert site.build().returncode == 0
    second = {p.name for p in (site.cache / "jupyter").iterdir() if p.is_dir()}
    assert len(first) == len(second) == 1 and first != second


def test_the_real_configuration_keeps_the_contract():
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    assert config.strict is True
    assert config.mdx_configs["pymdownx.snippets"]["check_paths"] is True
    assert config.plugins["mkdocs-jupyter"].config["allow_errors"] is False
    assert "tools/exec_hook.py" in textwrap.dedent((ROOT / "mkdocs.yml").read_text())


def test_a_page_whose_code_leaves_a_file_behind_fails_the_build_and_names_it(site):
    """Each page runs in an empty folder of its own, as a reader's copy runs in theirs."""
    site.write("snippets/litter.py", "# --8<-- [start:write]\nopen('left.txt', 'w').write('x')\n# --8<-- [end:write]\n")
    site.write("docs/b.md", '# Page B\n\n```python\n--8<-- "snippets/litter.py:write"\n```\n')
    result = site.build()
    assert result.returncode != 0
    assert "b.md: its code left files in the folder it ran in: ['left.txt']" in result.stderr


def test_editing_a_tool_that_does_not_run_pages_reexecutes_nothing(site):
    """The notebooks, the reader's wheel, the page tools, Lighthouse: none of them changes
    what a page prints, so editing them re-renders from the cache."""
    assert site.build().returncode == 0
    for tool in ("notebooks.py", "reader_wheel.py", "page_tools.py", "lighthouse.py", "prose_numbers.py"):
        file = site.root / "tools" / tool
        file.write_text(file.read_text() + "\n# edited\n")
    result = site.build()
    assert result.returncode == 0, result.stderr
    assert result.report["executed"] == [] and sorted(result.report["cached"]) == ["a.md", "b.md"]
    runner = site.root / "tools" / "runner.py"
    runner.write_text(runner.read_text() + "\n# edited\n")
    assert sorted(site.build().report["executed"]) == ["a.md", "b.md"]  # a tool that runs pages: everything


def test_the_theme_override_is_materials_content_partial_plus_the_page_tools():
    """overrides/partials/content.html copies Material's; when Material changes its own, this
    fails, and the copy must follow."""
    import material

    theirs = (Path(material.__file__).parent / "templates" / "partials" / "content.html").read_text()
    ours = (ROOT / "overrides" / "partials" / "content.html").read_text()
    added = '{% if page.meta.tools %}{% include "partials/page-tools.html" %}{% endif %}\n'
    strip = lambda text: re.sub(r"\{#-.*?-#\}\n", "", text, flags=re.S)  # noqa: E731 - the comments differ
    assert strip(ours).replace(added, "") == strip(theirs)


def test_what_the_site_removes_from_mkdocs_jupyter_output_is_there_to_remove(tmp_path):
    """tools/jupyter.py deletes mkdocs-jupyter's MathJax loader; an upgrade that changes the
    loader fails here, not silently on the site."""
    import nbformat
    from mkdocs_jupyter.nbconvert2 import nb2html

    from tools import jupyter

    path = tmp_path / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$x^2$")]), path)
    html = nb2html(str(path), custom_mathjax_url="")
    assert len(jupyter.MATHJAX_LOADER.findall(html)) == 1
    assert '<script src="">' not in jupyter.without_mathjax(html) and "x-mathjax-config" not in jupyter.without_mathjax(
        html
    )


def test_pages_with_code_offer_their_notebook_and_say_what_verified_them(site):
    result = site.build(REPO_URL="", REPO_BRANCH="")
    assert result.returncode == 0, result.stderr
    a, home = site.html("a"), site.html("")
    assert '<a class="md-button" href="../downloads/a.ipynb" download>Download notebook</a>' in a
    assert re.search(r"Verified with TensorFlow [\d.]+, Keras [\d.]+ on \d{4}-\d\d-\d\d\.", a)
    assert "<code>pip install http://localhost:8000/downloads/cnn_tutorial-" in a  # mkdocs.yml's default site_url
    assert len(list((site.root / "site" / "downloads").glob("cnn_tutorial-*-py3-none-any.whl"))) == 1
    assert "Verified with" not in home  # no code, nothing to verify
    # No repository known (no REPO_URL, and the throw-away project is no clone): no Colab link, and
    # the log says why; the site still builds.
    assert "Open in Colab" not in a and "no GitHub repository known" in result.stderr


def test_a_site_built_for_a_repository_links_each_page_to_its_notebook_in_colab_on_that_branch(site):
    """What the Pages workflow does for any fork: REPO_URL and REPO_BRANCH from GitHub."""
    result = site.build(REPO_URL="https://github.com/someone/fork", REPO_BRANCH="edition")
    assert result.returncode == 0, result.stderr
    colab = "https://colab.research.google.com/github/someone/fork/blob/edition/docs/downloads/a.ipynb"
    assert f'<a class="md-button" href="{colab}">Open in Colab</a>' in site.html("a")


VALUES_PY = """\
# --8<-- [start:measure]
import os

accuracy = {"sample": 0.9619, "full": 0.9887}[os.environ.get("CNN_TUTORIAL_DATA") or "sample"]
print(f"test accuracy: {accuracy:.4f}")
# --8<-- [end:measure]
"""

PAGE_VALUES = """\
# Values

```python
--8<-- "snippets/values.py:measure"
```

The model reaches {{ accuracy | .2% }} on the test set ({{ accuracy }} as a fraction).
"""


@pytest.fixture
def values_site(site) -> Site:
    site.write("snippets/values.py", VALUES_PY)
    site.write("docs/values.md", PAGE_VALUES)
    site.nav.append("values.md")
    return site


def prose_of(html: str) -> str:
    """The page's paragraphs, without its code and outputs."""
    return " ".join(re.findall(r"<p>(.*?)</p>", html, re.S))


def test_numbers_in_the_prose_come_from_the_same_build_for_each_data_source(values_site):
    shown = {}
    for source in ("sample", "full"):
        result = values_site.build(CNN_TUTORIAL_DATA=source)
        assert result.returncode == 0, result.stderr
        html = values_site.html("values")
        printed = re.search(r"test accuracy: (0\.\d{4})", html)[1]  # the output under the block
        values = re.findall(r'<span class="exec-value">([^<]*)</span>', prose_of(html))
        assert values == [f"{float(printed):.2%}", str(float(printed))]
        assert "{{" not in html
        shown[source] = values
    assert shown["sample"] != shown["full"]


def test_editing_only_the_prose_renders_again_without_executing(values_site):
    assert values_site.build().returncode == 0
    values_site.write("docs/values.md", PAGE_VALUES.replace("The model reaches", "It reaches"))
    result = values_site.build()
    assert "values.md" in result.report["cached"] and "values.md" not in result.report["executed"]
    assert "It reaches" in values_site.html("values")
    values_site.write("docs/values.md", PAGE_VALUES.replace("{{ accuracy }}", "{{ accuracy * 100 | .1f }}"))
    result = values_site.build()
    assert result.report["executed"] == ["values.md"]  # another value asked for: run again
    assert '<span class="exec-value">96.2</span>' in values_site.html("values")


@pytest.mark.parametrize(
    "prose, says",
    [
        ("{{ accuracy }} before any block.\n\n" + PAGE_VALUES.partition("\n")[2], "comes before any Python block"),
        (PAGE_VALUES + "\nAnd {{ missing_name }}.\n", "missing_name"),
        (PAGE_VALUES + "\nAnd {{ os.remove('x') }}.\n", "prose values call only"),
    ],
    ids=["before-any-block", "unknown-name", "a-call"],
)
def test_a_bad_value_in_the_prose_fails_the_build_and_names_the_page(values_site, prose, says):
    values_site.write("docs/values.md", "# Values\n\n" + prose if prose.startswith("{{") else prose)
    result = values_site.build()
    assert result.returncode != 0
    assert "values.md" in result.stderr and says in result.stderr


def test_a_link_to_a_missing_anchor_fails_the_strict_build(site):
    """mkdocs.yml's `validation: links: anchors: warn`, made an error by `strict: true`."""
    site.write("docs/a.md", PAGE_A + "\n## A section\n")
    site.write("docs/b.md", PAGE_B + "\nSee [page A](a.md#a-section) and [nothing there](a.md#no-such-anchor).\n")
    result = site.build()
    assert result.returncode != 0
    assert "b.md" in result.stderr and "'#no-such-anchor'" in result.stderr
    assert "'#a-section'" not in result.stderr  # an anchor that exists is fine


BARRIER_PY = """\
# --8<-- [start:meet]
import os
import time
from pathlib import Path

here, there = Path(os.environ["BARRIER"]) / "{me}", Path(os.environ["BARRIER"]) / "{other}"
here.touch()
deadline = time.monotonic() + 120
while not there.exists():  # only a page executing at the same time can create it
    if time.monotonic() > deadline:
        raise TimeoutError("{other} never started while {me} ran")
    time.sleep(0.05)
print("{me} met {other}")
# --8<-- [end:meet]
"""


def test_pages_execute_side_by_side_in_separate_processes(site, tmp_path):
    """Each of two pages waits until the other has started: only parallel execution passes."""
    for me, other in (("p", "q"), ("q", "p")):
        site.write(f"snippets/{me}.py", BARRIER_PY.format(me=me, other=other))
        site.write(f"docs/{me}.md", f'# {me}\n\n```python\n--8<-- "snippets/{me}.py:meet"\n```\n')
        site.nav.append(f"{me}.md")
    (tmp_path / "barrier").mkdir()
    result = site.build(CNN_TUTORIAL_JOBS="2", BARRIER=str(tmp_path / "barrier"))
    assert result.returncode == 0, result.stderr
    assert "p met q" in site.html("p") and "q met p" in site.html("q")


def project_imports() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (anywhere in it), for tools/, snippets/, bench/."""
    import ast

    graph = {}
    for file in sorted(
        p
        for folder in ("tools", "snippets", "bench")
        for p in (ROOT / folder).rglob("*.py")
        if "node_modules" not in p.parts
    ):
        parts = file.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found |= {n for n in names if n.split(".")[0] in ("tools", "snippets", "bench")}
        graph[module] = found
    return {m: {n for n in found if n in graph and n != m} for m, found in graph.items()}


def test_tools_snippets_and_bench_import_each_other_without_a_cycle():
    graph, cycles = project_imports(), []

    def visit(module, path):
        if module in path:
            cycles.append(path[path.index(module) :] + [module])
            return
        for imported in sorted(graph[module]):
            visit(imported, path + [module])

    for module in graph:
        visit(module, [])
    assert cycles == []
    assert not any(
        m.startswith(("tools", "bench")) for m in set().union(*(graph[m] for m in graph if m.startswith("snippets")))
    )


def test_no_module_edits_sys_path():
    """`tools` is a package imported one way everywhere (from the repository root)."""
    edits = [
        p.relative_to(ROOT).as_posix()
        for folder in ("tools", "snippets", "bench", "tests")
        for p in (ROOT / folder).rglob("*.py")
        if "node_modules" not in p.parts
        and re.search(r"sys\.path\.(insert|append)|sys\.path\[", p.read_text(encoding="utf-8"))
    ]
    assert edits == []
