"""List the numbers in a built page's prose that the build did not produce.

Rule: prose never states a measured number that the same build did not produce. A
number in a page's running text is accounted for when it also stands in what the build
put on that page (the code and its printed output, the values it filled into the prose,
`{{ expression }}`), in the page's math, or in FIXED below: facts that no run of this
site measures (a year, a note's number, a version, the notes' own figures). Everything
else is listed, page by page, so that a person can see whether a measured value slipped
into the prose by hand.

Usage: python -m tools.prose_numbers SITE_DIR   (exit status 1 when anything is listed)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

NUMBER = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")
# Not quantities: dates (2018-09-05), intervals ([0, 1]), section numbers (section 2.2), licence and
# software versions (Keras 2.1.6, Python 3.11), the notes' numbers (note 003), years (2015) and
# figure numbers (Fig. 6-8).
NOT_QUANTITIES = re.compile(
    r"\b\d{4}[-/]\d\d[-/]\d\d\b"
    r"|\[\d+(?:\.\d+)?, ?\d+(?:\.\d+)?\]"
    r"|\b[Ss]ections?[ \xa0]+\d+(?:\.\d+)*(?:(?:,|,? and| to)[ \xa0]+\d+(?:\.\d+)*)*"
    r"|\bBY-SA[ \xa0]+\d+(?:\.\d+)*"
    r"|\b(?:Keras|TensorFlow|tf\.keras|Python|NumPy|MkDocs|Material|version|versions|release|releases|v)[ \xa0]+"
    r"\d+(?:\.\d+)*(?:[ \xa0]*(?:to|and|or|-|–)[ \xa0]*\d+(?:\.\d+)*)?"
    r"|\b\d+\.\d+\.\d+\b"
    r"|(?<![\w.,])0\d\d(?![\w])"
    r"|(?<![\w.,])(?:19[5-9]\d|20[0-3]\d)(?![\w%]|[.,]\d)"
    r"|(?:Fig\.|Figure|§|Section|Chapter|Eq\.)[ \xa0]*\d+(?:[.-]\d+)*"
)
# Where the build's own output and the math live on a page, and the page furniture.
PRODUCED = "pre, code, .exec-result, .exec-value, .exec-figure, svg"
MATH = "math, .arithmatex"
FURNITURE = ".page-tools, .headerlink, script, style, .md-source-file, .md-feedback"

# Facts no run of this site measures, and why each is one. Keep it short: a number that a run
# produces belongs in the prose as {{ expression }}, filled in by the build.
FIXED: dict[str, str] = {
    "70000": "MNIST's size: 60,000 training + 10,000 test images",
    "60000": "MNIST's training images",
    "10000": "MNIST's test images",
    "5000": "the offline sample's training images",
    "54000": "90% of MNIST's 60,000 training images, what validation_split=0.1 leaves to train on",
    "6000": "10% of MNIST's 60,000, what validation_split=0.1 holds out",
    "55000": "the training images of the old TensorFlow 1 tutorial's split, which note 003 quotes",
    "3222954": "the notes' CNN's parameter count (note 003), which the pages work out by hand",
    "9621": "the number of the Keras issue the notes link (keras-team/keras#9621)",
    "11": "the size in MB of mnist.npz, which keras.datasets.mnist downloads",
    "99": "the test accuracy Keras's old mnist_cnn.py example claims after 12 epochs (its docstring: 99.25%)",
}


def normalized(number: str) -> str:
    return number.replace(",", "")


def page_numbers(html: str) -> tuple[list[str], set[str]]:
    """(the numbers of the prose in order, the numbers the build produced or the math shows)."""
    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article") or soup
    accounted = set()
    for selector in (PRODUCED, MATH, FURNITURE):
        for element in article.select(selector):
            if selector != FURNITURE:
                accounted |= {normalized(n) for n in NUMBER.findall(element.get_text(" "))}
            element.decompose()
    prose = NOT_QUANTITIES.sub(" ", article.get_text(" "))
    return [normalized(n) for n in NUMBER.findall(prose)], accounted


def in_context(html: str, number: str, width: int = 60) -> list[str]:
    """Each place `number` stands in the page's prose, with the text around it."""
    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article") or soup
    for element in article.select(f"{PRODUCED}, {MATH}, {FURNITURE}"):
        element.decompose()
    text = re.sub(r"\s+", " ", article.get_text(" "))
    return [
        text[max(0, m.start() - width) : m.end() + width] for m in NUMBER.finditer(text) if normalized(m[0]) == number
    ]


def unaccounted(site: Path) -> dict[str, list[str]]:
    """Page (path in the site) -> the numbers of its prose that nothing accounts for."""
    found = {}
    for file in sorted(site.rglob("index.html")):
        page = file.parent.relative_to(site).as_posix() or "."
        prose, accounted = page_numbers(file.read_text(encoding="utf-8"))
        left = [n for n in prose if n not in accounted and n not in FIXED]
        if left:
            found[page] = left
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m tools.prose_numbers SITE_DIR", file=sys.stderr)
        return 2
    site = Path(argv[0])
    found = unaccounted(site)
    for page, numbers in found.items():
        print(f"{page}: {', '.join(numbers)}")
        html = (site / page / "index.html").read_text(encoding="utf-8")
        for number in dict.fromkeys(numbers):
            for place in in_context(html, number):
                print(f"    {number}: ...{place}...")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
