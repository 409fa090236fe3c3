"""Real synthesized speech for tests, cached as WAV files.

``synth("What is the capital of France?")`` returns 16 kHz mono float32 audio. Voices:
``piper`` (neural, most natural; the bundled en_US-joe-medium voice), ``espeak`` (espeak-ng;
any espeak voice after a colon, e.g. ``espeak:fr``) and ``flite`` (Debian flite, voice slt).

Mandarin: Debian's espeak-ng 1.51 is built without the extended Chinese dictionary, so
``espeak:cmn`` reads Hanzi as English-sounding digits. Use ``synth(pinyin, "espeak:pinyin")``
with tone-numbered pinyin ("wo3 xiang3 qu4 bei3 jing1"): voice cmn-latn-pinyin, spoken slowly
with gaps between syllables, which Whisper recognises far better.

Results are cached in ``/tmp/antiphon-test-speech`` keyed by voice, text and rate, so
repeated and parallel test runs synthesize each sentence once. Piper runs with zero noise
scales, so the same text gives the same audio on every machine.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.audio.io import read_wav, resample, write_wav

CACHE = Path(os.environ.get("ANTIPHON_TEST_SPEECH", "/tmp/antiphon-test-speech"))


@functools.lru_cache(maxsize=1)
def _piper() -> Any:
    from piper import PiperVoice

    from antiphon.models import piper_voice

    return PiperVoice.load(piper_voice())


def _synth_piper(text: str) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    voice = _piper()
    # Zero noise makes VITS deterministic: the same text gives the same audio on every
    # machine (the default scales sample random prosody, which made test numbers drift).
    cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = [c.audio_float_array.astype(np.float32) for c in voice.synthesize(text, cfg)]
    rate = voice.config.sample_rate
    if not chunks:
        raise ValueError(f"piper produced no audio for {text!r}")
    gap = np.zeros(int(0.15 * rate), dtype=np.float32)  # a breath between sentences
    pieces: list[np.ndarray] = []
    for c in chunks:
        pieces += [c, gap]
    return np.concatenate(pieces[:-1]), rate


def _synth_cli(cmd: list[str], out: Path) -> tuple[np.ndarray, int]:
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    except FileNotFoundError as exc:
        raise RuntimeError(f"{cmd[0]} is not installed (Debian package {cmd[0]})") from exc
    return read_wav(out)


def synth(text: str, voice: str = "piper", sample_rate: int = 16000) -> np.ndarray:
    """Speech for ``text`` as mono float32 at ``sample_rate`` (cached on disk)."""
    key = hashlib.sha1(f"v2\0{voice}\0{text}\0{sample_rate}".encode()).hexdigest()[:16]
    path = CACHE / f"{voice.replace(':', '-')}-{key}.wav"
    if path.is_file():
        return read_wav(path, sample_rate)[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        raw = Path(tmp) / "raw.wav"
        name, _, variant = voice.partition(":")
        if name == "piper":
            audio, rate = _synth_piper(text)
        elif name == "espeak" and variant == "pinyin":
            slow = ["-s", "110", "-g", "3"]  # 110 wpm, 30 ms gaps: measured best for Whisper
            audio, rate = _synth_cli(
                ["espeak-ng", "-v", "cmn-latn-pinyin", *slow, "-w", str(raw), text], raw
            )
        elif name == "espeak":
            cmd = ["espeak-ng", "-w", str(raw)] + (["-v", variant] if variant else []) + [text]
            audio, rate = _synth_cli(cmd, raw)
        elif name == "flite":
            audio, rate = _synth_cli(
                ["flite", "-voice", variant or "slt", "-t", text, "-o", str(raw)], raw
            )
        else:
            raise ValueError(f"unknown voice {voice!r}; use piper, espeak[:VOICE] or flite[:VOICE]")
        audio = resample(audio, rate, sample_rate)
        staged = Path(tmp) / "out.wav"
        write_wav(staged, audio, sample_rate)
        staged.replace(path)  # atomic: parallel runs never read a half-written file
    return read_wav(path, sample_rate)[0]
