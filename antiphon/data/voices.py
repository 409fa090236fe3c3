"""Voices for synthetic dialogues, all rendered deterministically at 24 kHz mono.

The agent speaks with Piper's joe voice, the voice the LM learns to produce. Users get a
clearly different voice, chosen per dialogue: flite's slt (female) or rms, espeak-ng's
female variant, or joe pitched up by several semitones (the pitch trick from
antiphon.cascade.tts: synthesize slower, resample faster). Piper's VITS samples noise for
phoneme durations and the waveform; both noise scales are 0 here so that the same seed
gives the same audio, and the per-utterance ``speed`` supplies the variety instead.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile as sf

from antiphon.audio.io import resample
from antiphon.cascade.tts import apply_pitch_by_resampling, pitch_ratio

RATE = 24000
AGENT_VOICE = "piper:joe"
USER_VOICES = ("flite:slt", "flite:rms", "espeak:en-us+f3", "piper:joe+5")


class VoiceError(RuntimeError):
    """A voice that cannot be used here (unknown name, missing program)."""


class Voice(Protocol):
    name: str

    def render(self, text: str, speed: float = 1.0) -> np.ndarray: ...


@cache
def _piper_voice() -> Any:
    import onnxruntime
    from piper import PiperVoice

    from antiphon.models import piper_voice

    path = piper_voice()
    voice = PiperVoice.load(path)
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1  # deterministic and polite on a shared CPU
    opts.inter_op_num_threads = 1
    voice.session = onnxruntime.InferenceSession(
        str(path), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    return voice


class PiperVoice:
    def __init__(self, name: str, semitones: float = 0.0) -> None:
        self.name = name
        self.ratio = pitch_ratio(semitones)

    def render(self, text: str, speed: float = 1.0) -> np.ndarray:
        from piper import SynthesisConfig

        voice = _piper_voice()
        config = SynthesisConfig(
            length_scale=voice.config.length_scale * self.ratio / speed,
            noise_scale=0.0,
            noise_w_scale=0.0,
            normalize_audio=False,
        )
        parts = [c.audio_float_array.astype(np.float32) for c in voice.synthesize(text, config)]
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        audio = apply_pitch_by_resampling(audio, self.ratio)
        return resample(audio, voice.config.sample_rate, RATE)


class CommandVoice:
    """flite or espeak-ng in a subprocess, writing a WAV file that is read back."""

    def __init__(self, name: str, program: str, voice: str) -> None:
        path = shutil.which(program)
        if path is None:
            raise VoiceError(f"voice {name!r} needs {program!r}; install the Debian package")
        self.name, self.program, self.voice = name, path, voice

    def _command(self, text: str, speed: float, out: Path) -> list[str]:
        if Path(self.program).name == "flite":
            stretch = f"{1.0 / speed:.3f}"
            return [self.program, "-voice", self.voice, "--setf", f"duration_stretch={stretch}",
                    "-t", text, "-o", str(out)]  # fmt: skip
        wpm = str(int(round(160 * speed)))
        return [self.program, "-v", self.voice, "-s", wpm, "-w", str(out), "--", text]

    def render(self, text: str, speed: float = 1.0) -> np.ndarray:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "u.wav"
            proc = subprocess.run(
                self._command(text, speed, out), capture_output=True, timeout=60, check=False
            )
            if proc.returncode != 0 or not out.is_file():
                err = proc.stderr.decode(errors="replace").strip()
                raise VoiceError(f"{self.name} failed on {text[:40]!r}: {err}")
            audio, rate = sf.read(str(out), dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        peak = float(np.max(np.abs(mono))) if mono.size else 0.0
        if peak > 0:  # formant voices come out at arbitrary levels; match Piper's (~0.5 peak)
            mono = mono * (0.5 / peak)
        return resample(mono.astype(np.float32), int(rate), RATE)


def make_voice(name: str) -> Voice:
    """``piper:joe``, ``piper:joe+N`` (N semitones up), ``flite:VOICE``, ``espeak:VOICE``."""
    engine, _, spec = name.partition(":")
    if engine == "piper" and spec.startswith("joe"):
        shift = spec[3:]
        try:
            return PiperVoice(name, float(shift) if shift else 0.0)
        except ValueError:
            pass
    elif engine == "flite" and spec:
        return CommandVoice(name, "flite", spec)
    elif engine == "espeak" and spec:
        return CommandVoice(name, "espeak-ng", spec)
    raise VoiceError(
        f"unknown voice {name!r}; use piper:joe, piper:joe+SEMITONES, flite:NAME or espeak:NAME"
    )


def trim_silence(audio: np.ndarray, rel_db: float = -40.0, pad_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing silence (below ``rel_db`` of the peak), keeping a short pad."""
    if audio.size == 0:
        return audio
    peak = float(np.max(np.abs(audio)))
    if peak == 0:
        return audio[:0]
    loud = np.flatnonzero(np.abs(audio) > peak * 10 ** (rel_db / 20))
    pad = int(pad_s * RATE)
    start, end = max(0, int(loud[0]) - pad), min(audio.size, int(loud[-1]) + 1 + pad)
    out = audio[start:end].copy()
    fade = min(int(0.005 * RATE), out.size // 2)  # no clicks at the cut points
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out
