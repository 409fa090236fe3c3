"""Text-to-speech adapters with speaking-style control: Piper (English), espeak-ng (any language).

Style is applied so that it is measurable in the audio:
- speed: Piper's ``length_scale`` (phoneme durations), so rate changes without pitch change.
  VITS rounds each phoneme's duration up to whole frames, so about 22 % of an utterance's
  length does not scale (measured: duration ≈ (0.78·L + 0.22)·D₁ for L in 0.5..2); the
  length scale is solved from that line so the duration really changes by 1/speed;
- volume: linear gain followed by a soft clipper, so loud settings do not hard-clip;
- pitch: synthesize ``r`` times slower (``length_scale * r``) and resample by ``r`` — the
  resampling raises the pitch by ``r`` and brings the duration back. VITS renders the slower
  speech natively, so there are none of the phasing artifacts a time-stretcher adds.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
import soxr

from antiphon.session.commands import SpeakingStyle


class TTSError(RuntimeError):
    """Synthesis failed (missing binary, bad voice, engine error)."""


class TextToSpeech(Protocol):
    sample_rate: int

    def synthesize(self, text: str, style: SpeakingStyle = ...) -> np.ndarray: ...


def soft_clip(audio: np.ndarray, knee: float = 0.8) -> np.ndarray:
    """Identity below ``knee``; above it a tanh curve that approaches ±1 with slope 1 at the knee."""
    mag = np.abs(audio)
    over = mag > knee
    if not np.any(over):
        return audio
    out = audio.copy()
    head = 1.0 - knee
    out[over] = np.sign(audio[over]) * (knee + head * np.tanh((mag[over] - knee) / head))
    return out


def pitch_ratio(semitones: float) -> float:
    return float(2.0 ** (semitones / 12.0))


def apply_pitch_by_resampling(audio: np.ndarray, ratio: float) -> np.ndarray:
    """Audio rendered ``ratio`` times too long → same length / ``ratio``, pitch × ``ratio``."""
    if abs(ratio - 1.0) < 1e-3 or len(audio) == 0:
        return audio
    return soxr.resample(audio, ratio, 1.0, quality="HQ").astype(np.float32)


def apply_volume(audio: np.ndarray, volume: float) -> np.ndarray:
    return soft_clip((audio * volume).astype(np.float32))


class PiperTTS:
    """Piper VITS voice (22.05 kHz for en_US-joe-medium).

    ``synthesize`` is synchronous and meant for a worker thread; one call per phrase keeps
    cancellation latency at one phrase. ``stream`` yields one chunk per sentence and checks
    ``cancel`` between them.
    """

    DURATION_FLOOR = 0.22  # fraction of duration that ignores length_scale (en_US-joe-medium)

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_threads: int | None = None,
        base_gain: float = 1.0,
        noise_w: float | None = None,
        duration_floor: float = DURATION_FLOOR,
    ) -> None:
        import onnxruntime
        from piper import PiperVoice

        from antiphon.models import piper_voice

        path = Path(model_path) if model_path else piper_voice()
        voice = PiperVoice.load(path)
        if n_threads:  # share the 2 cores politely with the LLM
            opts = onnxruntime.SessionOptions()
            opts.intra_op_num_threads = n_threads
            opts.inter_op_num_threads = 1
            voice.session = onnxruntime.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        self._voice = voice
        self.sample_rate: int = voice.config.sample_rate
        self.base_gain = base_gain
        self._noise_w = noise_w  # None: the voice's default phoneme-duration noise
        self.duration_floor = duration_floor
        self._lock = threading.Lock()  # one synthesis at a time per voice

    def length_scale_for(self, duration_factor: float) -> float:
        """Piper length_scale that stretches the utterance by ``duration_factor``."""
        c = self.duration_floor
        scale = (duration_factor - c) / (1.0 - c)
        return self._voice.config.length_scale * max(0.15, scale)

    def warmup(self) -> None:
        self.synthesize("Hello.")

    def stream(
        self, text: str, style: SpeakingStyle | None = None, cancel: threading.Event | None = None
    ) -> Iterator[np.ndarray]:
        from piper import SynthesisConfig

        style = (style or SpeakingStyle()).clamped()
        ratio = pitch_ratio(style.pitch)
        config = SynthesisConfig(
            length_scale=self.length_scale_for(ratio / style.speed),
            noise_w_scale=self._noise_w,
            normalize_audio=False,  # piper would peak-normalize each sentence; keep levels stable
        )
        text = text.strip()
        if not text:
            return
        with self._lock:
            for chunk in self._voice.synthesize(text, config):
                if cancel is not None and cancel.is_set():
                    return
                audio = apply_pitch_by_resampling(chunk.audio_float_array.astype(np.float32), ratio)
                yield apply_volume(audio * self.base_gain, style.volume)

    def synthesize(self, text: str, style: SpeakingStyle | None = None) -> np.ndarray:
        parts = list(self.stream(text, style))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


# Debian's espeak-ng has no Mandarin dictionary: Chinese characters come out as English
# digit names. Mandarin is therefore spoken from tone-numbered pinyin (pypinyin).
_ESPEAK_VOICES = {
    "zh": "cmn-latn-pinyin",
    "zh-cn": "cmn-latn-pinyin",
    "cmn": "cmn-latn-pinyin",
    "en": "en-us",
    "yue": "yue",
}


def to_pinyin(text: str) -> str:
    """汉字 → "han4 zi4" (tone numbers, 5 = neutral); other characters pass through."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


