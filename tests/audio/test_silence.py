"""Silence at a clip's edges (audio/silence.py): shortened to what is asked, speech kept."""

from __future__ import annotations

import numpy as np

from antiphon.audio.silence import trim_edges

RATE = 22050


def _clip(lead_ms: int, speech_ms: int, tail_ms: int) -> np.ndarray:
    t = np.arange(RATE * speech_ms // 1000) / RATE
    speech = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    hiss = lambda ms: (1e-4 * np.ones(RATE * ms // 1000)).astype(np.float32)  # noqa: E731
    return np.concatenate([hiss(lead_ms), speech, hiss(tail_ms)])


def test_each_edge_is_cut_to_what_is_asked() -> None:
    clip = _clip(60, 500, 160)
    out = trim_edges(clip, RATE, lead_ms=10, tail_ms=40)
    assert abs(len(out) / RATE * 1000 - (10 + 500 + 40)) <= 20  # within a 10 ms frame each side
    assert np.abs(out).max() == np.abs(clip).max()  # the speech is all there


def test_none_keeps_an_edge_and_short_edges_stay() -> None:
    clip = _clip(60, 500, 160)
    kept_tail = trim_edges(clip, RATE, lead_ms=10, tail_ms=None)
    assert np.array_equal(kept_tail[-RATE * 160 // 1000 :], clip[-RATE * 160 // 1000 :])
    tight = _clip(0, 500, 0)
    assert len(trim_edges(tight, RATE, 10, 40)) == len(tight)


def test_a_clip_without_sound_comes_back_empty() -> None:
    assert trim_edges(np.zeros(RATE, np.float32), RATE, 10, 40).size == 0
    assert trim_edges(np.zeros(5, np.float32), RATE, 10, 40).size == 5  # shorter than a frame
