"""Benchmarks (measurements, not tests): `python -m bench.training`, `python -m bench.site_build`,
`python -m bench.ci`.

Results are stored as JSON: the training benchmark's in snippets/training_faster.json
(the page docs/training_faster.md reads it), the others' in bench/results/; bench/README.md
shows them all, generated from those files by `python -m bench.report`. All describe the
machine the same way.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def machine_info() -> dict:
    """CPU model, cores, instruction sets that matter here, versions, date: where it was measured."""
    import keras
    import tensorflow as tf

    from snippets.mnist_training import cpu_name  # the training page names its machine the same way

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    flags = set(next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), []))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_name(),
        "cores": cores,
        "instruction_sets": sorted(flags & {"avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}),
        "bf16_hardware": bool(flags & {"avx512_bf16", "amx_bf16"}),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def write_results(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path}")
