"""Multi-ASR cleaning on real speech (Harvard sentences, ALSA test voice) and on noise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from antiphon.data.clean import clean_recordings, fuse
from antiphon.data.normalize import normalize_words, wer

HARVARD = Path("/usr/share/codec2/raw/speech_orig_16k.wav")
ALSA = Path("/usr/share/sounds/alsa/Front_Center.wav")
# what the clip says: Harvard list 1 sentences 1-3 and "four hours of steady work faced us"
HARVARD_TEXT = (
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
    "It's easy to tell the depth of a well. Four hours of steady work faced us."
)


def test_fuse_votes_word_by_word() -> None:
    a, b, c = ["the", "birch", "canoe"], ["the", "bitch", "canoe"], ["a", "birch", "canoe"]
    fused, confidence, _, agreement = fuse([b, c, a])  # no hypothesis is right, the votes are
    assert fused == ["the", "birch", "canoe"]
    assert agreement == pytest.approx([2 / 3, 2 / 3, 1.0])
    assert 0.6 < confidence < 1.0
    assert fuse([a, a, a])[:2] == (a, 1.0)
    assert fuse([[], [], ["the"]])[:2] == ([], 0.0)  # nothing agreed on: no transcript


def test_normalisation_makes_spellings_agree() -> None:
    assert normalize_words("Nine-to-5, it's 2024!") == [
        "nine",
        "to",
        "five",
        "it's",
        "two",
        "thousand",
        "twenty",
        "four",
    ]
    assert wer("Front, center.", "front center") == 0.0


@pytest.mark.models
@pytest.mark.skipif(not (HARVARD.is_file() and ALSA.is_file()), reason="codec2-examples/alsa-utils")
def test_clean_keeps_real_speech_and_drops_noise(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(HARVARD, src / "harvard.wav")
    shutil.copy(ALSA, src / "front_center.wav")
    noise = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1
    sf.write(str(src / "noise.wav"), noise, 16000)
    manifest = tmp_path / "in.jsonl"
    manifest.write_text(
        "".join(
            json.dumps({"audio": f"in/{name}.wav", "text": text}) + "\n"
            for name, text in (
                ("harvard", HARVARD_TEXT),
                ("front_center", "front center"),
                ("noise", ""),
            )
        )
    )
    summary = clean_recordings(manifest, tmp_path / "out", min_confidence=0.5, progress=False)
    rows = {
        r["id"]: r
        for r in map(json.loads, (tmp_path / "out" / "transcripts.jsonl").read_text().splitlines())
    }
    assert set(rows) == {"harvard", "front_center", "noise"}
    for r in rows.values():
        assert set(r["hypotheses"]) == {"whisper-tiny.en", "whisper-base", "pocketsphinx"}
    harvard = rows["harvard"]
    assert len(harvard["word_agreement"]) == len(harvard["text"].split())
    assert harvard["kept"] and harvard["confidence"] >= 0.6
    assert wer(HARVARD_TEXT, harvard["text"]) <= 0.15
    assert harvard["text"].startswith("the birch canoe slid on the smooth planks")
    assert rows["front_center"]["text"] == "front center" and rows["front_center"]["kept"]
    assert rows["noise"]["confidence"] < 0.3 and not rows["noise"]["kept"]
    assert summary["kept"] == 2 and summary["recordings"] == 3
