"""Moshi checkpoint folders: released ones as they are, and our own in the same layout.

A folder holds the LM weights (``model.safetensors``, bf16 in the releases, depth-transformer
attention projections fused across steps as ``in_proj_weight``/``out_proj.weight``), the
SentencePiece text tokenizer (``tokenizer_spm_32k_3.model``), the Mimi codec
(``tokenizer-e351c8d8-checkpoint125.safetensors``) and optionally ``config.json`` (the moshi
``LMModel`` keyword layout; without one, the config in the weights' safetensors header, else
the released 7B configuration). Our own checkpoints write that same layout (so the
reference can read them too) and also keep the config in the safetensors header; a config
with antiphon-only options (text-LLM backbone, dual resolution) has no released layout, so
its folder has no ``config.json`` and the header alone carries it. Every problem is reported
with the file or key at fault.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from antiphon.lm.config import ConfigError, LMConfig
from antiphon.lm.model import LMModel
from antiphon.nn.checkpoint import CheckpointError, strict_load

LM_NAME = "model.safetensors"
TOKENIZER_NAME = "tokenizer_spm_32k_3.model"
MIMI_NAME = "tokenizer-e351c8d8-checkpoint125.safetensors"
CONFIG_KEY = "antiphon.lm.config"
_FUSED = re.compile(r"^(.*\.self_attn\.)(in_proj_weight|in_proj\.weight|out_proj\.weight)$")


@dataclass(frozen=True)
class CheckpointFiles:
    folder: Path
    lm: Path
    tokenizer: Path
    mimi: Path
    config: LMConfig
    raw_config: dict[str, object]


def find_checkpoint(folder: str | Path) -> CheckpointFiles:
    """Resolve the files of a checkpoint folder; raise naming everything that is missing."""
    root = Path(folder)
    if not root.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {root}")
    raw: dict[str, object] = {}
    cfg_path = root / "config.json"
    if cfg_path.is_file():
        try:
            raw = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{cfg_path} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise CheckpointError(f"{cfg_path} must hold a JSON object")
    names = {
        "LM weights": str(raw.get("moshi_name", LM_NAME)),
        "text tokenizer": str(raw.get("tokenizer_name", TOKENIZER_NAME)),
        "Mimi codec": str(raw.get("mimi_name", MIMI_NAME)),
    }
    paths = {what: root / name for what, name in names.items()}
    missing = [f"{what} ({p.name})" for what, p in paths.items() if not p.is_file()]
    if missing:
        raise CheckpointError(f"checkpoint folder {root} lacks: {', '.join(missing)}")
    try:
        config = LMConfig.from_moshi(raw) if raw else header_config(paths["LM weights"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{cfg_path if raw else paths['LM weights']}: {exc}") from exc
    return CheckpointFiles(
        root,
        paths["LM weights"],
        paths["text tokenizer"],
        paths["Mimi codec"],
        config,
        raw,
    )


def split_fused(state: dict[str, torch.Tensor], config: LMConfig) -> dict[str, torch.Tensor]:
    """Released layout -> ours: per-step attention projections fused along dim 0 are split
    into ``in_projs.K`` / ``out_projs.K`` (one entry for the temporal transformer)."""
    out: dict[str, torch.Tensor] = {}
    steps = config.dep_q if config.depformer_weights_per_step else 1
    for key, value in state.items():
        m = _FUSED.match(key)
        if m is None:
            out[key] = value
            continue
        n = steps if key.startswith("depformer.") else 1
        target = "in_projs" if m.group(2).startswith("in_proj") else "out_projs"
        if value.shape[0] % n:
            raise CheckpointError(f"{key}: {value.shape[0]} rows do not split into {n} steps")
        for i, part in enumerate(value.view(n, -1, *value.shape[1:])):
            out[f"{m.group(1)}{target}.{i}.weight"] = part
    return out


def fuse_steps(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Ours -> released layout (``self_attn.in_proj_weight``, ``self_attn.out_proj.weight``)."""
    out: dict[str, torch.Tensor] = {}
    groups: dict[str, dict[int, torch.Tensor]] = {}
    pattern = re.compile(r"^(.*\.self_attn\.)(in_projs|out_projs)\.(\d+)\.weight$")
    for key, value in state.items():
        m = pattern.match(key)
        if m is None:
            out[key] = value
            continue
        name = "in_proj_weight" if m.group(2) == "in_projs" else "out_proj.weight"
        groups.setdefault(m.group(1) + name, {})[int(m.group(3))] = value
    for key, parts in groups.items():
        out[key] = torch.cat([parts[i] for i in range(len(parts))], dim=0).contiguous()
    return out


def read_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return load_file(str(path)), meta
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read {path} as safetensors: {exc}") from exc


def header_config(path: Path) -> LMConfig:
    """The ``LMConfig`` in our safetensors header; the released 7B one if there is none."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read {path} as safetensors: {exc}") from exc
    return LMConfig.from_json(meta[CONFIG_KEY]) if CONFIG_KEY in meta else LMConfig()


def load_lm(
    path: str | Path,
    config: LMConfig | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> LMModel:
    """Load LM weights (released or ours) into a model of ``config`` (from the file's header
    if it has one, else the released 7B), converted to ``dtype``."""
    state, meta = read_state(Path(path))
    if config is None:
        config = LMConfig.from_json(meta[CONFIG_KEY]) if CONFIG_KEY in meta else LMConfig()
    # Built on the meta device and given the checkpoint's own tensors (converted once): a
    # 7B model in bf16 needs its 15 GB once, not twice.
    with torch.device("meta"):
        model = LMModel(config)
    state = {
        k: v.to(device=device, dtype=dtype) if v.is_floating_point() else v.to(device)
        for k, v in split_fused(state, config).items()
    }
    strict_load(model, state, "LM", assign=True)
    return model.eval()


def save_lm(model: LMModel, folder: str | Path, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write ``model.safetensors`` (released layout, config in the header) and ``config.json``
    (only where the config has a released layout)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(dtype).contiguous().cpu() for k, v in model.state_dict().items()}
    path = root / LM_NAME
    save_file(fuse_steps(state), str(path), metadata={CONFIG_KEY: model.config.to_json()})
    cfg_path = root / "config.json"
    if model.config.released_layout_problems():
        cfg_path.unlink(missing_ok=True)  # a stale one would override the header
    else:
        cfg_path.write_text(json.dumps(model.config.to_moshi(), indent=2) + "\n")
    return path
