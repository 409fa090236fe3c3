"""Cached training features for the mel codec and its student vocoder.

From a dataset folder (``antiphon data synth`` layout) every turn of every speaker becomes
one clip: 24 kHz audio padded to whole 80 ms frames, its 22,400 Hz version analysed with the
vocoder's mel settings (7 mel frames per code frame), and the teacher HiFi-GAN's rendering of
that mel (the student's target). The teacher costs ~0.5x real time on 2 cores, so it runs
once per clip and the result is cached (``torch.save``), as are the Whisper encoder features
for the semantic codebook's distillation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from antiphon.audio.io import resample
from antiphon.codec.mel import MelSettings, log_mel
from antiphon.codec.vocoder import Vocoder

FRAME_24K = 1920
FRAME_VOC = 1792  # 7 hops of 256 at 22,400 Hz
VOCODER_RATE = 22_400


@dataclass
class MelClip:
    name: str
    split: str
    audio: torch.Tensor  # [T24] float32, T24 = n * 1920
    mel: torch.Tensor  # [80, 7n] log-mel of the 22,400 Hz audio
    teacher: torch.Tensor  # [n * 1792] HiFi-GAN rendering of ``mel`` (22,400 Hz)
    whisper: torch.Tensor | None = None  # [frames50, dim] Whisper encoder features
    text: str = ""


def to_vocoder_rate(audio24k: np.ndarray) -> np.ndarray:
    """24 kHz -> 22,400 Hz, length exactly ``len / 1920 * 1792``."""
    n = len(audio24k) // FRAME_24K * FRAME_VOC
    out = resample(audio24k.astype(np.float32), 24_000, VOCODER_RATE)
    return np.pad(out, (0, max(0, n - len(out))))[:n]


def target_mel(audio24k: np.ndarray, settings: MelSettings | None = None) -> torch.Tensor:
    """The mel the head must predict: ``[80, 7 n]`` for ``n`` whole 24 kHz frames."""
    wav = torch.from_numpy(to_vocoder_rate(audio24k))
    frames = len(wav) // 256
    return log_mel(wav[None], settings)[0, :, :frames]


def pad_frames(audio: np.ndarray) -> np.ndarray:
    extra = (-len(audio)) % FRAME_24K
    return np.pad(audio, (0, extra)).astype(np.float32)


def make_clip(
    name: str, split: str, audio24k: np.ndarray, vocoder: Vocoder, text: str = ""
) -> MelClip:
    audio = pad_frames(audio24k)
    mel = target_mel(audio, vocoder.settings)
    teacher = vocoder.render(mel[None])[0, 0]
    return MelClip(name, split, torch.from_numpy(audio), mel, teacher, None, text)


def turn_clips(
    dataset: Path, max_seconds: float = 6.0, dialogues: int | None = None
) -> list[tuple[str, str, np.ndarray, str]]:
    """(name, split, 24 kHz mono audio, text) for each turn of each speaker of the first
    ``dialogues`` dialogues (None: all)."""
    import soundfile as sf

    from antiphon.data.manifest import load_manifest

    out: list[tuple[str, str, np.ndarray, str]] = []
    for rec in load_manifest(dataset)[:dialogues]:
        stereo, rate = sf.read(str(rec.audio_path(dataset)), dtype="float32", always_2d=True)
        for i, turn in enumerate(rec.turns):
            ch = 0 if turn.speaker == "agent" else 1
            a = int(max(0.0, turn.start - 0.1) * rate)
            b = int(min(turn.end + 0.1, turn.start + max_seconds) * rate)
            clip = resample(stereo[a:b, ch], rate, 24_000)
            if len(clip) >= FRAME_24K * 4:
                out.append((f"{rec.id}-{i}-{turn.speaker}", rec.split, clip, turn.text))
    return out


def build_cache(
    dataset: Path,
    out: Path,
    vocoder: Vocoder,
    teacher_clips: int | None = None,
    whisper_clips: int | None = None,
    dialogues: int | None = None,
) -> list[MelClip]:
    """Compute (or read) the cache file ``out``. Every turn gets its target mel (cheap); the
    first ``teacher_clips`` training turns get the teacher's rendering and the first
    ``whisper_clips`` the Whisper features (None: all); the rest carry empty tensors. Only
    the first ``dialogues`` dialogues' turns (None: all)."""
    if out.is_file():
        return load_cache(out)
    teacher = None
    if whisper_clips != 0:
        from antiphon.codec.distill import WhisperEncoderTeacher

        teacher = WhisperEncoderTeacher()
    clips: list[MelClip] = []
    rendered = described = 0
    for name, split, audio, text in turn_clips(dataset, dialogues=dialogues):
        padded = pad_frames(audio)
        mel = target_mel(padded, vocoder.settings)
        clip = MelClip(name, split, torch.from_numpy(padded), mel, torch.zeros(0), None, text)
        train = split == "train"
        if train and (teacher_clips is None or rendered < teacher_clips):
            clip.teacher = vocoder.render(mel[None])[0, 0]
            rendered += 1
        if teacher is not None and train and (whisper_clips is None or described < whisper_clips):
            a16 = torch.from_numpy(resample(padded, 24_000, 16_000))
            clip.whisper = teacher(a16[None])[0].half()
            described += 1
        clips.append(clip)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save([c.__dict__ for c in clips], out)
    return clips


def load_cache(path: Path) -> list[MelClip]:
    return [MelClip(**d) for d in torch.load(path, weights_only=True)]
