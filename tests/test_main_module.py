"""`python -m antiphon` runs the same command line as the `antiphon` script."""

from __future__ import annotations

import subprocess
import sys


def test_python_dash_m_antiphon() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "antiphon", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout and "usage:" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "antiphon", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
