"""Speech recognition for the cascade: faster-whisper tuned for short, live utterances.

``StreamingASR.transcribe`` decodes one utterance with the cheapest settings (greedy, no
timestamps, no temperature fallback, no internal VAD) and removes Whisper's well-known
hallucinations on silence and noise. ``IncrementalTranscriber`` re-decodes the growing
utterance while the user speaks and releases only words two consecutive decodes agree on
(LocalAgreement), so partial transcripts never flicker.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.cascade.short_window import ShortSegment, ShortWindowDecoder
from antiphon.cascade.transcript_rescorer import TranscriptRescorer
from antiphon.models import whisper_base, whisper_tiny_en

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Languages written without spaces: partial-text agreement works per character there.
_CHAR_LANGS = {"zh", "ja", "th", "lo", "my", "km", "bo", "yue"}
# Non-speech tags Whisper writes ([BLANK_AUDIO], (music), *cough*) are never words.
_TAG = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪+|【[^】]*】|（[^）]*）")
# What Whisper invents on silence/noise (subtitle credits in its training data). Short
# words users really say ("okay", "um", "bye") are left out: the thresholds handle those.
_JUNK_PHRASES = (
    "you",
    "thank you",
    "thank you so much",
    "thanks for watching",
    "thank you for watching",
    "please subscribe",
    "subtitles by the amara.org community",
    "谢谢观看",
    "謝謝觀看",
    "字幕由Amara.org社区提供",
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
)
_PROMPTS = {"zh": "以下是普通话的句子。"}  # nudges base toward simplified characters


def _norm(text: str) -> str:
    """Lower case without spaces or punctuation, for loose comparisons."""
    return re.sub(r"[\W_]+", "", text.lower())


_JUNK = {_norm(p) for p in _JUNK_PHRASES}


@dataclass(frozen=True)
class Transcript:
    text: str
    no_speech_prob: float  # max over segments (1.0 when nothing was decoded)
    avg_logprob: float  # min over segments
    decode_s: float


# English recognizers: the model for live partials ("quick" decodes) and the model for the
# final decode of an utterance. tiny.en is fast; the multilingual base makes fewer errors
# on voices unlike the agent's (docs/bench-quality.md has the per-voice table).
RECOGNIZERS: dict[str, tuple[str, str]] = {
    "tiny.en": ("tiny.en", "tiny.en"),
    "base": ("base", "base"),
    "tiny.en+base": ("tiny.en", "base"),
}
DEFAULT_RECOGNIZER = "tiny.en+base"  # chosen on the tune half: docs/bench-quality.md


def _model_path(name: str) -> Path:
    return whisper_tiny_en() if name == "tiny.en" else whisper_base()


class StreamingASR:
    """Whisper (CTranslate2 int8) for short utterances; one decode at a time.

    English uses ``recognizer`` (a key of RECOGNIZERS: which model decodes live partials,
    which one the final transcript); any other language uses multilingual base.
    ``beam_size`` applies to final decodes (partials are always greedy).
    """

    def __init__(
        self,
        language: str = "en",
        model_dir: str | Path | None = None,
        cpu_threads: int = 2,
        rms_floor_dbfs: float = -55.0,
        no_speech_threshold: float = 0.6,
        logprob_threshold: float = -1.0,
        junk_no_speech: float = 0.15,
        junk_logprob: float = -0.5,
        short_window: bool = True,
        short_min_logprob: float = -0.18,
        recognizer: str = DEFAULT_RECOGNIZER,
        single_decode_under_s: float | None = None,
        beam_size: int = 1,
        rescorer: TranscriptRescorer | None = None,
        alternatives: int = 3,
    ) -> None:
        from faster_whisper import WhisperModel  # heavy import, only when ASR is used

        if recognizer not in RECOGNIZERS:
            raise ValueError(f"unknown recognizer {recognizer!r}; use one of {list(RECOGNIZERS)}")
        self.language = language
        quick_name, final_name = RECOGNIZERS[recognizer] if language == "en" else ("base", "base")
        self.recognizer = recognizer if language == "en" and model_dir is None else "base"
        self.beam_size = beam_size
        # a final decode's top ``alternatives`` hypotheses go to the rescorer (the top 3 held
        # all of the gain of 5 on the tune half: transcript_rescorer.py)
        self.rescorer = rescorer if beam_size > 1 else None
        self.alternatives = alternatives
        loaded: dict[str, Any] = {}

        def load(name: str) -> Any:
            if name not in loaded:
                path = model_dir or _model_path(name)
                loaded[name] = WhisperModel(
                    str(path), device="cpu", compute_type="int8", cpu_threads=cpu_threads
                )
            return loaded[name]

        self._model = load(final_name)
        self._quick_model = self._model if model_dir else load(quick_name)
        self.rms_floor = 10 ** (rms_floor_dbfs / 20)
        self.no_speech_threshold = no_speech_threshold
        self.logprob_threshold = logprob_threshold
        self.junk_no_speech = junk_no_speech
        self.junk_logprob = junk_logprob
        self.char_units = language in _CHAR_LANGS
        # live utterances skip faster-whisper's fixed 30 s window (see short_window.py)
        self._short = ShortWindowDecoder(self._model, language) if short_window else None
        self._quick_short = (
            self._short
            if self._quick_model is self._model or not short_window
            else ShortWindowDecoder(self._quick_model, language)
        )
        self.short_min_logprob = short_min_logprob
        # tiny.en decodes what it is unsure of on the short window again on the full one.
        # For a base final of a spoken request (under 6 s) that second decode made no fewer
        # errors on the tune half and cost ~40 % of the time (docs/bench-quality.md); on a
        # 10 s passage the short window can drop a sentence, so longer ones keep it
        if single_decode_under_s is None:
            single_decode_under_s = 6.0 if language == "en" and final_name == "base" else 0.0
        self.single_decode_under_s = single_decode_under_s
        self._lock = threading.Lock()

    def _prompt(self, prompt: str | None) -> str | None:
        return prompt if prompt is not None else _PROMPTS.get(self.language)

    def transcribe(
        self, audio16k: np.ndarray, prompt: str | None = None, quick: bool = False
    ) -> str:
        """Text of one utterance ("" for silence, noise or a filtered hallucination).
        ``quick``: the short-window decode only, never the slower standard one (live partial
        transcripts, whose tail is provisional anyway)."""
        return self.transcribe_detailed(audio16k, prompt, quick).text

    def transcribe_detailed(
        self, audio16k: np.ndarray, prompt: str | None = None, quick: bool = False
    ) -> Transcript:
        audio = np.asarray(audio16k, dtype=np.float32).reshape(-1)
        t0 = time.perf_counter()
        if audio.size < SAMPLE_RATE // 10 or float(np.sqrt(np.mean(audio**2))) < self.rms_floor:
            return Transcript("", 1.0, 0.0, 0.0)  # nothing audible: Whisper would invent text
        max_new = min(200, 16 + int(12 * audio.size / SAMPLE_RATE))
        short = self._quick_short if quick else self._short
        beam = 1 if quick else self.beam_size
        n_alt = self.alternatives if self.rescorer is not None and not quick else 1
        if short is not None and audio.size / SAMPLE_RATE <= short.max_audio_s():
            with self._lock:
                seg = short.decode(
                    audio, self._prompt(prompt), max_new, beam_size=beam, alternatives=n_alt
                )
                # the short window costs accuracy on hard sentences; those it is unsure of
                # are decoded again on the whole 30 s window. Not under a second: there
                # ("uh-huh", "yeah") the full window was no better, and barge-in checks
                # need the speed; never for a live partial (``quick``).
                keep = seg.avg_logprob >= self.short_min_logprob or quick
                keep = keep or audio.size < SAMPLE_RATE * max(1.0, self.single_decode_under_s)
                if not keep and self.language == "en":
                    # tiny.en: the same greedy decoder on the full window, without
                    # faster-whisper's pipeline around it (330-490 ms instead of 480-770 ms)
                    seg = short.decode(
                        audio,
                        self._prompt(prompt),
                        max_new,
                        full=True,
                        beam_size=beam,
                        alternatives=n_alt,
                    )
                    keep = True
                seg = self._rescored(seg)
            if keep:
                text = self.clean_segment(seg)
                return Transcript(
                    text, seg.no_speech_prob, seg.avg_logprob, time.perf_counter() - t0
                )
            # multilingual base echoed its (Chinese) prompt through our full-window decode:
            # it keeps faster-whisper's standard decode
        with self._lock:
            model = self._quick_model if quick else self._model
            segments, _ = model.transcribe(
                audio,
                language=self.language,
                beam_size=beam,
                best_of=1,
                temperature=0.0,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                initial_prompt=self._prompt(prompt),
                no_speech_threshold=self.no_speech_threshold,
                log_prob_threshold=self.logprob_threshold,
                # Real speech stays under ~8 tokens/s; the cap stops a decode that loops
                # on a hum or tone (". . . ." x 224, seconds of CPU) early.
                max_new_tokens=max_new,
            )
            segments = list(segments)  # the generator does the decoding
        kept = [t for t in (self.clean_segment(s) for s in segments) if t]
        joiner = "" if self.char_units else " "
        text = re.sub(r"\s+", " ", joiner.join(kept)).strip()
        return Transcript(
            text,
            max((s.no_speech_prob for s in segments), default=1.0),
            min((s.avg_logprob for s in segments), default=0.0),
            time.perf_counter() - t0,
        )

    def _rescored(self, seg: ShortSegment) -> ShortSegment:
        """The hypothesis the rescorer prefers (the filters still read the decode's own
        no-speech and log-probability figures: they describe the audio)."""
        if self.rescorer is None or not seg.alternatives:
            return seg
        best = seg.alternatives[self.rescorer.choose(seg.alternatives)]
        if best.text == seg.text:
            return seg
        log.info("transcript rescored: %r -> %r", seg.text, best.text)
        from faster_whisper.transcribe import get_compression_ratio

        return replace(seg, text=best.text, compression_ratio=get_compression_ratio(best.text))

    def clean_segment(self, seg: Any) -> str:
        """A decoded segment's text, or "" when it looks like a hallucination."""
        text = _TAG.sub(" ", seg.text).strip()
        junk = _norm(text) in _JUNK
        unsure = seg.no_speech_prob > self.junk_no_speech or seg.avg_logprob < self.junk_logprob
        looping = seg.compression_ratio > 2.4  # a phrase repeated over and over
        silent = (
            seg.no_speech_prob > self.no_speech_threshold
            and seg.avg_logprob < self.logprob_threshold
        )
        if not _norm(text) or silent or looping or (junk and unsure):
            return ""
        return text


