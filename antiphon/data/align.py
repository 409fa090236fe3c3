"""Word timestamps for a rendered utterance whose text is known.

Whisper tiny.en decodes the utterance with word timestamps; the script's words are matched
to Whisper's after normalisation (so "9-11" and "nine eleven" agree). When every script word
is found, each takes the times of the Whisper word it matched ("whisper"). When some are
missing (Whisper misheard them, or wrote "9-11" for "nine to eleven") the matched words
keep Whisper's times and each run of missing words shares the time between its matched
neighbours by character count ("proportional": at least one word was timed that way; with
no match at all the whole utterance is). Times are relative to the start of the audio and
always within it, in order, non-overlapping.
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


def whisper_anchors(
    tokens: list[str], whisper_words: list[tuple[str, float, float]]
) -> list[tuple[float, float] | None]:
    """Per script token: the times of the Whisper word(s) it matched, or None.

    A token is anchored when all its normalised units were matched, in order, to Whisper
    words that no other script token also matched (two script words inside one Whisper
    word, like "nine eleven" in "9-11", have no clean boundary between them).
    """
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
    spans: dict[int, list[int | None]] = {}
    for unit, owner in enumerate(s_owner):
        spans.setdefault(owner, []).append(unit_to_w.get(unit))
    claimed: dict[int, set[int]] = {}  # whisper word -> script tokens that matched it
    for k, ws in spans.items():
        for w in ws:
            if w is not None:
                claimed.setdefault(w, set()).add(k)
    out: list[tuple[float, float] | None] = []
    for k in range(len(tokens)):
        ws = spans.get(k, [None])  # a token with no letters or digits ("-") has no time
        if any(w is None or len(claimed[w]) > 1 for w in ws):
            out.append(None)
            continue
        first, last = ws[0], ws[-1]
        assert first is not None and last is not None
        out.append((whisper_words[first][1], whisper_words[last][2]))
    return out


def match_whisper(
    tokens: list[str], whisper_words: list[tuple[str, float, float]]
) -> list[tuple[str, float, float]] | None:
    """Script tokens timed by Whisper's words, or None if any token is unmatched."""
    anchors = whisper_anchors(tokens, whisper_words)
    if any(a is None for a in anchors):
        return None
    return [(t, a[0], a[1]) for t, a in zip(tokens, anchors, strict=True) if a is not None]


def fill_between_anchors(
    tokens: list[str], anchors: list[tuple[float, float] | None], duration: float
) -> list[tuple[str, float, float]]:
    """Anchored tokens keep their times; each run of unanchored tokens shares the time
    between its anchored neighbours (or the audio's edges) by character count."""
    out: list[tuple[str, float, float]] = []
    k = 0
    while k < len(tokens):
        a = anchors[k]
        if a is not None:
            out.append((tokens[k], a[0], a[1]))
            k += 1
            continue
        j = k
        while j < len(tokens) and anchors[j] is None:
            j += 1
        lo = out[-1][2] if out else 0.0
        nxt = anchors[j] if j < len(tokens) else None
        hi = nxt[0] if nxt is not None else duration
        out += proportional_words(tokens[k:j], lo, max(hi, lo))
        k = j
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
        anchors: list[tuple[float, float] | None] = [None] * len(tokens)
        if self._model is not None and len(tokens) > 1:
            anchors = whisper_anchors(tokens, self.whisper_words(audio))
        method = "whisper" if all(a is not None for a in anchors) else "proportional"
        return _tidy(fill_between_anchors(tokens, anchors, duration), duration), method


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
