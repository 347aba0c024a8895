"""Run a bench script as a user would (``python bench/NAME.py ARGS``) and return what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, timeout: float = 300) -> str:
    """stdout of ``bench/<script>`` run to the end; a non-zero exit fails the test."""
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                          capture_output=True, text=True, timeout=timeout, check=True).stdout
