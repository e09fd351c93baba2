"""The real site: built strictly, every block a tested snippet, every page runs as copied.

Also what a reader would check by clicking, without a browser: every internal link and
anchor resolves, and every page with code offers its notebook (tests/test_browser.py has
what needs one).
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from mkdocs.config import load_config

from tools.blocks import SECTION, python_blocks
from tools.nav import nav_pages

from conftest import ROOT, exec_record, fresh_python, meaningful_lines, page_printed, reader_environment, serving

DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
CODE_PAGES = [p for p in PAGES if python_blocks((DOCS / p).read_text(encoding="utf-8"), p)]


def test_every_page_is_in_the_navigation():
    nav = nav_pages(load_config(str(ROOT / "mkdocs.yml")).nav)
    assert sorted(p for p in nav if p.endswith(".md")) == PAGES


def test_every_python_block_is_an_included_snippet_and_resolves():
    """python_blocks() raises for hand-written code, ```py fences and missing sections."""
    blocks = [b for p in PAGES for b in python_blocks((DOCS / p).read_text(encoding="utf-8"), p)]
    assert blocks and all(b.targets and b.code.strip() for b in blocks)


NOTEBOOK_SOURCES = sorted((ROOT / "notebooks").glob("*.md"))  # notebook pages (tools/notebooks.py)


def test_every_snippet_section_is_shown_on_a_page():
    sources = [(DOCS / p, p) for p in PAGES] + [(s, s.name) for s in NOTEBOOK_SOURCES]
    included = {
        t for file, name in sources for b in python_blocks(file.read_text(encoding="utf-8"), name) for t in b.targets
    }
    defined = {
        f"snippets/{module.name}:{m['name']}"
        for module in (ROOT / "snippets").glob("*.py")
        for m in SECTION.finditer(module.read_text(encoding="utf-8"))
    }
    assert defined - included == set(), "sections that no page shows (and so no copy-paste test runs)"


def test_each_concept_has_its_page_module_and_test():
    for page in CODE_PAGES + [f"notebooks/{s.stem}.ipynb" for s in NOTEBOOK_SOURCES]:
        stem = Path(page).stem
        assert (ROOT / "snippets" / f"{stem}.py").is_file(), f"{page} needs snippets/{stem}.py"
        assert (ROOT / "tests" / f"test_{stem}.py").is_file(), f"{page} needs tests/test_{stem}.py"


NOT_LESSONS = {"index.md", "glossary.md", "about.md"}  # the home page, a reference list, how the site is built


def lessons() -> list[tuple[str, Path]]:
    """Every page that teaches, in reading order, with its Markdown source (a notebook's is in notebooks/)."""
    nav = nav_pages(load_config(str(ROOT / "mkdocs.yml")).nav)
    sources = {p: DOCS / p for p in PAGES} | {f"notebooks/{s.stem}.ipynb": s for s in NOTEBOOK_SOURCES}
    return [(page, sources[page]) for page in nav if page not in NOT_LESSONS]


def test_every_lesson_states_its_prerequisites_first_and_they_come_earlier():
    """Issue 15: the first paragraph says what to read first, and only earlier pages qualify."""
    order = [page for page, _ in lessons()]
    for position, (page, source) in enumerate(lessons()):
        body = source.read_text(encoding="utf-8").split("\n\n")[1]  # the paragraph after the title
        assert body.startswith("**Prerequisites:"), f"{page}: starts with {body[:60]!r}"
        for target in re.findall(r"\]\(([\w/]+\.(?:md|ipynb))", body):
            linked = target.removeprefix("../")  # pages sit at the top of docs/; notebooks link to them
            assert linked in order[:position], f"{page}: prerequisite {linked} is not an earlier page"


def test_every_lesson_closes_its_teaching_with_key_ideas():
    """One Key ideas box, after which only the exercise and the sources follow."""
    for page, source in lessons():
        text = source.read_text(encoding="utf-8")
        assert text.count('!!! abstract "Key ideas"') == 1, page
        after = text.split('!!! abstract "Key ideas"')[1]
        headings = [h.split(":")[0] for h in re.findall(r"^## (.*)", after, re.M)]
        assert headings in (["Exercise", "Sources"], ["Sources"], []), f"{page}: {headings}"


def test_validation_and_corrections_to_the_notes_are_collapsed():
    """Bad input and corrections to the study notes: one collapsible form each, never a section."""
    for page, source in lessons():
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"^#+ Bad input", text, re.M | re.I), page
        assert "A correction to the study notes" not in text, page
        for box in re.findall(r'^\s*[?!]{3}\+? \w+ "(?:About the notes|Bad input)[^"]*"', text, re.M):
            assert box.lstrip().startswith("??? note"), f"{page}: {box.strip()}"


MACHINERY = re.compile(r"FileLock|cache.key|apt-get|\bCI\b|the issue|without internet|\.cache/", re.I)


def test_lessons_show_no_build_machinery():
    """A reader learns CNNs, not how this site caches and builds (that is about.md)."""
    for page, source in lessons():
        text = source.read_text(encoding="utf-8")
        shown = [b.code for b in python_blocks(text, page)]
        prose = re.sub(r"^\s*-{1,}8<-{1,}.*$", "", text, flags=re.M)
        found = sorted({m.group(0) for part in [prose, *shown] for m in MACHINERY.finditer(part)})
        assert found == [], f"{page}: {found}"


def test_the_site_builds_strictly_with_executed_outputs(built_site):
    for page in CODE_PAGES:
        record = exec_record(page)
        assert [b["code"] for b in record["blocks"]] == [
            b.code for b in python_blocks((DOCS / page).read_text(encoding="utf-8"), page)
        ]
    html = (built_site / "activations" / "index.html").read_text(encoding="utf-8")
    assert '<figure class="exec-figure">' in html and "currentColor" in html  # the figure follows the theme
    assert "<math" in html and "\\(" not in html and "$$" not in html  # math is rendered
    assert "largest |NumPy - Keras|" in html  # printed by the build, not typed into the page
    assert "content.code.copy" in html  # Material's copy button is on


class Links(HTMLParser):
    """The ids and the link targets of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def test_every_internal_link_and_anchor_resolves(built_site):
    broken = []
    parsed = {}
    for file in built_site.rglob("*.html"):
        parser = Links()
        parser.feed(file.read_text(encoding="utf-8"))
        parsed[file] = parser
    for file, parser in parsed.items():
        base = "http://site/" + file.relative_to(built_site).as_posix()  # "/..." means the site's root
        for href in parser.hrefs:
            target = urlsplit(urljoin(base, href))
            if target.netloc != "site":
                continue
            path = built_site / unquote(target.path).lstrip("/")
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{file.relative_to(built_site)}: {href} (no such file)")
            elif target.fragment and path in parsed and unquote(target.fragment) not in parsed[path].ids:
                broken.append(f"{file.relative_to(built_site)}: {href} (no such anchor)")
    assert broken == []


def test_every_page_with_code_offers_its_notebook_and_says_what_verified_it(built_site):
    for md in sorted((ROOT / "docs").glob("*.md")):
        if not python_blocks(md.read_text(encoding="utf-8"), md.name):
            continue
        html = (built_site / md.stem / "index.html").read_text(encoding="utf-8")
        link = re.search(r'<a class="md-button" href="([^"]+)" download>Download notebook</a>', html)
        assert link, md.name
        assert (built_site / md.stem / link[1]).resolve().is_file()
        assert re.search(r"Verified with TensorFlow \d+\.\d+\.\d+, Keras \d+\.\d+\.\d+ on \d{4}-\d\d-\d\d\.", html), (
            md.name
        )
        assert len(INSTALL.findall(html)) == 1, f"{md.name} says once how to install what its code imports"
    command = install_command(built_site)  # the same on every page: the wheel this site serves
    wheel = command.rpartition("/downloads/")[2]
    assert (built_site / "downloads" / wheel).is_file() and command.startswith("pip install http")


INSTALL = re.compile(r'<p class="install">[^<]*<code>(pip install [^<]+)</code></p>')


def install_command(built_site: Path) -> str:
    """The one command every page with code tells a reader outside the clone to run."""
    commands = {
        INSTALL.search((built_site / Path(p).with_suffix("") / "index.html").read_text(encoding="utf-8"))[1]
        for p in CODE_PAGES
    }
    assert len(commands) == 1, commands
    return commands.pop()


@pytest.fixture(scope="module")
def reader_python(built_site, runtime_python, tmp_path_factory) -> Path:
    """A reader's Python outside the clone after the one command the pages state: a fresh
    environment with the run-time dependencies, then `pip install` of the wheel the site
    serves (from this test's own server instead of the site's URL)."""
    python = fresh_python(tmp_path_factory.mktemp("reader") / "venv", on_top_of=runtime_python)
    site_url = load_config(str(ROOT / "mkdocs.yml")).site_url
    with serving(built_site) as url:
        command = install_command(built_site).replace(site_url, url)
        env = {
            **reader_environment(),
            "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        run = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{command}:\n{run.stdout}{run.stderr}"
    return python


def run_as_copied(page: str, folder: Path, python: Path) -> subprocess.CompletedProcess:
    """Every block of the page, pasted in order into one script, run in a fresh Python, in a
    folder of its own (not the repository: the code may not depend on where it runs)."""
    blocks = python_blocks((DOCS / page).read_text(encoding="utf-8"), page)
    workdir = folder / page.replace("/", "_")
    workdir.mkdir()
    script = workdir / "copied.py"
    script.write_text("\n\n".join(b.code for b in blocks) + "\n", encoding="utf-8")
    return subprocess.run(
        [str(python), str(script)], cwd=workdir, env=reader_environment(), capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def copied_runs(reader_python, tmp_path_factory):
    """All pages run as copied outside the clone, two at a time (the pages' models come from
    the build's training)."""
    folder = tmp_path_factory.mktemp("copied")
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CODE_PAGES, pool.map(lambda page: run_as_copied(page, folder, reader_python), CODE_PAGES)))


def test_the_install_command_brings_the_package_and_only_the_run_time_dependencies(reader_python):
    """The reader's Python imports `snippets` from the installed wheel, not from a clone,
    and has none of the site's or the tests' packages."""
    code = (
        "import importlib.metadata as m, importlib.util as u, snippets, sys; print(snippets.__file__); "
        "print(sorted(n for n in ('mkdocs', 'pytest', 'nbformat', 'playwright') if u.find_spec(n)))"
    )
    run = subprocess.run(
        [str(reader_python), "-c", code],
        cwd=reader_python.parent,
        env=reader_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    location, extras = run.stdout.splitlines()
    assert "site-packages" in location and not location.startswith(str(ROOT))
    assert extras == "[]"


@pytest.mark.parametrize("page", CODE_PAGES)
def test_the_page_runs_as_copied_outside_the_clone_and_prints_what_the_page_shows(page, copied_runs):
    """After the page's install command, paste every block of the page, in order, into a
    fresh Python outside the repository: the same printed output as the page."""
    run = copied_runs[page]
    assert run.returncode == 0, run.stderr[-3000:]
    folder = Path(run.args[1]).parent
    assert [p.name for p in folder.iterdir()] == ["copied.py"]  # the code left nothing behind
    assert meaningful_lines(run.stdout) == meaningful_lines(page_printed(page))


def test_the_prose_states_no_number_the_build_did_not_produce(built_site):
    """Every number in a page's running text is in its outputs, its filled-in values, its
    math or tools/prose_numbers.FIXED (facts with reasons), never typed in from a run."""
    from tools.prose_numbers import unaccounted

    assert unaccounted(built_site) == {}


def test_the_prose_number_check_sees_a_typed_in_number_and_accepts_values_and_facts():
    from tools.prose_numbers import page_numbers

    html = """<article><p>It reaches 97.3% (<span class="exec-value">98.1%</span>) on 60,000 images,
    Keras 2.1.6, note 003, in 2015.</p><pre><code>epochs = 10</code></pre><p>After 10 epochs.</p>
    <math><mn>0.25</mn></math></article>"""
    prose, accounted = page_numbers(html)
    assert prose == ["97.3", "60000", "10"]
    assert {"98.1", "10", "0.25"} <= accounted and "97.3" not in accounted