class EspeakTTS:
    """espeak-ng in a subprocess: robotic but speaks nearly any language (``zh`` → Mandarin).

    Style maps onto espeak's own controls: ``-s`` words per minute (speed), ``-a`` amplitude
    (volume, 100 = default), ``-p`` pitch (0–99, 50 = default; ≈ 6 units per semitone
    measured on the cmn voice, clamped to espeak's range).
    """

    sample_rate = 22050
    BASE_WPM = 175
    PITCH_UNITS_PER_SEMITONE = 6.0

    def __init__(
        self, language: str = "zh", binary: str = "espeak-ng", timeout_s: float = 20.0
    ) -> None:
        path = shutil.which(binary)
        if path is None:
            raise TTSError(f"{binary} not found on PATH; install the Debian package espeak-ng")
        self._binary = path
        self.voice = _ESPEAK_VOICES.get(language.lower(), language)
        self.timeout_s = timeout_s

    def command(self, text: str, style: SpeakingStyle) -> list[str]:
        style = style.clamped()
        wpm = int(round(min(450, max(80, self.BASE_WPM * style.speed))))
        pitch = int(round(min(99, max(0, 50 + self.PITCH_UNITS_PER_SEMITONE * style.pitch))))
        amplitude = int(round(min(200, max(0, 100 * style.volume))))
        return [
            self._binary,
            "-v",
            self.voice,
            "-s",
            str(wpm),
            "-p",
            str(pitch),
            "-a",
            str(amplitude),
            "--stdout",
            "--",
            to_pinyin(text) if self.voice == "cmn-latn-pinyin" else text,
        ]

    def synthesize(self, text: str, style: SpeakingStyle | None = None) -> np.ndarray:
        text = text.strip()
        if not text:
            return np.zeros(0, dtype=np.float32)
        try:
            proc = subprocess.run(
                self.command(text, style or SpeakingStyle()),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TTSError(
                f"espeak-ng took longer than {self.timeout_s}s for {len(text)} chars"
            ) from exc
        if proc.returncode != 0 or not proc.stdout:
            err = proc.stderr.decode(errors="replace").strip()
            raise TTSError(
                f"espeak-ng failed (exit {proc.returncode}) for voice {self.voice!r}: {err}"
            )
        audio, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        if rate != self.sample_rate:
            audio = soxr.resample(audio, rate, self.sample_rate).astype(np.float32)
        return soft_clip(audio.astype(np.float32))


if __name__ == "__main__":  # python -m antiphon.cascade.tts: real-time factor per style
    import time

    tts = PiperTTS()
    tts.warmup()
    sentence = "The weather is lovely today, so let us take a long walk in the park together."
    for st in (SpeakingStyle(), SpeakingStyle(speed=1.3), SpeakingStyle(pitch=4.0)):
        t0 = time.perf_counter()
        audio = tts.synthesize(sentence, st)
        seconds = len(audio) / tts.sample_rate
        print(f"{st}: {seconds:.2f}s audio, RTF {(time.perf_counter() - t0) / seconds:.3f}")
