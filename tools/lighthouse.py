"""Lighthouse scores of the built site, served locally, in Chromium.

    make lighthouse            # builds the site, installs Lighthouse, then runs this
    python tools/lighthouse.py [SITE_DIR] [PAGE ...]

Lighthouse has its own npm package, tools/lighthouse/package.json and its lock,
installed into tools/lighthouse/node_modules by `make lighthouse` only (the
tests need just axe-core, from the root package.json). Chromium is the same
one the browser tests use: $CNN_TUTORIAL_CHROMIUM, else `chromium` on PATH,
else /usr/bin/chromium, else the one `playwright install chromium` put in place.

Prints performance, accessibility, best practices and SEO for each page (the
home page, a concept page and the notebook page by default), the goals they
meet or miss, and every request that went to another host (there should be
none: the site serves its own assets). Scores depend on the machine, so this
is a measurement to record (README, development section), not a test.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking"
PAGES = ["", "convolution/", "notebooks/mnist_cnn/"]
GOALS = {"performance": 90, "accessibility": 95, "best-practices": 95, "seo": 95}


def chromium() -> Path:
    """The Chromium to audit in (it need not exist: main() says what to install)."""
    if os.environ.get("CNN_TUTORIAL_CHROMIUM"):
        return Path(os.environ["CNN_TUTORIAL_CHROMIUM"])
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return Path("/usr/bin/chromium")
    with sync_playwright() as playwright:
        own = Path(playwright.chromium.executable_path)
    return own if own.is_file() else Path("/usr/bin/chromium")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def audit(url: str, out: Path, browser: Path) -> dict:
    subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}", f"--chrome-flags={FLAGS}",
         "--only-categories=" + ",".join(GOALS), "--preset=desktop"],
        check=True, env={**os.environ, "CHROME_PATH": str(browser)},
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
    browser = chromium()
    for need, hint in ((site / "index.html", "build the site first: make build"),
                       (LIGHTHOUSE, "install it: make lighthouse (or npm ci --prefix tools/lighthouse)"),
                       (browser, "install it: make browser-tools, apt-get install chromium (Debian) or "
                                 ".venv/bin/python -m playwright install --with-deps chromium")):
        if not need.is_file():
            print(f"lighthouse: {need} not found; {hint}", file=sys.stderr)
            return 2
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    results, missed = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for page in pages:
            url = f"http://127.0.0.1:{httpd.server_address[1]}/{page}"
            results[page or "/"] = audit(url, Path(tmp) / "report.json", browser)
    httpd.shutdown()
    print(f"{'page':28}" + "".join(f"{name:>16}" for name in GOALS) + "  third-party requests")
    for page, scores in results.items():
        print(f"{page:28}" + "".join(f"{scores[name]:>16}" for name in GOALS) + f"  {len(scores['third-party requests'])}")
        missed += [f"{page} {name} {scores[name]} < {goal}" for name, goal in GOALS.items() if scores[name] < goal]
        missed += [f"{page} requests {url}" for url in scores["third-party requests"]]
    print("goals (" + ", ".join(f"{n} >= {g}" for n, g in GOALS.items()) + ", no third-party requests): "
          + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
