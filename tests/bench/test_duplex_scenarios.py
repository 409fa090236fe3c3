"""Scenario sets: deterministic by seed, cached with a version, and built as the
categories say (pauses of 0.4-1.0 s, overlaps during the answer, far-field distractors at a
lower level, an echo path with a delay)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from antiphon.bench.duplex import noises, texts
from antiphon.bench.duplex.effects import rms_db
from antiphon.bench.duplex.scenarios import VERSION, ScenarioError, load_set, set_folder
from antiphon.bench.duplex.voices import AGENT_VOICE, USER_VOICES, VoiceError, synthesize
from antiphon.cascade.backchannel import is_backchannel


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


def test_no_user_speaks_with_the_agents_voice(scenarios) -> None:  # type: ignore[no-untyped-def]
    assert not any(v.partition(":")[0] == AGENT_VOICE for v in USER_VOICES)
    engines = {v.partition(":")[0] for v in USER_VOICES}
    assert engines == {"flite", "espeak", "festival"}
    for s in scenarios:
        for p in s.parts:
            assert p.voice.partition(":")[0] != AGENT_VOICE, (s.id, p.voice)


def test_soft_interruptions_are_8_to_12_db_below_the_user(scenarios) -> None:  # type: ignore[no-untyped-def]
    soft = by_cat(scenarios, "soft_interruption")
    assert len(soft) == 6
    for s in soft:
        q, d = s.parts
        assert d.role == "interrupt" and d.when == "agent" and 1.5 <= d.start_s <= 3.0
        assert d.voice == q.voice and d.text in texts.SOFT_INTERRUPTS
        assert -12.0 <= d.level_db <= -8.0
        drop = rms_db(s.audio(q)) - rms_db(s.audio(d))
        assert drop == pytest.approx(-d.level_db, abs=0.5), s.id


def test_unlisted_backchannels_are_outside_the_agents_list(scenarios) -> None:  # type: ignore[no-untyped-def]
    for phrase in texts.UNLISTED_BACKCHANNELS:
        assert not is_backchannel(phrase), phrase
    got = by_cat(scenarios, "unlisted_backchannel")
    assert [s.variant for s in got] == ["words", "words", "noise"] * 2
    noise = {s.parts[1].text for s in got if s.variant == "noise"}
    assert noise == {"cough", "laugh"}  # scenarios 2 and 5; the knock is scenario 8
    for s in got:
        b = s.parts[1]
        assert b.role == "backchannel" and -3.0 <= b.level_db <= 0.0
        assert 0.2 <= b.duration_s <= 1.5, (s.id, b.duration_s)
        assert b.speech, s.id  # the analysis needs its onset


def test_noises_are_deterministic_and_distinct() -> None:
    made = {n: noises.make(n, np.random.default_rng(3), 16000) for n in noises.NOISES}
    for n, a in made.items():
        assert np.array_equal(a, noises.make(n, np.random.default_rng(3), 16000))
        assert 0.2 <= len(a) / 16000 <= 1.5 and np.abs(a).max() == pytest.approx(0.5, abs=1e-3)

    # a knock's power sits low (panel resonances), a laugh's around the formants of /a/,
    # a cough's is broadband: their spectral centroids (power-weighted) are far apart
    def centroid(a: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(a)) ** 2
        return float((power * np.fft.rfftfreq(len(a), 1 / 16000)).sum() / power.sum())

    assert centroid(made["knock"]) < 600 < centroid(made["laugh"]) < 1400 < centroid(made["cough"])
    with pytest.raises(ValueError, match="unknown noise"):
        noises.make("sneeze", np.random.default_rng(0), 16000)
