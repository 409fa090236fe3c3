"""pause_style="stretch": the turn is rendered whole and the silence at the comma is
stretched to the drawn pause; the words after it move by the inserted time."""

from __future__ import annotations

import numpy as np

from antiphon.data.layout import RATE, TimingConfig, render_turn
from antiphon.data.manifest import Word


def _fake_render(speaker: str, text: str, speed: float) -> tuple[np.ndarray, list[Word], str]:
    """Each word is 0.3 s of tone; a comma adds 0.1 s of silence after its word."""
    audio, words, t = [], [], 0.0
    for w in text.split():
        tone = 0.3 * np.sin(np.arange(int(0.3 * RATE)) * 0.2).astype(np.float32)
        audio.append(tone)
        words.append(Word(w, t, t + 0.3))
        t += 0.3
        if w.endswith(","):
            audio.append(np.zeros(int(0.1 * RATE), np.float32))
            t += 0.1
    return np.concatenate(audio), words, "proportional"


def test_stretch_moves_the_comma_silence_to_the_pause_length() -> None:
    cfg = TimingConfig(p_pause=1.0, pause_s=(0.8, 0.8), pause_style="stretch", speed=(1, 1))
    text = "one two three, four five six"
    whole, _, _ = _fake_render("user", text, 1.0)
    audio, words, _, pauses = render_turn("user", text, _fake_render, cfg, np.random.default_rng(0))
    assert pauses == 1
    assert abs(len(audio) - len(whole) - int(0.7 * RATE)) <= RATE // 100
    silent = np.abs(audio) < 1e-6
    gap = silent[int(0.9 * RATE) + 10 : int(1.7 * RATE) - 10]
    assert gap.all()  # the pause sits right after "three,"
    assert [w.word for w in words] == text.split()
    assert abs(words[2].end - 0.9) < 1e-6 and abs(words[3].start - 1.7) < 0.02


def test_split_style_is_unchanged_by_default() -> None:
    assert TimingConfig().pause_style == "split"
