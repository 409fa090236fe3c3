"""Offline voices: flite (diphone/clustergen), espeak-ng (formant), festival (HTS) for the
simulated user, and piper for the agent's side in tests.

Every voice is deterministic: piper runs with zero noise scales, flite, espeak-ng and
festival's HTS voice are rule- or model-based without sampling. Names: ``flite:VOICE``
(slt, rms, awb, kal16), ``espeak:VOICE`` (any espeak-ng voice, e.g. en-us+f3),
``espeak:pinyin`` (tone-numbered pinyin read by the Mandarin voice), ``festival:slt_hts``,
and ``piper``, ``piper:slow``, ``piper:fast`` (piper en_US-joe-medium: the agent's own
voice, never a user voice)."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.audio.io import read_wav, resample
from antiphon.audio.silence import trim_edges

AGENT_VOICE = "piper"  # the agent speaks piper en_US-joe-medium: no user speaks with it

# The voices scenarios rotate through (three engines, male and female). A user with the
# agent's own voice would flatter the echo and interruption detectors and the recognizer.
USER_VOICES = (
    "flite:slt",
    "espeak:en-us+f3",
    "festival:slt_hts",
    "flite:rms",
    "espeak:en-gb+m3",
    "flite:awb",
    "espeak:en-us+m1",
)
_PIPER_SCALES = {"": 1.0, "slow": 1.15, "fast": 0.88}


class VoiceError(RuntimeError):
    """A voice could not be synthesized (unknown name, missing engine)."""


@functools.lru_cache(maxsize=1)
def _piper() -> Any:
    from piper import PiperVoice

    from antiphon.models import piper_voice

    return PiperVoice.load(piper_voice())


def _synth_piper(text: str, variant: str) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    if variant not in _PIPER_SCALES:
        raise VoiceError(f"unknown piper variant {variant!r}; use one of {sorted(_PIPER_SCALES)}")
    voice = _piper()
    cfg = SynthesisConfig(
        noise_scale=0.0, noise_w_scale=0.0, length_scale=_PIPER_SCALES[variant]
    )  # zero noise: the same text gives the same audio everywhere
    chunks = [c.audio_float_array.astype(np.float32) for c in voice.synthesize(text, cfg)]
    if not chunks:
        raise VoiceError(f"piper produced no audio for {text!r}")
    return np.concatenate(chunks), int(voice.config.sample_rate)


def _synth_cli(cmd: list[str], out: Path) -> tuple[np.ndarray, int]:
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    except FileNotFoundError as exc:
        raise VoiceError(f"{cmd[0]} is not installed (Debian package {cmd[0]})") from exc
    except subprocess.CalledProcessError as exc:
        raise VoiceError(f"{cmd[0]} failed: {exc.stderr.decode(errors='replace')}") from exc
    return read_wav(out)


def _synth_festival(text: str, out: Path) -> tuple[np.ndarray, int]:
    try:
        subprocess.run(
            ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", str(out)],
            input=text.encode(), check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except FileNotFoundError as exc:
        raise VoiceError("festival is not installed (Debian festival festvox-us-slt-hts)") from exc
    except subprocess.CalledProcessError as exc:
        raise VoiceError(f"festival failed: {exc.stderr.decode(errors='replace')}") from exc
    return read_wav(out)


def synthesize(text: str, voice: str, sample_rate: int = 16000) -> np.ndarray:
    """Mono float32 speech for ``text`` at ``sample_rate``, silence trimmed at both ends."""
    engine, _, variant = voice.partition(":")
    with tempfile.TemporaryDirectory(prefix="antiphon-voice-") as tmp:
        raw = Path(tmp) / "raw.wav"
        if engine == "piper":
            audio, rate = _synth_piper(text, variant)
        elif engine == "flite":
            audio, rate = _synth_cli(
                ["flite", "-voice", variant or "slt", "-t", text, "-o", str(raw)], raw
            )
        elif engine == "espeak" and variant == "pinyin":
            audio, rate = _synth_cli(
                ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "110", "-w", str(raw), text], raw
            )
        elif engine == "espeak":
            args = ["-v", variant] if variant else []
            audio, rate = _synth_cli(["espeak-ng", *args, "-w", str(raw), text], raw)
        elif engine == "festival" and variant == "slt_hts":
            audio, rate = _synth_festival(text, raw)
        else:
            raise VoiceError(
                f"unknown voice {voice!r}; use flite:VOICE, espeak:VOICE, festival:slt_hts "
                "or piper[:slow|fast]"
            )
    return trim(resample(audio, rate, sample_rate), sample_rate)


def trim(audio: np.ndarray, rate: int, floor_db: float = -40.0, keep_ms: int = 20) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames quieter than floor_db below the peak),
    so pauses and turn ends placed by a scenario are exactly where it says."""
    return trim_edges(audio, rate, keep_ms, keep_ms, floor_db)
