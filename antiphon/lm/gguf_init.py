"""Initialise the temporal transformer from a pretrained text LLM in a GGUF file (Qwen2,
Llama), dequantised to float32 with the ``gguf`` package.

Mapping (GGUF -> ours, per layer ``N`` of ``transformer.layers``):
``attn_norm`` -> ``norm1.alpha``; ``attn_q|k|v`` (+ biases) -> ``self_attn.in_projs.0`` (rows
q, k, v); ``attn_output`` -> ``out_projs.0``; ``ffn_norm`` -> ``norm2.alpha``; ``ffn_gate``,
``ffn_up`` -> ``gating.linear_in`` (rows gate, up); ``ffn_down`` -> ``gating.linear_out``;
``output_norm`` -> ``out_norm.alpha``. Hyper-parameters come from the metadata: heads and
key/value heads (``kv_repeat``), FFN width (``ffn_hidden``), RMS eps, RoPE base.

RoPE layout: ours rotates interleaved pairs (2i, 2i+1); llama.cpp runs Qwen2 with the NEOX
layout, pairs (i, i + d/2), on q/k rows as the original model has them, so we permute each
head's q/k rows (and biases) to put row i + d/2 beside row i: the dot products, hence the
attention, are unchanged. Llama GGUFs are already stored interleaved (llama.cpp's
converter permutes them), so they are copied as they are.

The text vocabulary stays ours (SentencePiece, ``text_card``): the LLM's token embeddings
and output head belong to another tokenizer, so ``text_emb``/``text_linear`` (and all
audio parts) keep their random init and are trained. ``speech_layers`` appended after the
backbone (the MOSS-Speech recipe) start as the identity (zero output projections), so the
initialised model computes exactly the LLM's function until they learn something.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from antiphon.lm.config import LMConfig
from antiphon.lm.layers import Gating
from antiphon.lm.model import LMModel
from antiphon.lm.transformer import LMLayer

# architecture -> whether q/k rows must be permuted from the NEOX to the interleaved layout
_ARCHITECTURES = {"qwen2": True, "llama": False}


class GGUFError(ValueError):
    """A GGUF file that cannot initialise the backbone (names the file and key)."""


@dataclass(frozen=True)
class GGUFBackbone:
    path: Path
    arch: str
    dim: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    ffn_hidden: int
    norm_eps: float
    rope_theta: float
    qkv_bias: bool
    vocab: int


class GGUFWeights:
    """A GGUF file's metadata and lazily dequantised float32 tensors."""

    def __init__(self, path: str | Path) -> None:
        import gguf  # optional dependency, imported where it is used

        self.path = Path(path)
        if not self.path.is_file():
            raise GGUFError(f"GGUF file not found: {self.path}")
        try:
            self._reader = gguf.GGUFReader(str(self.path))
        except (ValueError, OSError, AssertionError) as exc:
            raise GGUFError(f"{self.path} is not a readable GGUF file: {exc}") from exc
        self._tensors = {t.name: t for t in self._reader.tensors}
        self._dequantize = gguf.quants.dequantize
        arch = str(self._field("general.architecture"))
        if arch not in _ARCHITECTURES:
            raise GGUFError(
                f"{self.path}: architecture {arch!r} is not supported"
                f" (supported: {', '.join(_ARCHITECTURES)})"
            )
        heads = int(self._field(f"{arch}.attention.head_count"))
        self.backbone = GGUFBackbone(
            path=self.path,
            arch=arch,
            dim=int(self._field(f"{arch}.embedding_length")),
            num_layers=int(self._field(f"{arch}.block_count")),
            num_heads=heads,
            num_kv_heads=int(self._field(f"{arch}.attention.head_count_kv", heads)),
            ffn_hidden=int(self._field(f"{arch}.feed_forward_length")),
            norm_eps=float(self._field(f"{arch}.attention.layer_norm_rms_epsilon")),
            rope_theta=float(self._field(f"{arch}.rope.freq_base", 10_000.0)),
            qkv_bias="blk.0.attn_q.bias" in self._tensors,
            vocab=int(self.tensor_info("token_embd.weight")[1][0]),
        )
        head_dim = self.backbone.dim // heads
        if int(self._field(f"{arch}.attention.key_length", head_dim)) != head_dim:
            raise GGUFError(f"{self.path}: a head size other than dim / heads is not supported")
        scaling = str(self._field(f"{arch}.rope.scaling.type", "none"))
        if scaling != "none":
            raise GGUFError(f"{self.path}: rope scaling {scaling!r} is not supported")

    def _field(self, key: str, default: object = None) -> Any:
        field = self._reader.fields.get(key)
        if field is None:
            if default is None:
                raise GGUFError(f"{self.path}: metadata key {key!r} is missing")
            return default
        return field.contents()

    def tensor_info(self, name: str) -> tuple[str, tuple[int, ...]]:
        """(quantisation type name, shape as torch sees it: rows first)."""
        t = self._tensors.get(name)
        if t is None:
            raise GGUFError(f"{self.path}: tensor {name!r} is missing")
        return t.tensor_type.name, tuple(int(n) for n in reversed(t.shape.tolist()))

    def quant_types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self._tensors.values():
            counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
        return counts

    def tensor(self, name: str, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Dequantised float32 tensor (rows first, as ``nn.Linear`` weights); ``rows``
        dequantises only those rows (a few token embeddings out of 150k)."""
        qtype, shape = self.tensor_info(name)
        t = self._tensors[name]
        data = t.data if rows is None else t.data[rows.numpy()]
        try:
            values = self._dequantize(data, t.tensor_type)
        except NotImplementedError as exc:
            raise GGUFError(
                f"{self.path}: {name} has quantisation {qtype}, which gguf cannot dequantise: {exc}"
            ) from exc
        values = np.ascontiguousarray(values, dtype=np.float32)
        if not values.flags.writeable:  # float32 tensors come back as views of the file
            values = values.copy()
        out = torch.from_numpy(values)
        return out.reshape(shape if rows is None else (len(rows), *shape[1:]))

    def output_head(self) -> torch.Tensor:
        """The LLM's vocabulary projection (the token embeddings when tied)."""
        name = "output.weight" if "output.weight" in self._tensors else "token_embd.weight"
        return self.tensor(name)


def backbone_config(
    g: GGUFBackbone, base: LMConfig, speech_layers: int = 0, freeze: bool = False
) -> LMConfig:
    """``base`` (streams, depth transformer, context) with the LLM's temporal transformer."""
    if g.num_heads % g.num_kv_heads:
        raise GGUFError(f"{g.path}: {g.num_heads} heads do not group into {g.num_kv_heads}")
    return replace(
        base,
        dim=g.dim,
        num_heads=g.num_heads,
        num_layers=g.num_layers,
        kv_repeat=g.num_heads // g.num_kv_heads,
        depformer_kv_repeat=base.depth_kv_repeat,  # the depth transformer stays the base's
        max_period=g.rope_theta,
        norm_eps=g.norm_eps,
        qkv_bias=g.qkv_bias,
        ffn_hidden=g.ffn_hidden,
        speech_layers=speech_layers,
        freeze_backbone=freeze,
    )


def neox_to_interleaved(w: torch.Tensor, head_dim: int) -> torch.Tensor:
    """Per head, rows (i, i + d/2) -> (2i, 2i + 1): NEOX RoPE pairs to interleaved pairs."""
    rest = w.shape[1:]
    heads = w.shape[0] // head_dim
    return w.reshape(heads, 2, head_dim // 2, *rest).transpose(1, 2).reshape(w.shape)


@torch.no_grad()
def load_backbone(model: LMModel, weights: GGUFWeights) -> None:
    """Copy the LLM's layers and final norm into ``model`` (built with ``backbone_config``)."""
    g, c = weights.backbone, model.config
    if (c.dim, c.num_layers, c.num_heads, c.ffn_hidden) != (
        g.dim,
        g.num_layers,
        g.num_heads,
        g.ffn_hidden,
    ):
        raise GGUFError(f"{g.path}: the model was not built with backbone_config for this file")
    permute = _ARCHITECTURES[g.arch]
    hd = c.dim // c.num_heads
    layers: list[LMLayer] = model.transformer.blocks()
    for n, layer in enumerate(layers[: c.num_layers]):

        def get(name: str, n: int = n) -> torch.Tensor:
            return weights.tensor(f"blk.{n}.{name}")

        def qk(name: str) -> torch.Tensor:
            return neox_to_interleaved(get(name), hd) if permute else get(name)

        attn = layer.self_attn
        _copy(
            _linear(attn.in_projs[0]).weight,
            torch.cat([qk("attn_q.weight"), qk("attn_k.weight"), get("attn_v.weight")]),
            g,
            n,
        )
        if c.qkv_bias:
            bias = _linear(attn.in_projs[0]).bias
            assert bias is not None
            _copy(bias, torch.cat([qk("attn_q.bias"), qk("attn_k.bias"), get("attn_v.bias")]), g, n)
        _copy(_linear(attn.out_projs[0]).weight, get("attn_output.weight"), g, n)
        _copy(layer.norm1.alpha, get("attn_norm.weight").view(1, 1, -1), g, n)
        _copy(layer.norm2.alpha, get("ffn_norm.weight").view(1, 1, -1), g, n)
        gating = cast(Gating, layer.gating)
        _copy(
            gating.linear_in.weight, torch.cat([get("ffn_gate.weight"), get("ffn_up.weight")]), g, n
        )
        _copy(gating.linear_out.weight, get("ffn_down.weight"), g, n)
    model.out_norm.alpha.copy_(weights.tensor("output_norm.weight").view(1, 1, -1))
    for layer in layers[c.num_layers :]:  # speech layers start as the identity
        _linear(layer.self_attn.out_projs[0]).weight.zero_()
        cast(Gating, layer.gating).linear_out.weight.zero_()


def _linear(m: nn.Module) -> nn.Linear:
    return cast(nn.Linear, m)


def _copy(target: torch.Tensor, value: torch.Tensor, g: GGUFBackbone, layer: int) -> None:
    if target.shape != value.shape:
        raise GGUFError(
            f"{g.path}: layer {layer}: shape {tuple(value.shape)} where the model has"
            f" {tuple(target.shape)}"
        )
    target.copy_(value)


def init_from_gguf(
    source: str | Path | GGUFWeights,
    base: LMConfig,
    speech_layers: int = 0,
    freeze: bool = False,
) -> LMModel:
    """A new LM whose temporal transformer is the GGUF's LLM (plus ``speech_layers``);
    ``source`` is the file or an open ``GGUFWeights`` (its metadata takes seconds to parse)."""
    weights = source if isinstance(source, GGUFWeights) else GGUFWeights(source)
    config = backbone_config(weights.backbone, base, speech_layers, freeze)
    # built on the meta device and initialised once: the random init of a 0.5B backbone
    # that is overwritten at once would cost more than reading it
    with torch.device("meta"):
        model = LMModel(config)
    model.to_empty(device="cpu")
    model.reset_parameters(skip=set(model.transformer.layers[: config.num_layers].modules()))
    load_backbone(model, weights)
    return model
