"""What a reader sees, in a real browser: Debian's Chromium driven by Playwright.

Every page of the built site loads without console errors, renders its math,
links only to pages and anchors that exist, passes axe-core's accessibility
rules (no serious or critical violation) in the light and the dark theme; the
copy button copies exactly the snippet; the theme toggle switches the figures.

Needs /usr/bin/chromium (`apt-get install chromium`) and node_modules/axe-core
(`npm ci`); `make test` installs both where it can. Without Chromium the tests
are skipped, and say why.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from conftest import ROOT

from tools.exec_hook import python_blocks, read_section

CHROMIUM = os.environ.get("CNN_TUTORIAL_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason=f"Chromium is not installed at {CHROMIUM} (install it with `apt-get install chromium`)",
)


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


def html_pages(site: Path) -> list[str]:
    """Site-relative URLs of every page, e.g. "" (home), "neuron/", "notebooks/mnist_cnn/"."""
    pages = [p.parent.relative_to(site).as_posix() for p in site.rglob("index.html")]
    return sorted("" if p == "." else p + "/" for p in pages)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_site):
    handler = functools.partial(QuietHandler, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


# The article's text without code and outputs (a regex in code may well contain "\(").
PROSE_TEXT = """() => {
    const article = document.querySelector('article').cloneNode(true);
    article.querySelectorAll('pre, code, .highlight, .jupyter-wrapper .jp-InputArea, script, style').forEach((n) => n.remove());
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


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_loads_cleanly_renders_math_and_passes_axe(built_site, server, browser, scheme):
    problems = []
    for url in html_pages(built_site):
        page = open_page(browser, server + url, scheme)
        expected = "slate" if scheme == "dark" else "default"
        assert page.evaluate("document.body.dataset.mdColorScheme") == expected
        text = page.evaluate(PROSE_TEXT)
        if "$$" in text or re.search(r"\\\(|\\\[", text):
            problems.append(f"{url}: raw LaTeX on the page")
        page.add_script_tag(path=str(AXE))
        # The dark theme changes colours only: its run checks contrast (the light run checks everything).
        options = "{resultTypes: ['violations']" + (", runOnly: ['color-contrast', 'link-in-text-block']}" if scheme == "dark" else "}")
        result = page.evaluate(f"axe.run(document, {options})")
        for violation in result["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [node["target"] for node in violation["nodes"][:3]]
                problems.append(f"{url} ({scheme}): axe {violation['id']} ({violation['impact']}): {targets}")
        problems += [f"{url}: console: {error}" for error in page.errors]
        page.context.close()
    assert problems == []


def test_math_is_rendered_as_mathml(built_site, server, browser):
    page = open_page(browser, server + "activations/")
    assert page.locator("article math").count() > 5
    assert page.evaluate("getComputedStyle(document.querySelector('article math')).display") in ("inline", "block", "math")
    page.context.close()


def test_the_copy_button_copies_exactly_the_snippet(server, browser):
    page = open_page(browser, server + "activations/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    first = python_blocks((ROOT / "docs" / "activations.md").read_text(encoding="utf-8"), "activations.md")[0]
    block = page.locator("article .highlight").first
    block.hover()
    block.locator("button[data-md-type='copy']").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip("\n") == "\n".join(read_section(t) for t in first.targets)
    page.context.close()


def test_the_theme_toggle_switches_the_figures(server, browser):
    page = open_page(browser, server + "convolution/", "light")
    figure = page.locator("article .exec-figure").first
    figure.scroll_into_view_if_needed()

    def looks():
        return page.evaluate(
            """() => {
                const figure = document.querySelector('article .exec-figure');
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


def test_every_page_with_code_offers_its_notebook_and_says_what_verified_it(built_site):
    for md in sorted((ROOT / "docs").glob("*.md")):
        if not python_blocks(md.read_text(encoding="utf-8"), md.name):
            continue
        html = (built_site / md.stem / "index.html").read_text(encoding="utf-8")
        link = re.search(r'<a class="md-button" href="([^"]+)" download>Download notebook</a>', html)
        assert link, md.name
        assert (built_site / md.stem / link[1]).resolve().is_file()
        assert re.search(r"Verified with TensorFlow \d+\.\d+\.\d+, Keras \d+\.\d+\.\d+ on \d{4}-\d\d-\d\d\.", html), md.name


@pytest.mark.parametrize("query, page", [("set_random_seed", "/legacy/"), ("cross-entropy", "/softmax/")])
def test_search_finds_code_identifiers_and_math_terms(server, browser, query, page):
    site = open_page(browser, server)
    search = site.locator("input.md-search__input")
    search.click()
    search.fill(query)
    results = site.locator(".md-search-result__item a")
    results.first.wait_for()
    assert page in {urlsplit(href).path for href in results.evaluate_all("els => els.map(e => e.href)")}
    site.context.close()


def test_pages_link_to_the_previous_and_next_page_in_reading_order(server, browser):
    page = open_page(browser, server + "pooling/")
    assert page.locator("a.md-footer__link--prev").get_attribute("href").endswith("convolution/")
    assert page.locator("a.md-footer__link--next").get_attribute("href").endswith("dropout/")
    page.context.close()
