"""Synthetic dialogues: layout on two channels, word timing, determinism, summary."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from antiphon.data.align import fill_between_anchors, match_whisper, whisper_anchors
from antiphon.data.layout import TimingConfig
from antiphon.data.manifest import DialogueRecord, load_manifest, read_dialogue_audio
from antiphon.data.synth import SynthConfig, synth_dataset
from antiphon.data.text_stream import num_frames_for, text_stream

pytestmark = pytest.mark.models

# every turn change overlaps, every long turn gets a backchannel, every comma a pause
FORCED = TimingConfig(
    p_overlap=1.0, p_interrupt=0.0, p_backchannel=1.0, backchannel_min_turn_s=1.2, p_pause=1.0
)
CFG = SynthConfig(dialogues=2, seed=7, max_turns=3, heldout_fraction=0.5, timing=FORCED)
TOL = 0.005  # seconds: manifest times are rounded to the millisecond


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth") / "ds"
    return out, synth_dataset(out, CFG, progress=False)


def spans(rec: DialogueRecord, speaker: str) -> list[tuple[float, float]]:
    return [(t.start, t.end) for t in rec.turns if t.speaker == speaker]


def test_files_follow_the_contract(dataset: tuple[Path, dict]) -> None:
    root, summary = dataset
    records = load_manifest(root)  # validates keys, spans and each WAV's rate/channels/length
    assert [r.id for r in records] == ["d00000", "d00001"]
    for rec in records:
        info = sf.info(str(rec.audio_path(root)))
        assert (info.samplerate, info.channels, info.subtype) == (24000, 2, "PCM_16")
        assert rec.voices["agent"] == "piper:joe" and rec.voices["user"] != "piper:joe"
    assert summary["dialogues"] == 2 and summary["seed"] == 7
    assert [r.split for r in records] == ["train", "heldout"]  # --heldout-fraction 0.5
    stereo = read_dialogue_audio(root, records[0])
    assert stereo.shape == (records[0].num_samples, 2) and np.abs(stereo).max() > 0.1
    assert json.loads((root / "summary.json").read_text())["turns"] == summary["turns"]


def test_each_channel_is_silent_outside_its_speakers_turns(dataset: tuple[Path, dict]) -> None:
    root, _ = dataset
    for rec in load_manifest(root):
        audio, rate = sf.read(str(rec.audio_path(root)), dtype="float32")
        t = np.arange(len(audio)) / rate
        for ch, speaker in enumerate(("agent", "user")):
            inside = np.zeros(len(audio), bool)
            for start, end in spans(rec, speaker):
                inside |= (t >= start - TOL) & (t <= end + TOL)
                seg = audio[int(start * rate) : int(end * rate), ch]
                assert np.sqrt(np.mean(seg**2)) > 0.01, (rec.id, speaker, start)  # speech there
            assert np.max(np.abs(audio[~inside, ch]), initial=0.0) == 0.0, (rec.id, speaker)


def test_forced_overlaps_backchannels_and_pauses_happen(dataset: tuple[Path, dict]) -> None:
    root, summary = dataset
    assert summary["overlapping_turn_starts"] >= 2 and summary["gap_s"]["negative_fraction"] == 1.0
    assert summary["overlap_seconds"] > 0.1
    assert summary["pauses_in_turns"] >= 1
    assert summary["backchannels"] >= 1
    kinds = {t.kind for rec in load_manifest(root) for t in rec.turns}
    assert "backchannel" in kinds
    for rec in load_manifest(root):  # the audio really overlaps where the turns do
        audio, _ = sf.read(str(rec.audio_path(root)), dtype="float32")
        both = (np.abs(audio[:, 0]) > 0) & (np.abs(audio[:, 1]) > 0)
        assert both.sum() > 0.05 * 24000


def test_words_lie_inside_their_turns_and_feed_the_text_stream(
    dataset: tuple[Path, dict],
) -> None:
    root, summary = dataset
    for rec in load_manifest(root):
        for speaker in ("agent", "user"):
            words = rec.words[speaker]
            assert words, (rec.id, speaker)
            text = " ".join(t.text for t in rec.turns if t.speaker == speaker).split()
            assert sorted(w.word for w in words) == sorted(text)  # script words, none lost
            for w in words:
                assert any(s - TOL <= w.start <= w.end <= e + TOL for s, e in spans(rec, speaker))
            assert all(a.end <= b.start + TOL for a, b in zip(words, words[1:], strict=False))

        class CharTok:  # one token per character keeps the check independent of a vocabulary
            def encode(self, text: str) -> list[int]:
                return [ord(c) for c in text]

        n = num_frames_for(rec.num_samples)
        toks = text_stream(rec.words["agent"], CharTok(), n, padding_id=-1, end_padding_id=-2)
        assert sum(t >= 0 for t in toks) == sum(len(w.word) for w in rec.words["agent"])
    assert summary["alignment"]["whisper"] >= 1  # Whisper timed most turns


@pytest.mark.parametrize("workers", [1, 2])
def test_same_seed_gives_identical_files(
    dataset: tuple[Path, dict], tmp_path: Path, workers: int
) -> None:
    """Also with the dialogues rendered in 2 worker processes (the recipe's data stage)."""
    root, summary = dataset
    again = tmp_path / "again"
    assert synth_dataset(again, CFG, progress=False, workers=workers) == summary
    assert (again / "manifest.jsonl").read_bytes() == (root / "manifest.jsonl").read_bytes()
    for rec in load_manifest(root):
        assert rec.audio_path(again).read_bytes() == rec.audio_path(root).read_bytes()


def test_interruptions_cut_the_previous_turn_and_its_words(tmp_path: Path) -> None:
    timing = TimingConfig(p_interrupt=1.0, p_backchannel=0.0, p_pause=0.0)
    cfg = replace(CFG, dialogues=1, max_turns=4, alignment="proportional", timing=timing, seed=3)
    summary = synth_dataset(tmp_path, cfg, progress=False)
    rec = load_manifest(tmp_path)[0]
    main = [t for t in rec.turns if t.kind != "backchannel"]
    assert summary["interruptions"] >= 1
    for prev, nxt in zip(main, main[1:], strict=False):
        if nxt.kind == "interruption":
            assert nxt.start < prev.end  # the interrupted speaker goes on briefly, then stops
            cut_words = [w for w in rec.words[prev.speaker] if prev.start <= w.start < prev.end]
            assert " ".join(w.word for w in cut_words) == prev.text
            assert all(w.end <= prev.end + TOL for w in cut_words)


def test_whisper_matching_needs_every_script_word() -> None:
    whisper = [("Most", 0.0, 0.2), ("pasta", 0.2, 0.6), ("needs", 0.6, 0.8), ("9", 0.8, 1.5)]
    timed = match_whisper(["most", "pasta", "needs", "nine"], whisper)  # digits match words
    assert timed is not None and timed[-1] == ("nine", 0.8, 1.5)
    assert match_whisper(["most", "pasta", "needs", "nine", "minutes"], whisper) is None  # missing
    two_in_one = [*whisper[:3], ("9-11", 0.8, 1.5)]  # two script words in one: no boundary
    assert match_whisper(["most", "pasta", "needs", "nine", "eleven"], two_in_one) is None
    timed = match_whisper(["Most", "pasta,", "needs"], whisper[:3])
    assert timed == [("Most", 0.0, 0.2), ("pasta,", 0.2, 0.6), ("needs", 0.6, 0.8)]


def test_llm_written_script_is_rendered(tmp_path: Path) -> None:
    """The small CI model (SmolLM2) writes one dialogue; Qwen is the default for real runs."""
    timing = TimingConfig(p_backchannel=0.0, p_pause=0.0)
    cfg = replace(CFG, dialogues=1, max_turns=3, alignment="proportional", timing=timing)
    cfg = replace(cfg, llm_scripts=True, llm_model="smollm2", seed=1)
    summary = synth_dataset(tmp_path, cfg, progress=False)
    assert summary["scripts"] == {"llm": 1}
    rec = load_manifest(tmp_path)[0]
    assert [t.speaker for t in rec.turns] == ["agent", "user", "agent"]  # greeting, then LLM
    assert all(rec.words[s] for s in ("agent", "user"))


def test_llm_replies_become_plain_spoken_lines() -> None:
    from antiphon.data.scripts import spoken_line

    assert spoken_line("Assistant: **Sure!** Steep it\n for two minutes. Then rest. More.") == (
        "Sure! Steep it for two minutes."
    )
    assert spoken_line("  ") == ""


def test_unmatched_words_share_the_time_between_matched_neighbours() -> None:
    whisper = [("Connect", 0.0, 0.4), ("to", 0.4, 0.5), ("wi-fi", 0.5, 0.9), ("now", 1.3, 1.6)]
    tokens = ["Connect", "to", "wifi", "and", "now"]
    anchors = whisper_anchors(tokens, whisper)
    assert anchors[0] == (0.0, 0.4) and anchors[4] == (1.3, 1.6)
    assert anchors[2] is None and anchors[3] is None  # "wi fi" != "wifi"; "and" not heard
    timed = fill_between_anchors(tokens, anchors, 2.0)
    assert timed[2][1] == 0.5 and timed[3][2] == 1.3  # the gap 0.5..1.3 is shared
    assert timed[2][2] == pytest.approx(0.5 + 0.8 * 5 / 9)  # by characters (+1 for a space)


def test_timing_options_and_max_seconds(tmp_path: Path) -> None:
    from antiphon.data.layout import parse_timing

    timing = parse_timing("p_backchannel=0,p_interrupt=0,pause_s=0.3:0.4")
    assert timing.pause_s == (0.3, 0.4) and timing.p_backchannel == 0.0
    for bad, msg in (("p_overlap=2", "probability"), ("pause_s=1", "LO:HI"), ("nope=1", "unknown")):
        with pytest.raises(ValueError, match=msg):
            parse_timing(bad)
    cfg = replace(CFG, dialogues=1, max_turns=None, max_seconds=6.0, alignment="proportional")
    synth_dataset(tmp_path, replace(cfg, timing=timing), progress=False)
    rec = load_manifest(tmp_path)[0]
    main = [t for t in rec.turns if t.kind != "backchannel"]
    assert len(main) >= 2 and all(t.end <= 6.0 + TOL for t in main[2:])


def test_stretched_pauses_keep_one_utterance_with_a_long_silence(tmp_path: Path) -> None:
    from antiphon.data.layout import parse_timing

    timing = parse_timing(
        "pause_style=stretch,p_pause=1,p_backchannel=0,p_interrupt=0,pause_s=0.6:0.7"
    )
    with pytest.raises(ValueError, match="pause_style must be one of"):
        parse_timing("pause_style=long")
    scripts = tmp_path / "s.txt"
    scripts.write_text(
        "user: Hello there, I would like some help with my bike today.\nagent: Sure.\n"
    )
    cfg = replace(
        CFG, dialogues=1, scripts_file=str(scripts), alignment="proportional", timing=timing
    )
    summary = synth_dataset(tmp_path / "ds", cfg, progress=False)
    assert summary["pauses_in_turns"] == 1
    rec = load_manifest(tmp_path / "ds")[0]
    turn = rec.turns[0]
    assert turn.text == "Hello there, I would like some help with my bike today."
    audio = read_dialogue_audio(tmp_path / "ds", rec)[
        int(turn.start * 24000) : int(turn.end * 24000), 1
    ]
    silent = np.abs(audio) < 1e-4
    longest = run = 0
    for s in silent:  # the longest silent run inside the turn is the stretched pause
        run = run + 1 if s else 0
        longest = max(longest, run)
    assert 0.55 <= longest / 24000 <= 0.75
    words = rec.words["user"]
    assert all(turn.start - TOL <= w.start <= w.end <= turn.end + TOL for w in words)


def test_scripts_command_writes_llm_dialogues_that_read_back_and_resumes(tmp_path: Path) -> None:
    from antiphon.cli import main
    from antiphon.data.scripts import read_scripts

    out = tmp_path / "dialogues.jsonl"
    assert main(["data", "scripts", str(out), "--dialogues", "1", "--llm", "smollm2"]) == 0
    first = read_scripts(out)
    assert len(first) == 1 and first[0].turns[0][0] == "agent"  # the persona's greeting
    assert any(s == "user" for s, _ in first[0].turns)
    # a second run appends up to the new count, from another seed: a new dialogue
    assert main(["data", "scripts", str(out), "--dialogues", "2", "--llm", "smollm2"]) == 0
    both = read_scripts(out)
    assert len(both) == 2 and both[0] == first[0] and both[1].turns != first[0].turns
    assert main(["data", "scripts", str(tmp_path / "x.txt"), "--llm", "smollm2"]) == 2
    blocked = tmp_path / "dir.jsonl"
    blocked.mkdir()  # a folder where the file should be: a clear error, no traceback
    assert main(["data", "scripts", str(blocked), "--llm", "smollm2"]) == 2
