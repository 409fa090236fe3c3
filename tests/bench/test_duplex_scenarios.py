"""Scenario sets: deterministic by seed, cached with a version, and built as the
categories say (pauses of 0.4-1.0 s, overlaps during the answer, far-field distractors at a
lower level, an echo path with a delay)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from antiphon.bench.duplex.effects import rms_db
from antiphon.bench.duplex.scenarios import VERSION, ScenarioError, load_set, set_folder
from antiphon.bench.duplex.voices import VoiceError, synthesize


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    return load_set(6, seed=11, root=tmp_path_factory.mktemp("duplex"))


def by_cat(scenarios: list, cat: str) -> list:  # type: ignore[type-arg]
    return [s for s in scenarios if s.category == cat]


def test_same_seed_same_audio_other_seed_other_audio(tmp_path: Path) -> None:
    a = load_set(2, ["pause", "background"], seed=5, root=tmp_path / "a")
    b = load_set(2, ["pause", "background"], seed=5, root=tmp_path / "b")
    c = load_set(2, ["pause", "background"], seed=6, root=tmp_path / "c")
    for x, y in zip(a, b, strict=True):
        assert x == y
        for p in x.parts:
            assert np.array_equal(x.audio(p), y.audio(p))
    assert [x.parts for x in a] != [z.parts for z in c]


def test_the_cache_is_reused_and_keyed_by_version_and_seed(tmp_path: Path) -> None:
    built: list[str] = []
    load_set(1, ["turn_taking"], seed=2, root=tmp_path, progress=built.append)
    load_set(2, ["turn_taking"], seed=2, root=tmp_path, progress=built.append)
    assert len(built) == 2  # scenario 0 once, then only scenario 1
    assert set_folder(2, tmp_path).name == f"{VERSION}-seed2"
    assert (set_folder(2, tmp_path) / "turn_taking-001" / "scenario.json").is_file()


def test_bad_requests_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown category chitchat; choose from pause"):
        load_set(1, ["pause", "chitchat"], root=tmp_path)
    with pytest.raises(ScenarioError, match="at least 1"):
        load_set(0, root=tmp_path)
    with pytest.raises(VoiceError, match="unknown voice"):
        synthesize("hello", "festival:kal")


def test_pauses_are_mid_turn_and_0_4_to_1_0_s(scenarios) -> None:  # type: ignore[no-untyped-def]
    for s in by_cat(scenarios, "pause"):
        speech = s.parts[0].speech
        gaps = [b[0] - a[1] for a, b in zip(speech, speech[1:], strict=False)]
        assert 1 <= len(gaps) <= 2, s.id
        assert all(0.35 <= g <= 1.05 for g in gaps), (s.id, gaps)
        assert s.tail_s == 5.0


def test_overlaps_start_a_few_seconds_into_the_answer(scenarios) -> None:  # type: ignore[no-untyped-def]
    for cat in ("interruption", "backchannel", "background"):
        for s in by_cat(scenarios, cat):
            q, d = s.parts
            assert q.role == "question" and q.when == "start"
            assert d.when == "agent" and 1.5 <= d.start_s <= 3.0, s.id


def test_backchannels_include_mandarin(scenarios) -> None:  # type: ignore[no-untyped-def]
    texts = {s.parts[1].text for s in by_cat(scenarios, "backchannel")}
    assert texts == {"mm-hmm", "yeah", "right", "uh-huh", "okay", "嗯"}


def test_distractors_are_quieter_than_the_user(scenarios) -> None:  # type: ignore[no-untyped-def]
    variants = set()
    for s in by_cat(scenarios, "background"):
        q, d = s.parts
        variants.add(s.variant)
        assert rms_db(s.audio(d)) <= rms_db(s.audio(q)) - 9.0, s.id
        assert -20.0 <= d.level_db <= -10.0
    assert variants == {"talking to others", "background speech"}


def test_echo_path_has_its_delay(scenarios) -> None:  # type: ignore[no-untyped-def]
    for s in by_cat(scenarios, "echo"):
        assert s.echo is not None and 60 <= s.echo.delay_ms <= 200
        ir = s.echo_ir()
        first = int(np.argmax(np.abs(ir) > 1e-4))
        assert first == pytest.approx(s.echo.delay_ms * 16, abs=16)
