"""What a reader sees, in a real browser: Chromium driven by Playwright.

Every page of the built site loads without console errors, renders its math and
passes axe-core's accessibility rules (no serious or critical violation) in the
light and the dark theme; the copy button copies exactly the snippet; the theme
toggle switches the figures; search and the footer links work. (What needs no
browser, that every link and anchor resolves and every page with code offers its
notebook, is checked in test_site.py.)

Needs Chromium and node_modules/axe-core (`npm ci`); `make test` installs both
where it can. Chromium is $CNN_TUTORIAL_CHROMIUM when that is set, else
`chromium` on PATH, else /usr/bin/chromium, else the one that
`playwright install chromium` put in place. Without them the tests skip and say
what to install; under CI (CI=true) they fail instead: a CI run never passes
without its browser tests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from tools.blocks import python_blocks, read_section
from tools.browser import find_chromium, serving

from conftest import ROOT

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def unavailable(reason: str) -> NoReturn:
    """A tool the tests need is missing: under CI (CI=true) they fail, elsewhere they skip; both say why."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def chromium_executable(playwright) -> str:
    """The Chromium to launch (tools/browser.py says which), or skip (fail under CI) saying what to install."""
    try:
        return find_chromium(playwright.chromium.executable_path)
    except LookupError as error:
        unavailable(str(error))


