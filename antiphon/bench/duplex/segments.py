"""What the agent said and when, read from its recorded channel: speech segments from
silero VAD (the rules of silero's get_speech_timestamps), words with timestamps from
faster-whisper (``word_timestamps=True``) decoded segment by segment, so silence is never
decoded (where Whisper invents words)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from antiphon.cascade.vad import SileroVAD

RATE = 16000
Span = tuple[float, float]


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


def speech_segments(
    audio: np.ndarray,
    vad: SileroVAD,
    threshold: float = 0.5,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
    pad_s: float = 0.03,
) -> list[Span]:
    """Speech segments (s) with silero's defaults: a segment opens at probability >=
    threshold, closes after min_silence_s below threshold - 0.15, is dropped when shorter
    than min_speech_s, and is padded by pad_s on both sides."""
    vad.reset()
    hop = SileroVAD.CHUNK
    n = len(audio) // hop
    if n == 0:
        return []
    probs = vad.probs(audio[: n * hop].astype(np.float32))
    step = hop / RATE
    spans: list[list[float]] = []
    start: float | None = None
    quiet_since: float | None = None
    for i, p in enumerate(probs):
        t = i * step
        if start is None:
            if p >= threshold:
                start, quiet_since = t, None
            continue
        if p >= threshold:
            quiet_since = None
        elif p < threshold - 0.15:
            quiet_since = t if quiet_since is None else quiet_since
            if t + step - quiet_since >= min_silence_s:
                spans.append([start, quiet_since])
                start, quiet_since = None, None
    if start is not None:
        spans.append([start, n * step])
    total = len(audio) / RATE
    out = [(max(0.0, a - pad_s), min(total, b + pad_s)) for a, b in spans if b - a >= min_speech_s]
    merged: list[Span] = []
    for a, b in out:  # padding can make neighbours touch
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [(round(a, 3), round(b, 3)) for a, b in merged]


class WordTimer:
    """Whisper (tiny.en, CTranslate2 int8) with word timestamps."""

    def __init__(self, cpu_threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        from antiphon.models import whisper_tiny_en

        self._model = WhisperModel(
            str(whisper_tiny_en()), device="cpu", compute_type="int8", cpu_threads=cpu_threads
        )

    def words(self, audio: np.ndarray, segments: list[Span], join_s: float = 1.0) -> list[Word]:
        """Words of the speech in ``segments``; segments closer than join_s are decoded
        together so a word split by a short dip is not cut in two."""
        regions: list[list[float]] = []
        for a, b in segments:
            if regions and a - regions[-1][1] < join_s:
                regions[-1][1] = b
            else:
                regions.append([a, b])
        out: list[Word] = []
        for a, b in regions:
            lo, hi = max(0, int((a - 0.2) * RATE)), min(len(audio), int((b + 0.2) * RATE))
            chunk = audio[lo:hi].astype(np.float32)
            if len(chunk) < RATE // 10:
                continue
            segs, _ = self._model.transcribe(
                chunk,
                language="en",
                beam_size=1,
                temperature=0.0,
                condition_on_previous_text=False,
                word_timestamps=True,
                vad_filter=False,
            )
            for seg in segs:
                for w in seg.words or []:
                    text = w.word.strip()
                    if any(ch.isalnum() for ch in text):  # "-" or "..." is no word
                        out.append(Word(text, lo / RATE + w.start, lo / RATE + w.end))
        return snap(out, segments)


def snap(words: list[Word], segments: list[Span]) -> list[Word]:
    """Move each word inside the speech segment nearest to it. Whisper's word times are
    off by 0.1-0.3 s (the first word of a decode often starts at the decode's start); the
    VAD's segment edges are accurate to its 32 ms hop."""
    if not segments:
        return []
    out = []
    for w in words:
        mid = (w.start + w.end) / 2
        a, b = min(
            segments,
            key=lambda s: 0.0 if s[0] <= mid <= s[1] else min(abs(mid - s[0]), abs(mid - s[1])),
        )
        start = min(max(w.start, a), b)
        out.append(Word(w.text, round(start, 3), round(max(start, min(w.end, b)), 3)))
    return out
