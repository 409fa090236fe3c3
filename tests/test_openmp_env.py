"""antiphon/__init__.py sets libgomp's spin count before any OpenMP library loads
(docs/runs/openmp-contention-2026-12-06.txt), and an operator's own value wins."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import antiphon, os; print(os.environ['GOMP_SPINCOUNT'])"


@pytest.mark.parametrize(("given", "expected"), [(None, "1000"), ("250000", "250000")])
def test_spin_count(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if given is not None:
        env["GOMP_SPINCOUNT"] = given
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected
