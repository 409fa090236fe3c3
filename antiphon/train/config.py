"""Training configuration: a TOML file -> frozen dataclasses, every key checked.

Sections: ``[data]``, ``[model]`` (a named preset plus ``[model.overrides]``), ``[optim]``,
``[loss]`` (codec or LM weights, by the command that reads the file) and ``[run]``. An unknown
key, a wrong type or a bad value raises ``TrainConfigError`` naming the file and the key.
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from antiphon.codec.config import LossWeights

Kind = Literal["codec", "lm"]


class TrainConfigError(ValueError):
    """A training config that cannot be used (names the file and the key)."""


@dataclass(frozen=True)
class DataConfig:
    dataset: str = ""
    train_split: str = "train"
    eval_split: str = "heldout"
    crop_seconds: float = 1.0  # codec: audio crop per item
    eval_seconds: float = 2.0  # codec: held-out clip length
    frames: int = 100  # LM: codec frames per item (12.5 Hz: 8 s)
    eval_items: int = 8  # held-out items per evaluation
    codec: str = ""  # LM: the Mimi checkpoint that turns audio into codes
    tokenizer: str = ""  # LM: SentencePiece model; empty = train one on the dataset's text
    cache_dir: str = ""  # LM: where encoded codes live; empty = DATASET/.codes


@dataclass(frozen=True)
class ModelConfig:
    preset: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)
    # start from weights: LM: a text LLM (.gguf, temporal transformer only; speech_layers and
    # freeze_backbone come from the overrides) or an LM checkpoint (.safetensors or a Moshi
    # folder); codec: a Mimi .safetensors. Empty: random init.
    init: str = ""


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.1
    warmup_steps: int = 0
    schedule: Literal["cosine", "constant"] = "cosine"
    min_lr_ratio: float = 0.1  # cosine floor, as a fraction of lr
    grad_clip: float = 1.0  # max global norm; 0 disables


@dataclass(frozen=True)
class LMLossConfig:
    """Moshi's recipe (moshi-finetune ``example/moshi_7B.yaml``): text + audio cross-entropy,
    the semantic codebook weighted 100x the acoustic ones, padding text tokens 0.5x."""

    text_weight: float = 1.0
    semantic_weight: float = 100.0
    acoustic_weight: float = 1.0
    text_padding_weight: float = 0.5


@dataclass(frozen=True)
class CodecLossConfig(LossWeights):
    """The codec's loss weights plus what the training run builds around them."""

    discriminator: bool = True
    discriminator_filters: int = 32
    teacher: Literal["none", "whisper"] = "none"  # semantic distillation teacher


@dataclass(frozen=True)
class RunConfig:
    steps: int = 1000
    batch_size: int = 8  # global: items per micro-batch summed over all processes
    grad_accum: int = 1
    eval_every: int = 0  # 0: only at the end
    checkpoint_every: int = 0  # 0: only at the end
    keep_checkpoints: int = 2
    log_every: int = 10
    out_dir: str = "runs/train"
    seed: int = 0
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    distributed: Literal["ddp", "fsdp"] = "ddp"  # used when launched by torchrun
    export_dtype: Literal["float32", "bfloat16"] = "float32"
    progress: bool = True


@dataclass(frozen=True)
class TrainConfig:
    kind: Kind
    data: DataConfig
    model: ModelConfig
    optim: OptimConfig
    loss: LMLossConfig | CodecLossConfig
    run: RunConfig
    source: str = ""  # the file it came from (for messages and the checkpoint)
    text: str = ""  # the file's text, stored in checkpoints