def html_pages(site: Path) -> list[str]:
    """Site-relative URLs of every page, e.g. "" (home), "neuron/", "notebooks/mnist_cnn/"."""
    pages = [p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")]
    return sorted("" if p == "." else p + "/" for p in pages)


@pytest.fixture(scope="module")
def server(built_site):
    with serving(built_site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "the Python package playwright is not installed: install the test extra, "
            ".venv/bin/python -m pip install -e '.[site,test]' (`make setup` does)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_executable(playwright), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def axe() -> Path:
    """axe-core's script, from npm."""
    if not AXE.is_file():
        unavailable(
            f"axe-core is not installed at {AXE.relative_to(ROOT)}: "
            "run `npm ci` in the repository root (`make browser-tools` does)"
        )
    return AXE


# The article's text without code and outputs (a regex in code may well contain "\(").
PROSE_TEXT = """() => {
    const article = document.querySelector('article').cloneNode(true);
    article.querySelectorAll('pre, code, .highlight, .jupyter-wrapper .jp-InputArea, script, style')
        .forEach((n) => n.remove());
    return article.textContent;
}"""


def open_page(browser, url, scheme="light"):
    """A fresh page in the given colour scheme; console errors and page errors are collected."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url, wait_until="load")
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_loads_cleanly_renders_math_and_passes_axe(browser, axe, built_site, server, scheme):
    problems = []
    for url in html_pages(built_site):
        page = open_page(browser, server + url, scheme)
        expected = "slate" if scheme == "dark" else "default"
        assert page.evaluate("document.body.dataset.mdColorScheme") == expected
        text = page.evaluate(PROSE_TEXT)
        if "$$" in text or re.search(r"\\\(|\\\[", text):
            problems.append(f"{url}: raw LaTeX on the page")
        page.add_script_tag(path=str(axe))
        # The dark theme changes colours only: its run checks contrast (the light run checks everything).
        options = "{resultTypes: ['violations']" + (
            ", runOnly: ['color-contrast', 'link-in-text-block']}" if scheme == "dark" else "}"
        )
        result = page.evaluate(f"axe.run(document, {options})")
        for violation in result["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [node["target"] for node in violation["nodes"][:3]]
                problems.append(f"{url} ({scheme}): axe {violation['id']} ({violation['impact']}): {targets}")
        problems += [f"{url}: console: {error}" for error in page.errors]
        page.context.close()
    assert problems == []


def test_math_is_rendered_as_mathml(browser, server):
    page = open_page(browser, server + "activations/")
    assert page.locator("article math").count() > 5
    assert page.evaluate("getComputedStyle(document.querySelector('article math')).display") in (
        "inline",
        "block",
        "math",
    )
    page.context.close()


# For every matrix: the height of each bracket (or parenthesis) beside it and of its rows.
BRACKETS_AND_ROWS = """() => [...document.querySelectorAll('article mtable')].map((table) => {
    const fences = [table.previousElementSibling, table.nextElementSibling]
        .filter((n) => n && n.localName === 'mo' && '[]()'.includes(n.textContent));
    return {tex: table.closest('math').querySelector('annotation').textContent.slice(0, 40),
            rows: table.getBoundingClientRect().height,
            brackets: fences.map((f) => f.getBoundingClientRect().height)};
}).filter((matrix) => matrix.brackets.length > 0)"""
# Display equations wider than the column they sit in (they would scroll sideways).
TOO_WIDE = """() => [...document.querySelectorAll('article .arithmatex-block')]
    .filter((d) => d.scrollWidth > d.clientWidth + 1)
    .map((d) => d.querySelector('annotation').textContent.slice(0, 60))"""


def test_matrix_brackets_stretch_around_their_rows_and_equations_fit_the_column(browser, built_site, server):
    """The site serves a font with a MATH table (STIX Two Math), without which Chromium draws a
    matrix's brackets one line tall; on a desktop screen, no equation runs past the column."""
    problems, matrices = [], 0
    for url in html_pages(built_site):
        page = open_page(browser, server + url)
        page.wait_for_load_state("networkidle")  # the math font
        for matrix in page.evaluate(BRACKETS_AND_ROWS):
            matrices += 1
            if len(matrix["brackets"]) != 2 or min(matrix["brackets"]) < matrix["rows"] - 1:
                problems.append(f"{url}: {matrix['tex']}: brackets {matrix['brackets']} around rows {matrix['rows']}")
        problems += [f"{url}: wider than the column: {tex}" for tex in page.evaluate(TOO_WIDE)]
        page.context.close()
    assert matrices >= 5 and problems == []


def test_the_copy_button_copies_exactly_the_snippet(browser, server):
    page = open_page(browser, server + "activations/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    first = python_blocks((ROOT / "docs" / "activations.md").read_text(encoding="utf-8"), "activations.md")[0]
    block = page.locator("article .highlight").first
    block.hover()
    block.locator("button[data-md-type='copy']").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip("\n") == "\n".join(read_section(t) for t in first.targets)
    page.context.close()


def test_the_theme_toggle_switches_the_figures(browser, server):
    page = open_page(browser, server + "convolution/", "light")
    figure = page.locator("article .exec-figure:has(svg image)").first  # a plot with an image in it
    figure.scroll_into_view_if_needed()

    def looks():
        return page.evaluate(
            """() => {
                const figure = document.querySelector('article .exec-figure svg image').closest('.exec-figure');
                const image = figure.querySelector('svg image');
                return {scheme: document.body.dataset.mdColorScheme, ink: getComputedStyle(figure).color,
                        filter: image ? getComputedStyle(image).filter : null};
            }"""
        )

    light = looks()
    page.locator("label.md-header__button[for^='__palette_']:visible").first.click()
    dark = looks()
    assert (light["scheme"], dark["scheme"]) == ("default", "slate")
    assert light["ink"] != dark["ink"]  # the figure's text and axes take the theme's text colour
    assert light["filter"] == "none" and "invert" in dark["filter"]  # and its images are inverted
    page.context.close()


@pytest.mark.parametrize("query, page", [("set_random_seed", "/legacy/"), ("cross-entropy", "/softmax/")])
def test_search_finds_code_identifiers_and_math_terms(browser, server, query, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    site = open_page(browser, server)
    search = site.locator("input.md-search__input")
    search.click()
    results = site.locator(".md-search-result__item a")
    # The index loads in a web worker, slowly on a busy machine, and a query typed before it is
    # ready can go unanswered: type it again, as a reader would, for up to two minutes.
    for attempt in range(8):
        search.fill("")
        search.fill(query)
        try:
            results.first.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            assert attempt < 7, f"no search results for {query!r} in two minutes"
    assert page in {urlsplit(href).path for href in results.evaluate_all("els => els.map(e => e.href)")}
    site.context.close()


def test_pages_link_to_the_previous_and_next_page_in_reading_order(browser, server):
    page = open_page(browser, server + "pooling/")
    assert page.locator("a.md-footer__link--prev").get_attribute("href").endswith("convolution/")
    assert page.locator("a.md-footer__link--next").get_attribute("href").endswith("dropout/")
    page.context.close()
