"""Whisper on a short encoder window, for live utterances.

faster-whisper always pads audio to Whisper's 30 s window, so a 2 s question pays for
encoding 28 s of silence: on 2 CPU cores that fixed cost is most of the recogniser's time
on the critical path of a reply. CTranslate2 accepts shorter encoder inputs; this decodes
an utterance padded only to `min_window_s` (10 s by default: shorter windows made Whisper
loop on its own output). Same model, greedy (or beam search), no timestamps, one segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from antiphon.cascade.transcript_rescorer import Hypothesis

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame
FULL_WINDOW_FRAMES = 3000


@dataclass(frozen=True)
class ShortSegment:
    """The fields of a faster-whisper Segment that the hallucination filter reads."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float
    # the beam's best hypotheses, best first, when more than one was asked for
    alternatives: tuple[Hypothesis, ...] = ()


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def trim_repetition(text: str) -> str:
    """Cut the text where it starts repeating an earlier sentence: with a short window,
    Whisper sometimes reads the utterance again instead of ending."""
    seen: list[str] = []
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        key = _key(sentence)
        if not key:
            continue
        if any(s.startswith(key) for s in seen):
            break
        seen.append(key)
        kept.append(sentence.strip())
    return " ".join(kept) if seen else text


class ShortWindowDecoder:
    def __init__(self, model: Any, language: str, min_window_s: float = 10.0) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.model = model  # faster_whisper.WhisperModel
        self.min_frames = int(min_window_s * SAMPLE_RATE / HOP)
        multilingual = model.model.is_multilingual
        self.tokenizer = Tokenizer(
            model.hf_tokenizer,
            multilingual,
            task="transcribe" if multilingual else None,
            language=language if multilingual else None,
        )
        self.suppress = get_suppressed_tokens(self.tokenizer, [-1])

    def max_audio_s(self) -> float:
        return FULL_WINDOW_FRAMES * HOP / SAMPLE_RATE - 1.0

    def decode(
        self,
        audio: np.ndarray,
        prompt: str | None,
        max_new_tokens: int,
        full: bool = False,
        beam_size: int = 1,
        alternatives: int = 1,
    ) -> ShortSegment:
        """Greedy (or beam) decode on the short window, or on Whisper's whole 30 s window
        (``full``: slower, better on what the short window is unsure of). ``alternatives``
        > 1 (at most ``beam_size``): the beam's best hypotheses too, for rescoring."""
        import ctranslate2
        from faster_whisper.transcribe import get_compression_ratio

        frames = max(self.min_frames, -(-(len(audio) // HOP + 50) // 100) * 100)
        frames = FULL_WINDOW_FRAMES if full else min(frames, FULL_WINDOW_FRAMES)
        padded = np.zeros(frames * HOP, dtype=np.float32)
        padded[: min(len(audio), len(padded))] = audio[: len(padded)]
        features = self.model.feature_extractor(padded)[:, :frames]
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], np.float32)),
            to_cpu=False,
        )
        previous = self.tokenizer.encode(" " + prompt.strip()) if prompt else []
        tokens_in = self.model.get_prompt(self.tokenizer, previous, without_timestamps=True)
        result = self.model.model.generate(
            encoded,
            [tokens_in],
            beam_size=beam_size,
            max_length=len(tokens_in) + max_new_tokens,
            num_hypotheses=max(1, min(alternatives, beam_size)),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppress,
        )[0]
        tokens = result.sequences_ids[0]
        text = trim_repetition(self.tokenizer.decode(tokens).strip())
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        # CTranslate2's scores are length-normalized: times the length, the total. The first
        # is the text above; the others are decoded only when asked for (never for partials)
        found = (
            tuple(
                Hypothesis(
                    text if i == 0 else trim_repetition(self.tokenizer.decode(ids).strip()),
                    score * len(ids),
                )
                for i, (ids, score) in enumerate(
                    zip(result.sequences_ids, result.scores, strict=True)
                )
            )
            if len(result.sequences_ids) > 1
            else ()
        )
        return ShortSegment(
            text,
            result.no_speech_prob,
            avg_logprob,
            get_compression_ratio(text),
            found,
        )
