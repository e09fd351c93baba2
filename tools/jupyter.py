"""Everything this site changes about mkdocs-jupyter, the plugin that renders notebook pages.

Two things, both tested against the plugin itself (tests/test_build.py), so that an
upgrade that changes what they rely on fails a test instead of the site:

- Its cache: mkdocs-jupyter caches an executed notebook under a hash of the notebook
  alone, but the notebook page's outputs also depend on the `snippets` it imports and
  the environment. Its cache folder moves under a key of both, beside the pages' cache.
- Its MathJax loader: the site renders math to MathML while it builds
  (tools/math_hook.py), so the loader, an empty script source and its settings, goes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil

from mkdocs.exceptions import PluginError

from tools.blocks import ROOT
from tools.keys import cache_dir, hash_files
from tools.page_tools import verified_with

MATHJAX_LOADER = re.compile(
    r'<!-- Load mathjax -->\s*<script src="[^"]*">\s*</script>\s*<!-- MathJax configuration -->\s*'
    r'<script type="text/x-mathjax-config">.*?</script>',
    re.S,
)


def configure(plugin, fingerprint: str) -> dict:
    """Check the plugin's settings, point its cache at a folder keyed on the environment and
    the whole `snippets` package, and return when that folder's notebooks were executed."""
    if plugin.config.get("allow_errors") is not False:
        raise PluginError("mkdocs.yml: mkdocs-jupyter must set allow_errors: false")
    hasher = hashlib.sha256(fingerprint.encode())
    hash_files(hasher, [f for f in (ROOT / "snippets").rglob("*") if f.is_file() and "__pycache__" not in f.parts])
    folder = cache_dir() / "jupyter" / hasher.hexdigest()[:16]
    stamp = folder.parent / f"{folder.name}.verified.json"  # not inside: mkdocs-jupyter evicts strangers
    for stale in folder.parent.glob("*"):
        if stale not in (folder, stamp):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
    plugin.config["cache_dir"] = str(folder)
    # mkdocs-jupyter executes notebooks whose outputs are not in this folder yet: record when.
    if not stamp.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(verified_with()), encoding="utf-8")
    return json.loads(stamp.read_text(encoding="utf-8"))


def without_mathjax(html: str) -> str:
    """A notebook page's HTML without mkdocs-jupyter's MathJax loader."""
    return MATHJAX_LOADER.sub("", html)
