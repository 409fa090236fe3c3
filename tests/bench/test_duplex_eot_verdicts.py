"""Offline end-of-turn verdicts on a duplex set: one question and one paused sentence of
the tuning seed, through the real smart-turn, Whisper and chat model."""

from __future__ import annotations

from pathlib import Path

import pytest

from antiphon.bench.duplex import eot_verdicts

pytestmark = [pytest.mark.models, pytest.mark.slow]


def test_verdicts_on_a_question_and_its_pauses(stack, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANTIPHON_CACHE", str(tmp_path))  # scenarios built here, not reused
    result = eot_verdicts.run(stack, seed=6, per_category=1)
    rows, summary = result["rows"], result["summary"]
    waits = {350, 800, 1500}
    question = [r for r in rows if r["id"] == "turn_taking-000"]  # type: ignore[index]
    pauses = [r for r in rows if r["id"] == "pause-000"]  # type: ignore[index]
    assert len(question) == 1 and 1 <= len(pauses) <= 2
    q = question[0]
    assert q["text"] and 0.0 <= q["acoustic"] <= 1.0 and 0.0 <= q["words"] <= 1.0
    assert q["wait_ms"] in waits
    for p in pauses:
        assert 0.35 <= p["pause_s"] <= 1.05 and p["wait_ms"] in waits
        assert p["cut"] == (p["wait_ms"] / 1000 < p["pause_s"])
    assert summary["turn_taking"] == 1 and summary["pauses"] == len(pauses)  # type: ignore[index]
    assert summary["pauses_cut"] == sum(p["cut"] for p in pauses)  # type: ignore[index]
