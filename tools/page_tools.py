"""Step 5 of the page pipeline: what a page with code offers under its title.

"Download notebook", "Open in Colab" (where the repository is known), the one
command that installs what the code imports outside a clone, and "Verified with"
(the TensorFlow and Keras that produced the outputs, and when). The hook puts them
in `page.meta["tools"]`; the theme override (overrides/partials/content.html)
shows them below the title.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import time
from pathlib import Path

from tools.blocks import ROOT

GITHUB = re.compile(
    r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?"
)


def repository() -> str:
    """The GitHub repository the site is published from (https://github.com/OWNER/NAME): the
    Pages workflow's REPO_URL, else the clone's `origin` remote; "" when neither names one."""
    url = os.environ.get("REPO_URL", "").strip()
    if not url:
        remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True)
        url = remote.stdout.strip() if remote.returncode == 0 else ""
    match = GITHUB.fullmatch(url)
    return f"https://github.com/{match['owner']}/{match['name']}" if match else ""


def branch() -> str:
    """The branch the notebooks are committed on: the Pages workflow's REPO_BRANCH (the ref it
    runs for), else the clone's current branch."""
    name = os.environ.get("REPO_BRANCH", "").strip()
    if not name:
        head = subprocess.run(["git", "branch", "--show-current"], cwd=ROOT, capture_output=True, text=True)
        name = head.stdout.strip() if head.returncode == 0 else ""
    return name


def colab_url(repo: str, branch_name: str, notebook: str) -> str:
    """Colab opens notebooks straight from a GitHub repository; notebook: path under docs/."""
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", repo)
    if not (match and branch_name):
        return ""
    return f"https://colab.research.google.com/github/{match[1]}/blob/{branch_name}/docs/{notebook}"


def verified_with() -> dict:
    """What a page's outputs are produced with: the versions that matter to a reader, and when."""
    return {
        "tensorflow": importlib.metadata.version("tensorflow"),
        "keras": importlib.metadata.version("keras"),
        "date": time.strftime("%Y-%m-%d"),
    }


def notebook_of(page_src: str) -> str:
    """The notebook (path under docs/) that holds the code of a page (its path under docs/)."""
    if page_src.endswith(".ipynb"):
        return page_src
    return f"downloads/{Path(page_src).stem}.ipynb"


def page_tools(page_src: str, page_url: str, verified: dict, *, repository: str, branch: str, install: str) -> dict:
    """The tools of one page, for the theme: links relative to the page."""
    from mkdocs.utils import get_relative_url

    notebook = notebook_of(page_src)
    # mkdocs-jupyter (include_source) copies a notebook page's file into the page's own folder.
    download = Path(notebook).name if notebook == page_src else get_relative_url(notebook, page_url)
    return {"download": download, "colab": colab_url(repository, branch, notebook), "install": install, **verified}
