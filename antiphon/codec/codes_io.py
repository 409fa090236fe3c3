"""Codes files: safetensors holding ``codes`` (int16 ``[K, frames]``) plus metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

FORMAT = "antiphon-mimi-codes/1"


class CodesFileError(ValueError):
    """A codes file that is unreadable or does not fit the codec."""


@dataclass(frozen=True)
class CodesFile:
    codes: torch.Tensor  # [K, frames] int64
    sample_rate: int
    frame_rate: float
    cardinality: int
    num_samples: int  # original audio length, to trim the decoded padding


def save_codes(path: str | Path, data: CodesFile) -> None:
    if data.cardinality > 32767:
        raise ValueError("int16 codes files hold cardinalities up to 32767")
    meta = {
        "format": FORMAT,
        "sample_rate": str(data.sample_rate),
        "frame_rate": repr(data.frame_rate),
        "cardinality": str(data.cardinality),
        "num_samples": str(data.num_samples),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file({"codes": data.codes.to(torch.int16).contiguous().cpu()}, str(path), metadata=meta)


def load_codes(path: str | Path) -> CodesFile:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise CodesFileError(
                    f"{path} is not a codes file (format {meta.get('format')!r}, expected {FORMAT!r})"
                )
            codes = f.get_tensor("codes").to(torch.int64)
        out = CodesFile(
            codes,
            int(meta["sample_rate"]),
            float(meta["frame_rate"]),
            int(meta["cardinality"]),
            int(meta["num_samples"]),
        )
    except (SafetensorError, OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
        if isinstance(exc, CodesFileError):
            raise
        raise CodesFileError(f"cannot read codes file {path}: {exc}") from exc
    if codes.dim() != 2:
        raise CodesFileError(f"codes must be [codebooks, frames], got {tuple(codes.shape)}")
    return out