def _check_value(value: Any, hint: Any, where: str) -> Any:
    """``value`` converted to the annotated type, or TrainConfigError."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise TrainConfigError(
                f"{where} must be one of {list(typing.get_args(hint))}, got {value!r}"
            )
        return value
    if origin in (types.UnionType, typing.Union):
        return _check_value(value, typing.get_args(hint)[0], where)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list) or len(value) != len(args):
            raise TrainConfigError(f"{where} must be a list of {len(args)} numbers, got {value!r}")
        return tuple(
            _check_value(v, a, f"{where}[{i}]")
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise TrainConfigError(f"{where} must be a table, got {value!r}")
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and isinstance(value, hint):
        return value
    name = getattr(hint, "__name__", str(hint))
    raise TrainConfigError(f"{where} must be {name}, got {type(value).__name__} {value!r}")


def build_section(cls: type, table: Any, section: str, source: str) -> Any:
    """A dataclass from one TOML table; unknown keys and wrong types name file and key."""
    if not isinstance(table, dict):
        raise TrainConfigError(f"{source}: [{section}] must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise TrainConfigError(
            f"{source}: unknown key {section}.{unknown[0]} (known in [{section}]: {', '.join(known)})"
        )
    kwargs = {k: _check_value(v, hints[k], f"{source}: {section}.{k}") for k, v in table.items()}
    return cls(**kwargs)


def _validate(cfg: TrainConfig, where: str) -> None:
    r, o, d = cfg.run, cfg.optim, cfg.data
    positive = {
        "run.steps": r.steps, "run.batch_size": r.batch_size, "run.grad_accum": r.grad_accum,
        "run.keep_checkpoints": r.keep_checkpoints, "run.log_every": r.log_every,
        "optim.lr": o.lr, "data.frames": d.frames, "data.crop_seconds": d.crop_seconds,
        "data.eval_seconds": d.eval_seconds,
    }  # fmt: skip
    for key, value in positive.items():
        if value <= 0:
            raise TrainConfigError(f"{where}: {key} must be > 0, got {value}")
    for key, value in {
        "run.eval_every": r.eval_every, "run.checkpoint_every": r.checkpoint_every,
        "optim.warmup_steps": o.warmup_steps, "optim.grad_clip": o.grad_clip,
        "optim.weight_decay": o.weight_decay, "data.eval_items": d.eval_items,
    }.items():  # fmt: skip
        if value < 0:
            raise TrainConfigError(f"{where}: {key} must be >= 0, got {value}")
    if not 0 <= o.min_lr_ratio <= 1:
        raise TrainConfigError(
            f"{where}: optim.min_lr_ratio must be in [0, 1], got {o.min_lr_ratio}"
        )
    if not d.dataset:
        raise TrainConfigError(f"{where}: data.dataset is required (the dataset folder)")
    if cfg.kind == "lm" and not d.codec:
        raise TrainConfigError(
            f"{where}: data.codec is required for LM training (a Mimi checkpoint)"
        )
    if r.device != "auto" and r.device != "cpu" and not r.device.startswith("cuda"):
        raise TrainConfigError(
            f"{where}: run.device must be auto, cpu or cuda[:N], got {r.device!r}"
        )


def parse_config(text: str, kind: Kind, source: str = "<string>") -> TrainConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TrainConfigError(f"{source}: not valid TOML: {exc}") from exc
    sections: dict[str, type] = {
        "data": DataConfig,
        "model": ModelConfig,
        "optim": OptimConfig,
        "loss": LMLossConfig if kind == "lm" else CodecLossConfig,
        "run": RunConfig,
    }
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise TrainConfigError(
            f"{source}: unknown section or key {unknown[0]!r} (known: {', '.join(sections)})"
        )
    built = {
        name: build_section(cls, raw.get(name, {}), name, source) for name, cls in sections.items()
    }
    cfg = TrainConfig(kind=kind, source=source, text=text, **built)
    _validate(cfg, source)
    return cfg


def load_config(path: str | Path, kind: Kind) -> TrainConfig:
    p = Path(path)
    if not p.is_file():
        raise TrainConfigError(f"config file not found: {p}")
    return parse_config(p.read_text(encoding="utf-8"), kind, str(p))
