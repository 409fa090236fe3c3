"""Every model file is pinned by sha256 and a mismatch fails loudly, naming the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from antiphon import models


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "site" / "pins_fake_pkg"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_verified", set())
    return pkg


def test_a_file_that_does_not_match_its_pin_is_refused(fake_package: Path) -> None:
    weights = fake_package / "data" / "w.bin"
    weights.write_bytes(b"the real weights")
    pin = models.PackagedFile(
        "pins_fake_pkg", "data/w.bin", hashlib.sha256(b"the real weights").hexdigest()
    )
    assert pin.path() == weights
    # same size, other bytes (a corrupted or swapped file): the stamp does not excuse it
    weights.write_bytes(b"the fake weights")
    os.utime(weights, ns=(1, 1))
    models._verified.clear()
    with pytest.raises(models.ModelNotFound, match=r"w\.bin.*pins_fake_pkg.*expected"):
        pin.path()
    with pytest.raises(models.ModelNotFound, match="missing from package"):
        models.PackagedFile("pins_fake_pkg", "data/none.bin", pin.sha256).path()


def test_every_installed_model_file_matches_its_pin() -> None:
    pins = [models.SMOLLM2_GGUF, models.SILERO_VAD, models.SMART_TURN]
    pins += [*models.WHISPER_TINY_EN, *models.WHISPER_BASE_FILES, *models.PIPER_VOICE]
    for pin in pins:
        assert len(pin.sha256) == 64
        assert pin.path().is_file()
    for joined in (models.QWEN_GGUF, models.QWEN_1_5B_GGUF, models.WHISPER_BASE_BIN):
        assert joined.assemble().stat().st_size == joined.size
