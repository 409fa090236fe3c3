"""The hash locks setup installs from match the pins they were made from."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if m:
            out[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    return out


def _hashed(path: Path) -> dict[str, int]:
    """name -> number of sha256 hashes listed for it."""
    counts: dict[str, int] = {}
    name = ""
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==", line)
        if m:
            name = re.sub(r"[-_.]+", "-", m[1]).lower()
            counts[name] = 0
        if name:
            counts[name] += len(re.findall(r"--hash=sha256:[0-9a-f]{64}", line))
    return counts


def test_lock_is_made_from_the_current_requirements() -> None:
    digest = hashlib.sha256(
        (ROOT / "requirements.txt").read_bytes() + (ROOT / "requirements-nodeps.txt").read_bytes()
    ).hexdigest()[:16]
    assert f"# inputs: {digest}" in (ROOT / "requirements.lock").read_text().splitlines(), (
        "requirements*.txt changed since the lock was made: run scripts/lock.sh"
    )


def test_every_pin_is_locked_at_its_version_with_hashes() -> None:
    for src, lock in (
        ("requirements.txt", "requirements.lock"),
        ("requirements-nodeps.txt", "requirements-nodeps.lock"),
    ):
        locked, hashed = _pins(ROOT / lock), _hashed(ROOT / lock)
        for name, version in _pins(ROOT / src).items():
            assert locked.get(name) == version, (src, name, version, locked.get(name))
        assert hashed and all(n > 0 for n in hashed.values()), (lock, hashed)
    # torch comes from its own step (the +cpu build is not on PyPI); its dependencies are locked
    locked = _pins(ROOT / "requirements.lock")
    assert "torch" not in locked and {"sympy", "networkx", "filelock"} <= set(locked)