class IncrementalTranscriber:
    """Partial transcripts while the user speaks, by re-decoding the growing utterance.

    Call ``push`` with each new chunk from the worker thread; every ``interval_s`` of new
    audio it decodes the whole utterance and returns the newly *stable* text: the words
    (characters for Chinese/Japanese) on which this decode and the previous one agree,
    beyond what was already returned. Deltas are ready to concatenate. ``finalize`` gives
    the final text and skips the decode when the audio has not changed since the last one.
    """

    def __init__(
        self,
        asr: StreamingASR,
        interval_s: float = 0.6,
        min_audio_s: float = 0.5,
        prompt: str | None = None,
    ) -> None:
        self.asr = asr
        self.interval = int(interval_s * SAMPLE_RATE)
        self.min_audio = int(min_audio_s * SAMPLE_RATE)
        self.prompt = prompt
        self.reset()

    def reset(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._n = 0
        self._decoded_n = 0  # samples covered by the last decode
        self._decoded_audio: np.ndarray | None = None
        self._prev_units: list[str] = []
        self._units: list[str] = []
        self._emitted = 0
        self.decodes = 0
        self.stable_text = ""
        self.hypothesis = ""  # latest full decode, including its unstable tail

    @property
    def audio(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)

    def push(self, chunk: np.ndarray) -> str:
        """Add audio; decode when due; return newly stable text ("" if none)."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._chunks.append(chunk)
        self._n += chunk.size
        if self._n < self.min_audio or self._n - self._decoded_n < self.interval:
            return ""
        self._decode(self.audio, quick=True)
        return self._release(self._agreed())

    def update(self, audio: np.ndarray) -> str:
        """Decode the whole utterance so far (the caller decides when); return the newly
        stable text. For callers that keep the audio themselves, like the cascade brain."""
        self._decode(np.asarray(audio, dtype=np.float32).reshape(-1), quick=True)
        return self._release(self._agreed())

    def finalize(self, audio: np.ndarray | None = None) -> str:
        """Final text of the utterance (``audio`` defaults to everything pushed)."""
        final = self.audio if audio is None else np.asarray(audio, dtype=np.float32).reshape(-1)
        last = self._decoded_audio
        if last is None or last.size != final.size or not np.array_equal(last, final):
            self._decode(final)
        return self.hypothesis

    def _decode(self, audio: np.ndarray, quick: bool = False) -> None:
        # partials are provisional: a slow second decode would only delay the final one
        self.hypothesis = self.asr.transcribe(audio, self.prompt, quick=quick)
        self.decodes += 1
        self._decoded_audio = audio
        self._decoded_n = audio.size
        self._prev_units, self._units = self._units, self._split(self.hypothesis)

    def _split(self, text: str) -> list[str]:
        # A trailing "..." only says the decode ran out of audio; it is not text.
        text = re.sub(r"(\.\.\.|…)+$", "", text.strip())
        return [c for c in text if not c.isspace()] if self.asr.char_units else text.split()

    def _agreed(self) -> int:
        """Length of the common prefix of the last two hypotheses (compared loosely)."""
        n = 0
        for a, b in zip(self._prev_units, self._units, strict=False):
            if _norm(a) != _norm(b):
                break
            n += 1
        return n

    def _release(self, agreed: int) -> str:
        if agreed <= self._emitted:
            return ""
        new = self._units[self._emitted : agreed]
        self._emitted = agreed
        if self.asr.char_units:
            delta = "".join(new)
        else:
            delta = (" " if self.stable_text else "") + " ".join(new)
        self.stable_text += delta
        return delta


if __name__ == "__main__":  # python -m antiphon.cascade.asr FILE.wav [LANG]: text + decode time
    import sys

    from antiphon.audio.io import read_wav

    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m antiphon.cascade.asr FILE.wav [LANGUAGE]")
    asr = StreamingASR(language=sys.argv[2] if len(sys.argv) == 3 else "en")
    wav, _ = read_wav(sys.argv[1], SAMPLE_RATE)
    result = asr.transcribe_detailed(wav)
    print(
        f"{result.text}\n({len(wav) / SAMPLE_RATE:.2f} s audio decoded in {result.decode_s:.2f} s)"
    )
