"""The site's navigation (mkdocs.yml's `nav`) as lists of page paths."""

from __future__ import annotations


def nav_pages(nav: list) -> list[str]:
    """Every page path in a nav (or a section of it), in reading order."""
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def section_pages(nav: list, title: str) -> list[str]:
    """The pages of the top-level section `title`, in reading order."""
    section = next((item[title] for item in nav if isinstance(item, dict) and title in item), None)
    if section is None:
        raise LookupError(f"mkdocs.yml: no nav section {title!r}")
    return nav_pages(section)
