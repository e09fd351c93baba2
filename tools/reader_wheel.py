"""The reader's install: a wheel of the `snippets` package, served by the site itself.

Every page with code tells a reader outside a clone to run one command,
`pip install SITE/downloads/<wheel>`, which brings the modules the page's blocks
import and only the runtime dependencies of pyproject.toml (no MkDocs, no test
tools). The wheel is built while the site builds, from the same files, so it is
never stale and needs no release or setting from the repository's owner.

It is written here with zipfile rather than by a build backend: the site's
environment need not have one, and the bytes depend only on the files (fixed
timestamps), so the same sources give the same wheel. Which files go in comes
from pyproject.toml ([tool.setuptools] packages and package-data), like
`pip install .`. The offline MNIST sample goes in only for the sample edition:
without it, the package's data default is full MNIST, as the published pages use.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "snippets/sample/"
TAG = "py3-none-any"


def project(root: Path = ROOT) -> dict:
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def wheel_name(root: Path = ROOT) -> str:
    meta = project(root)["project"]
    return f"{meta['name'].replace('-', '_')}-{meta['version']}-{TAG}.whl"


def package_files(root: Path = ROOT, *, sample: bool = True) -> list[str]:
    """Paths (relative to root) of what `pip install .` installs: each package's modules and
    the package data its patterns name; the sample only when `sample`."""
    config = project(root)["tool"]["setuptools"]
    data = config.get("package-data", {})
    found = []
    for package in config["packages"]:
        folder = root / Path(*package.split("."))
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            relative = file.relative_to(folder).as_posix()
            direct = "/" not in relative
            if (direct and file.suffix == ".py") or any(fnmatch.fnmatch(relative, p) for p in data.get(package, [])):
                found.append(file.relative_to(root).as_posix())
    return [f for f in found if sample or not f.startswith(SAMPLE)]


def metadata(root: Path = ROOT) -> str:
    meta = project(root)["project"]
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta['name']}",
        f"Version: {meta['version']}",
        f"Summary: {meta['description']}",
        f"Requires-Python: {meta['requires-python']}",
    ]
    return "\n".join(lines + [f"Requires-Dist: {d}" for d in meta["dependencies"]]) + "\n"


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(root: Path = ROOT, *, sample: bool = True) -> bytes:
    """The wheel's bytes: the package files, then METADATA, WHEEL and RECORD (PEP 427)."""
    meta = project(root)["project"]
    info = f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    contents = {name: (root / name).read_bytes() for name in package_files(root, sample=sample)}
    contents[f"{info}/METADATA"] = metadata(root).encode()
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tools/wheel.py\nRoot-Is-Purelib: true\nTag: {TAG}\n"
    ).encode()
    record = [record_line(name, data) for name, data in contents.items()] + [f"{info}/RECORD,,"]
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def install_command(site_url: str, root: Path = ROOT) -> str:
    """What a page tells a reader outside the clone to run (site_url ends with a slash)."""
    return f"pip install {site_url}downloads/{wheel_name(root)}"
