"""Mel codec checkpoints: safetensors with ``MelCodecConfig`` JSON in the header.

The header key differs from the SEANet-decoder family's (``antiphon.codec.config``), so a
checkpoint of one family loaded as the other fails with an error that says which family
the file holds, before any key is compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from antiphon.codec.checkpoint import CONFIG_KEY
from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_codec_config import MEL_CODEC_KEY, MelCodecConfig
from antiphon.nn.checkpoint import CheckpointError, strict_load


class CodecFamilyError(CheckpointError):
    """A checkpoint of one codec family loaded as the other."""


def header(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read {path} as a safetensors checkpoint: {exc}") from exc


def is_mel_codec(path: str | Path) -> bool:
    return MEL_CODEC_KEY in header(Path(path))


def read_mel_config(path: Path) -> MelCodecConfig:
    meta = header(path)
    if MEL_CODEC_KEY not in meta:
        family = (
            "a Mimi-family codec (SEANet waveform decoder)"
            if CONFIG_KEY in meta
            else "no antiphon codec config (a released Mimi file or another model)"
        )
        raise CodecFamilyError(
            f"{path} holds {family}, not a mel codec (no {MEL_CODEC_KEY!r} in its header);"
            " load it with antiphon.codec.checkpoint.load_mimi"
        )
    try:
        return MelCodecConfig.from_json(meta[MEL_CODEC_KEY])
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid mel codec config: {exc}") from exc


def load_mel_codec(
    path: str | Path, num_codebooks: int | None = None, device: str | torch.device = "cpu"
) -> MelCodec:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"codec checkpoint not found: {path}")
    cfg = read_mel_config(path)
    if num_codebooks is not None:
        cfg = cfg.with_codebooks(num_codebooks)
    try:
        state = load_file(str(path), device=str(device))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read {path} as a safetensors checkpoint: {exc}") from exc
    model = MelCodec(cfg).to(device)
    strict_load(model, state, "mel codec")
    model.quantizer.invalidate()
    return model.eval()


def save_mel_codec(model: MelCodec, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.mel_config.with_codebooks(model.num_codebooks)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={MEL_CODEC_KEY: cfg.to_json()})
    path.with_suffix(".json").write_text(cfg.to_json() + "\n")
    return path
