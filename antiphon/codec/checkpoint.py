"""Mimi checkpoints in safetensors.

* Released Mimi files (e.g. ``tokenizer-e351c8d8-checkpoint125.safetensors``) load as they
  are: same key names, legacy names (``in_proj_weight``, ``embed_avg`` ...) mapped.
* Our own checkpoints carry their config as JSON in the safetensors header
  (``antiphon.codec.config``) and in a sidecar ``<name>.json`` for people to read.
* A checkpoint that does not fit the model fails with the missing, unexpected and misshaped
  key names, never a partial load.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from antiphon.codec.config import MimiConfig
from antiphon.codec.mel_codec_config import MEL_CODEC_KEY, MelCodecConfig
from antiphon.codec.model import MimiModel
from antiphon.nn.checkpoint import CheckpointError, strict_load

__all__ = ["CheckpointError", "load_mimi", "load_state", "save_mimi"]

CONFIG_KEY = "antiphon.codec.config"
_LEGACY = [
    (re.compile(r"(.*\.self_attn\.)in_proj_weight$"), r"\1in_projs.0.weight"),
    (re.compile(r"(.*\.self_attn\.)in_proj\.weight$"), r"\1in_projs.0.weight"),
    (re.compile(r"(.*\.self_attn\.)out_proj\.weight$"), r"\1out_projs.0.weight"),
    (re.compile(r"(.*\._codebook\.)inited$"), r"\1_initialized"),
    (re.compile(r"(.*\._codebook\.)cluster_size$"), r"\1cluster_usage"),
    (re.compile(r"(.*\._codebook\.)embed_(avg|sum)$"), r"\1embedding_sum"),
]


def normalize_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for pattern, repl in _LEGACY:
            key = pattern.sub(repl, key)
        out[key] = value
    return out


def load_state(model: MimiModel, state: dict[str, torch.Tensor]) -> None:
    """Strictly load ``state`` into ``model``; raise CheckpointError naming every mismatch."""
    strict_load(model, normalize_keys(state), "Mimi")
    model.quantizer.invalidate()


def read_config(path: str | Path) -> MimiConfig | None:
    """The config stored in a checkpoint (header, else sidecar JSON), or None."""
    path = Path(path)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if CONFIG_KEY in meta:
        return MimiConfig.from_json(meta[CONFIG_KEY])
    if MEL_CODEC_KEY in meta:  # a mel codec: its encoder/quantizer side is a MimiConfig
        return MelCodecConfig.from_json(meta[MEL_CODEC_KEY]).mimi
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        return MimiConfig.from_json(sidecar.read_text())
    return None


def load_mimi(
    path: str | Path,
    config: MimiConfig | None = None,
    num_codebooks: int | None = None,
    device: str | torch.device = "cpu",
) -> MimiModel:
    """Load our checkpoint or a released Mimi file (default config when none is stored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"codec checkpoint not found: {path}")
    if config is None:
        from antiphon.codec import mel_codec_checkpoint as mel  # (imports this module)

        if mel.is_mel_codec(path):  # the mel-decoder family: same interface, own loader
            return mel.load_mel_codec(path, num_codebooks, device)
    try:
        cfg = config or read_config(path) or MimiConfig()
        state = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read {path} as a safetensors checkpoint: {exc}") from exc
    if num_codebooks is not None:
        cfg = cfg.with_codebooks(num_codebooks)
    model = MimiModel(cfg).to(device)
    load_state(model, state)
    return model.eval()


def save_mimi(model: MimiModel, path: str | Path) -> Path:
    """Write ``path`` (safetensors with the config in its header) and ``path.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.config.with_codebooks(model.num_codebooks)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={CONFIG_KEY: cfg.to_json()})
    path.with_suffix(".json").write_text(cfg.to_json() + "\n")
    return path
