"""Word timestamps for a rendered utterance whose text is known.

Whisper tiny.en decodes the utterance with word timestamps; the script's words are matched
to Whisper's after normalisation (so "9-11" and "nine eleven" agree). When every script word
is found, in order, each takes the times of the Whisper word it matched ("whisper"). When
any is missing (Whisper misheard it, or wrote "9-11" for "nine to eleven") the utterance's
speech span is shared among the script words by character count ("proportional"). Times
are relative to the start of the audio and always within it, in order, non-overlapping.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

import numpy as np

from antiphon.audio.io import resample
from antiphon.data.manifest import Word
from antiphon.data.normalize import normalize_words

RATE = 24000


def proportional_words(
    tokens: list[str], start: float, end: float
) -> list[tuple[str, float, float]]:
    """Share ``[start, end]`` among ``tokens`` by character count (plus one for the space)."""
    weights = np.array([len(t) + 1 for t in tokens], dtype=np.float64)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    return [(t, float(edges[i]), float(edges[i + 1])) for i, t in enumerate(tokens)]


def match_whisper(
    tokens: list[str], whisper_words: list[tuple[str, float, float]]
) -> list[tuple[str, float, float]] | None:
    """Script tokens timed by Whisper's words, or None if any token is unmatched."""
    s_units, s_owner = [], []
    for k, tok in enumerate(tokens):
        for u in normalize_words(tok):
            s_units.append(u)
            s_owner.append(k)
    w_units, w_owner = [], []
    for k, (word, _, _) in enumerate(whisper_words):
        for u in normalize_words(word):
            w_units.append(u)
            w_owner.append(k)
    matcher = SequenceMatcher(None, s_units, w_units, autojunk=False)
    unit_to_w: dict[int, int] = {}
    for block in matcher.get_matching_blocks():
        for d in range(block.size):
            unit_to_w[block.a + d] = w_owner[block.b + d]
    spans: dict[int, list[int]] = {}
    for unit, owner in enumerate(s_owner):
        if unit not in unit_to_w:
            return None
        spans.setdefault(owner, []).append(unit_to_w[unit])
    out: list[tuple[str, float, float]] = []
    last_w = -1
    for k, tok in enumerate(tokens):
        if k not in spans:  # a token with no letters or digits ("-"): no time of its own
            return None
        ws = spans[k]
        if ws[0] <= last_w:  # two script words inside one Whisper word: no clean boundary
            return None
        last_w = ws[-1]
        out.append((tok, whisper_words[ws[0]][1], whisper_words[ws[-1]][2]))
    return out


class WordAligner:
    """Whisper tiny.en word timestamps (``use_whisper=False``: proportional only, fast)."""

    def __init__(self, use_whisper: bool = True, cpu_threads: int = 1) -> None:
        self._model: Any = None
        if use_whisper:
            from faster_whisper import WhisperModel

            from antiphon.models import whisper_tiny_en

            self._model = WhisperModel(
                str(whisper_tiny_en()), device="cpu", compute_type="int8", cpu_threads=cpu_threads
            )

    def whisper_words(self, audio: np.ndarray) -> list[tuple[str, float, float]]:
        segments, _ = self._model.transcribe(
            resample(audio, RATE, 16000),
            language="en",
            beam_size=1,
            temperature=0.0,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return [(w.word.strip(), w.start, w.end) for s in segments for w in (s.words or [])]

    def align(self, audio: np.ndarray, text: str) -> tuple[list[Word], str]:
        """(words with times in seconds from the audio's start, "whisper" | "proportional")."""
        tokens = text.split()
        duration = len(audio) / RATE
        if not tokens:
            return [], "proportional"
        timed = None
        if self._model is not None and len(tokens) > 1:
            timed = match_whisper(tokens, self.whisper_words(audio))
        method = "whisper" if timed is not None else "proportional"
        if timed is None:
            timed = proportional_words(tokens, 0.0, duration)
        return _tidy(timed, duration), method


def _tidy(timed: list[tuple[str, float, float]], duration: float) -> list[Word]:
    """Clamp into the audio, keep order, never overlap, every word at least 10 ms long."""
    out: list[Word] = []
    floor = 0.0
    for i, (tok, start, end) in enumerate(timed):
        room = duration - 0.01 * (len(timed) - i)  # leave space for the words after
        s = min(max(start, floor), max(floor, room))
        e = min(max(end, s + 0.01), duration)
        out.append(Word(tok, s, e))
        floor = e
    return out
