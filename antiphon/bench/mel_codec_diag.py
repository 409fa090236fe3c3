"""Where a mel codec loses intelligibility: codes, or the student vocoder?

``python -m antiphon.bench.mel_codec_diag CODEC FEATURES [--items N]`` scores held-out turns
of a features cache (``mel_data.build_cache``) three ways, with STOI and Whisper tiny.en WER
against the turn's script text:

* ``teacher(target mel)``: HiFi-GAN on the true mel (the ceiling of any mel codec);
* ``student(target mel)``: the codec's student vocoder on the true mel;
* ``teacher(codec mel)``: HiFi-GAN on the mel the codec decodes from its codes;
* ``student(codec mel)``: the codec's own output (what the e2e model speaks with).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from antiphon.audio.io import resample
from antiphon.codec import metrics
from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_codec_checkpoint import load_mel_codec
from antiphon.codec.mel_data import VOCODER_RATE, load_cache
from antiphon.codec.vocoder import load_vocoder


def _score(audio: np.ndarray, rate: int, ref: np.ndarray, text: str) -> tuple[float, float]:
    audio = resample(np.clip(audio, -1, 1).astype(np.float32), rate, 24_000)
    n = min(len(audio), len(ref))
    s = metrics.stoi(audio[:n], ref[:n], 24_000)
    heard = metrics.transcribe(audio, 24_000) or ""
    return float("nan") if s is None else s, metrics.word_error_rate(text, heard)


@torch.inference_mode()
def diagnose(codec: MelCodec, features: Path, items: int) -> dict[str, dict[str, float]]:
    vocoder = load_vocoder()
    clips = [c for c in load_cache(features) if c.split != "train"][:items]
    rows: dict[str, list[tuple[float, float]]] = {
        "teacher(target mel)": [],
        "student(target mel)": [],
        "teacher(codec mel)": [],
        "student(codec mel)": [],
    }
    for clip in clips:
        ref = clip.audio.numpy()
        x = clip.audio.view(1, 1, -1)
        codes = codec.encode(x)
        mel = codec.decode_mel(codes)
        out = {
            "teacher(target mel)": (vocoder.render(clip.mel[None])[0, 0].numpy(), VOCODER_RATE),
            "student(target mel)": (
                codec.mel_decoder.render(clip.mel[None])[0, 0].numpy(),
                24_000,
            ),
            "teacher(codec mel)": (vocoder.render(mel)[0, 0].numpy(), VOCODER_RATE),
            "student(codec mel)": (codec.decode(codes)[0, 0].numpy(), 24_000),
        }
        for name, (audio, rate) in out.items():
            rows[name].append(_score(audio, rate, ref, clip.text))
    return {
        name: {
            "stoi": float(np.nanmean([r[0] for r in values])),
            "wer": float(np.mean([r[1] for r in values])),
            "items": float(len(values)),
        }
        for name, values in rows.items()
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m antiphon.bench.mel_codec_diag")
    p.add_argument("codec", help="mel codec safetensors")
    p.add_argument("features", help="features.pt of the codec stage")
    p.add_argument("--items", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = diagnose(load_mel_codec(args.codec), Path(args.features), args.items)
    for name, r in result.items():
        print(
            f"  {name:<22} STOI {r['stoi']:.3f}  WER {100 * r['wer']:.0f} %  ({r['items']:.0f} turns)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
