"""bench/README.md is generated from the stored results (bench/report.py), never edited by hand."""

from __future__ import annotations

from bench import report

MACHINE = {"cpu": "Test CPU", "cores": 3, "tensorflow": "9.9.9", "keras": "8.8.8", "date": "2001-02-03 04:05 UTC"}


def test_the_committed_benchmark_readme_is_what_the_stored_results_give():
    assert report.main(["--check"]) == 0, "bench/README.md is out of date: run python -m bench.report"


def test_a_number_in_the_results_appears_in_its_table_with_the_machine_and_date():
    results = {
        "site_build": {
            "machine": MACHINE,
            "data": "made-up data",
            "runs": [
                {"name": "cold", "seconds": 123.4, "executed": ["a.md", "b.md"], "cached": []},
                {"name": "warm", "seconds": 5.67, "executed": [], "cached": ["a.md", "b.md"]},
            ],
            "chapter": {"section": "A chapter", "pages": {"b.md": 98.7}, "seconds": 98.7, "goal": 300},
        },
        "ci": {
            "machine": MACHINE,
            "before": {"revision": "aaaaaaa", "seconds": {"test": 200.0, "whole run": 250.0}},
            "after": {"revision": "bbbbbbb", "seconds": {"test": 100.0, "whole run": 125.0}},
        },
    }
    text = report.render(results)
    rows = text.splitlines()
    assert "| cold: empty caches, trains the chapter's models | 123.4 | 2 of 2 |" in rows
    assert "| warm: nothing changed | 5.7 | 0 of 2 |" in rows
    assert "| `b.md` | 98.7 |" in rows  # the page's seconds, from the chapter's record
    assert "| test | 200.0 | 100.0 | 0.50x |" in rows
    assert "Measured 2001-02-03 04:05 UTC on Test CPU, 3 cores, TensorFlow 9.9.9, Keras 8.8.8." in text
    # What the results lack is reported, not invented: no full-MNIST edition, no accuracy, no training run.
    assert text.count("Not measured yet") == 3
    assert "`python -m bench.site_build --data full` writes `bench/results/site_build_full.json`" in text


def test_newer_results_show_the_tool_edit_run_and_the_model_key():
    results = {
        "site_build": {
            "machine": MACHINE,
            "runs": [
                {"name": "edit", "seconds": 10.0, "executed": ["p.md"], "cached": ["q.md"]},
                {"name": "tool edit", "seconds": 4.31, "executed": [], "cached": ["p.md", "q.md"]},
            ],
            "edit": {"snippet": "snippets/p.py", "expected": ["p.md"], "only_those_executed": True},
            "tool_edit": {"tools": ["tools/notebooks.py"], "executed": []},
            "model_key": {"keys": {"before": "k1", "after an edit": "k2"}, "follows_imports": True},
            "goals": {"tool_edit_reexecutes_nothing": True, "chapter_under_5_min": False},
        }
    }
    text = report.render(results)
    assert "| edit: a comment appended to `snippets/p.py` | 10.0 | 1 of 2: `p.md` (as expected) |" in text
    assert "| tool edit: a comment appended to `tools/notebooks.py` | 4.3 | 0 of 2 |" in text
    assert "follows the training code's imports (before: `k1`, after an edit: `k2`)" in text
    assert "- editing the tools that do not run pages re-executes no page: met" in text
    assert "- the MNIST chapter under 5 minutes: missed" in text


def test_every_benchmark_names_its_machine_as_the_training_page_does():
    """bench.machine_info() takes the CPU's name from snippets.mnist_training.cpu_name()."""
    import bench
    from snippets.mnist_training import cpu_name

    assert bench.machine_info()["cpu"] == cpu_name() != ""
