"""LM training: crops of assembled dialogue codes, the multi-stream loss, per-stream eval, and
an export folder in the released Moshi layout (LM + tokenizer + codec) that
``antiphon serve --brain moshi --checkpoint DIR`` loads."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from antiphon.codec.checkpoint import read_config
from antiphon.data.manifest import ManifestError, load_manifest
from antiphon.lm.checkpoint import MIMI_NAME, TOKENIZER_NAME, find_checkpoint, load_lm, save_lm
from antiphon.lm.config import ConfigError, LMConfig, small_config, tiny_config
from antiphon.lm.model import LMModel
from antiphon.lm.tokenizer import TextTokenizer
from antiphon.nn.checkpoint import CheckpointError
from antiphon.train.config import LMLossConfig, TrainConfig, TrainConfigError
from antiphon.train.distributed import DistEnv, barrier, mean_over_ranks
from antiphon.train.lm_data import (
    LMData,
    cache_folder,
    dataset_sentences,
    encode_dataset,
    train_tokenizer,
)
from antiphon.train.lm_loss import lm_loss
from antiphon.train.sampling import ItemRef

PRESETS: dict[str, Callable[[], LMConfig]] = {
    "tiny": tiny_config,
    "small": small_config,
    "moshi-7b": LMConfig,
}


def lm_model_config(cfg: TrainConfig) -> LMConfig:
    if cfg.model.preset not in PRESETS:
        raise TrainConfigError(
            f"{cfg.source}: model.preset {cfg.model.preset!r} is not an LM preset"
            f" (known: {', '.join(PRESETS)})"
        )
    known = {f.name for f in fields(LMConfig)}
    over = dict(cfg.model.overrides)
    for key in over:
        if key not in known:
            raise TrainConfigError(
                f"{cfg.source}: unknown key model.overrides.{key} (an LMConfig field)"
            )
    if "delays" in over:
        over["delays"] = tuple(over["delays"])
    try:
        return replace(PRESETS[cfg.model.preset](), **over)
    except (ConfigError, TypeError) as exc:
        raise TrainConfigError(f"{cfg.source}: model.overrides: {exc}") from exc


class LMTask:
    kind = "lm"

    def __init__(self, cfg: TrainConfig, env: DistEnv, out_dir: Path) -> None:
        if not isinstance(cfg.loss, LMLossConfig):
            raise TypeError("LMTask needs an LM config")
        self.cfg, self.loss_cfg, self.env = cfg, cfg.loss, env
        self.config = lm_model_config(cfg)
        self.optimizer_groups = {"lm": ["model"]}
        d = cfg.data
        codec = Path(d.codec)
        if not codec.is_file():
            raise TrainConfigError(f"{cfg.source}: data.codec: no such file {codec}")
        mimi = read_config(codec)
        if mimi is None:
            raise TrainConfigError(f"{cfg.source}: data.codec {codec} carries no Mimi config")
        bins, books = mimi.quantizer.bins, mimi.num_codebooks
        if bins != self.config.card or max(self.config.dep_q, self.config.user_q) > books:
            raise TrainConfigError(
                f"{cfg.source}: the codec ({books} codebooks of {bins}) does not fit the LM"
                f" (card={self.config.card}, dep_q={self.config.dep_q}, user_q={self.config.user_q})"
            )
        self.codec, self.frame_rate = codec, mimi.frame_rate
        try:
            records = load_manifest(d.dataset)
        except ManifestError as exc:
            raise TrainConfigError(f"{cfg.source}: data.dataset: {exc}") from exc
        # Each process encodes its share of the dialogues (one per GPU); process 0 also trains
        # the tokenizer. All wait for each other, then read everything from the cache.
        self.tokenizer_path = Path(d.tokenizer) if d.tokenizer else out_dir / TOKENIZER_NAME
        share = records[env.rank :: env.world]
        encode_dataset(d.dataset, codec, d.cache_dir, share, device=env.device)
        if env.is_main and not d.tokenizer and not self.tokenizer_path.is_file():
            train_tokenizer(self.tokenizer_path, self.config.text_card, dataset_sentences(records))
        barrier(env)
        try:
            self.tokenizer = TextTokenizer(self.tokenizer_path, self.config)
        except CheckpointError as exc:
            raise TrainConfigError(f"{cfg.source}: data.tokenizer: {exc}") from exc
        folder = cache_folder(d.dataset, codec, d.cache_dir)

        def split(name: str) -> LMData:
            recs = [r for r in records if r.split == name]
            return LMData(recs, folder, self.tokenizer, self.config, self.frame_rate)

        self.train_data, self.eval_data = split(d.train_split), split(d.eval_split)
        if not len(self.train_data):
            raise TrainConfigError(
                f"{cfg.source}: dataset {d.dataset} has no {d.train_split!r} dialogues"
            )
        pads = (self.config.text_padding_id, self.config.text_end_padding_id)
        self.padding_ids = tuple(dict.fromkeys(pads))

    @property
    def num_examples(self) -> int:
        return len(self.train_data)

    def build(self, device: torch.device) -> dict[str, nn.Module]:
        init = self.cfg.model.init
        if not init:
            return {"model": LMModel(self.config)}
        path = Path(init)
        try:
            if path.suffix == ".gguf":
                from antiphon.lm.gguf_init import init_from_gguf

                c = self.config
                model = init_from_gguf(path, c, c.speech_layers, c.freeze_backbone)
            else:
                lm_file = find_checkpoint(path).lm if path.is_dir() else path
                model = load_lm(lm_file, self.config).train()
        except (OSError, ValueError) as exc:  # GGUFError, CheckpointError, ConfigError
            raise TrainConfigError(f"{self.cfg.source}: model.init {init}: {exc}") from exc
        self.config = model.config  # the GGUF fixes the backbone's shape; export rebuilds it
        return {"model": model}

    def batch(self, refs: list[ItemRef], device: torch.device) -> torch.Tensor:
        frames = self.cfg.data.frames
        return torch.stack([self.train_data.random_crop(r, frames) for r in refs]).to(device)

    def loss(
        self, modules: dict[str, nn.Module], codes: torch.Tensor, env: DistEnv | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        env = env or self.env
        out = modules["model"](codes)
        norm = (lambda s: mean_over_ranks(env, s)) if env.enabled else None
        return lm_loss(out, codes, self.loss_cfg, self.padding_ids, norm)

    @torch.no_grad()
    def evaluate(self, modules: dict[str, nn.Module], device: torch.device) -> dict[str, float]:
        """Per-stream losses and accuracies over whole held-out dialogues (consecutive windows
        of ``data.frames``, the last one padded, 16 windows per batch), averaged over batches."""
        n = min(self.cfg.data.eval_items, len(self.eval_data))
        if n == 0:
            return {}
        model = modules["model"]
        was_training = model.training
        model.eval()
        sums: dict[str, list[float]] = {}
        frames = self.cfg.data.frames
        for i in range(n):
            total = self.eval_data.items[i].shape[1]
            windows = [self.eval_data.crop(i, frames, s) for s in range(0, total, frames)]
            for at in range(0, len(windows), 16):  # batches of windows
                codes = torch.stack(windows[at : at + 16]).to(device)
                _, logs = lm_loss(model(codes), codes, self.loss_cfg, self.padding_ids)
                for k, v in logs.items():
                    sums.setdefault(k, []).append(float(v))
        model.train(was_training)
        return {k: float(np.mean(v)) for k, v in sums.items()}

    def export(self, states: dict[str, dict[str, Any]], folder: Path) -> Path:
        """``folder`` = model.safetensors + config.json + tokenizer + codec (released layout)."""
        model = LMModel(self.config)
        model.load_state_dict(states["model"])
        dtype = torch.bfloat16 if self.cfg.run.export_dtype == "bfloat16" else torch.float32
        save_lm(model, folder, dtype=dtype)
        shutil.copyfile(self.tokenizer_path, folder / TOKENIZER_NAME)
        shutil.copyfile(self.codec, folder / MIMI_NAME)
        files = find_checkpoint(folder)  # fail here, not at serving time, if it does not read back
        load_lm(files.lm)
        return folder
