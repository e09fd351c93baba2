"""The site's build tools: the page pipeline (exec_hook.py connects its steps to MkDocs),
the notebooks, the reader's wheel, the math, and the measurements. Imported as the
`tools` package from the repository root (`python -m mkdocs`, `python -m tools.X`)."""
