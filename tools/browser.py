"""What the browser tests and the Lighthouse audit share: a Chromium, and the site on a local port."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

INSTALL_CHROMIUM = (
    "install it with `make browser-tools`, or `apt-get install chromium` (Debian, as root), "
    "or `.venv/bin/python -m playwright install --with-deps chromium` (e.g. Ubuntu)"
)


def playwright_chromium() -> str | None:
    """Where Playwright's own Chromium is (installed or not), or None without Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as playwright:
        return playwright.chromium.executable_path


def find_chromium(playwright_own: str | None = None) -> str:
    """The Chromium to drive: $CNN_TUTORIAL_CHROMIUM when set (then that one or none), else
    `chromium` on PATH, else /usr/bin/chromium, else Playwright's own build (`playwright_own`).
    Raises LookupError, saying what to install, when there is none."""
    named = os.environ.get("CNN_TUTORIAL_CHROMIUM")
    if named:
        if not Path(named).is_file():
            raise LookupError(
                f"CNN_TUTORIAL_CHROMIUM={named} is not a file: point it at a Chromium executable, "
                f"or unset it and {INSTALL_CHROMIUM}"
            )
        return named
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium", playwright_own):
        if candidate and Path(candidate).is_file():
            return candidate
    raise LookupError(
        "Chromium is not installed (no `chromium` on PATH, no /usr/bin/chromium, none from "
        f"`playwright install`): {INSTALL_CHROMIUM}, or set CNN_TUTORIAL_CHROMIUM to a Chromium executable"
    )


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(folder: Path):
    """Serve `folder` over HTTP on a free local port; yields its URL (ending with a slash)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
