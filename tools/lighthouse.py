"""Lighthouse scores of the built site, served locally, in Chromium.

    make lighthouse            # builds the site, installs Lighthouse, then runs this
    python -m tools.lighthouse [SITE_DIR] [PAGE ...]

Lighthouse has its own npm package, tools/lighthouse/package.json and its lock,
installed into tools/lighthouse/node_modules by `make lighthouse` only (the
tests need just axe-core, from the root package.json). Chromium is the same
one the browser tests use: $CNN_TUTORIAL_CHROMIUM, else `chromium` on PATH,
else /usr/bin/chromium, else the one `playwright install chromium` put in place.

Prints performance, accessibility, best practices and SEO for each page (the
home page, a concept page, the notebook page and the Draw a digit page by default), the goals they
meet or miss, and every request that went to another host (there should be
none: the site serves its own assets). Scores depend on the machine, so this
is a measurement (it prints the scores), not a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from tools.browser import find_chromium, playwright_chromium, serving

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking"
PAGES = ["", "convolution/", "notebooks/mnist_cnn/", "mnist_draw/"]
GOALS = {"performance": 90, "accessibility": 95, "best-practices": 95, "seo": 95}


def audit(url: str, out: Path, browser: Path) -> dict:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-flags={FLAGS}",
            "--only-categories=" + ",".join(GOALS),
            "--preset=desktop",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": str(browser)},
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    scores = {name: round(100 * report["categories"][name]["score"]) for name in GOALS}
    host = urlsplit(url).netloc
    requests = report["audits"]["network-requests"]["details"]["items"]
    scores["third-party requests"] = sorted({r["url"] for r in requests if urlsplit(r["url"]).netloc not in (host, "")})
    return scores


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else ROOT / "site"
    pages = argv[1:] or PAGES
    for need, hint in (
        (site / "index.html", "build the site first: make build"),
        (LIGHTHOUSE, "install it: make lighthouse (or npm ci --prefix tools/lighthouse)"),
    ):
        if not need.is_file():
            print(f"lighthouse: {need} not found; {hint}", file=sys.stderr)
            return 2
    try:
        browser = Path(find_chromium(playwright_chromium()))
    except LookupError as error:
        print(f"lighthouse: {error}", file=sys.stderr)
        return 2
    results, missed = {}, []
    with tempfile.TemporaryDirectory() as tmp, serving(site) as root_url:
        for page in pages:
            results[page or "/"] = audit(root_url + page, Path(tmp) / "report.json", browser)
    print(f"{'page':28}" + "".join(f"{name:>16}" for name in GOALS) + "  third-party requests")
    for page, scores in results.items():
        print(
            f"{page:28}" + "".join(f"{scores[name]:>16}" for name in GOALS) + f"  {len(scores['third-party requests'])}"
        )
        missed += [f"{page} {name} {scores[name]} < {goal}" for name, goal in GOALS.items() if scores[name] < goal]
        missed += [f"{page} requests {url}" for url in scores["third-party requests"]]
    print(
        "goals ("
        + ", ".join(f"{n} >= {g}" for n, g in GOALS.items())
        + ", no third-party requests): "
        + ("all met" if not missed else "missed: " + "; ".join(missed))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
