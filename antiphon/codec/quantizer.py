"""Split residual vector quantizer: a semantic RVQ and an acoustic RVQ over the same latent.

Both halves project the same ``[B, C, T]`` latent into the codebook space with their own
1x1 conv; their decodings are projected back and summed. Key names match the reference
(``quantizer.rvq_first.vq.layers.0._codebook.embedding_sum``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.codec.codebook import EuclideanCodebook
from antiphon.codec.config import QuantizerConfig


@dataclass
class QuantizedResult:
    x: torch.Tensor  # quantized latent [B, C, T] (straight-through while training)
    codes: torch.Tensor  # [B, K, T]
    bandwidth: float  # kbit/s
    penalty: torch.Tensor  # commitment loss
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)
    semantic: torch.Tensor | None = None  # the semantic half's quantized latent (distillation)


class VectorQuantization(nn.Module):
    def __init__(self, cfg: QuantizerConfig) -> None:
        super().__init__()
        self._codebook = EuclideanCodebook(
            cfg.dimension, cfg.bins, cfg.decay, cfg.epsilon, cfg.threshold_usage_ratio,
            cfg.replaced_usage_ratio, cfg.check_unused_every,
        )  # fmt: skip


class ResidualVectorQuantization(nn.Module):
    def __init__(self, cfg: QuantizerConfig, num_quantizers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(VectorQuantization(cfg) for _ in range(num_quantizers))

    def codebooks(self, n: int) -> list[EuclideanCodebook]:
        books = []
        for layer in list(self.layers)[:n]:
            assert isinstance(layer, VectorQuantization)
            books.append(layer._codebook)
        return books


class ResidualVectorQuantizer(nn.Module):
    def __init__(
        self, cfg: QuantizerConfig, n_q: int, input_dim: int, q_dropout: bool = False
    ) -> None:
        super().__init__()
        self.max_n_q = n_q
        self.n_q = n_q
        self.q_dropout = q_dropout
        self.no_quantization_rate = cfg.no_quantization_rate
        self.bins = cfg.bins
        self.input_proj = nn.Conv1d(input_dim, cfg.dimension, 1, bias=False)
        self.output_proj = nn.Conv1d(cfg.dimension, input_dim, 1, bias=False)
        self.vq = ResidualVectorQuantization(cfg, n_q)
        self.rng = random.Random(1234)

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, T]`` -> projected rows ``[B * T, D]``."""
        y = F.conv1d(x, self.input_proj.weight)
        return y.transpose(1, 2).reshape(-1, y.shape[1])

    def encode(self, x: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        b, _, t = x.shape
        n = self.n_q if n_q is None else n_q
        if t == 0 or n == 0:
            return torch.zeros(b, n, t, dtype=torch.long, device=x.device)
        residual = self._flat(x)
        codes = []
        for cb in self.vq.codebooks(n):
            idx = cb.quantize(residual)
            residual = residual - cb.decode(idx)
            codes.append(idx)
        return torch.stack(codes, dim=0).view(n, b, t).transpose(0, 1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``[B, K, T]`` -> ``[B, C_in, T]``."""
        b, k, t = codes.shape
        quantized = torch.zeros((), device=codes.device)
        for i, cb in enumerate(self.vq.codebooks(k)):
            quantized = quantized + cb.decode(codes[:, i])  # [B, T, D]
        return F.conv1d(quantized.transpose(1, 2), self.output_proj.weight)

    def forward(self, x: torch.Tensor, frame_rate: float) -> QuantizedResult:
        """Training/analysis pass: codes, straight-through quantized latent, commitment loss."""
        n_q = self.n_q
        if self.training and self.q_dropout:
            n_q = self.rng.randint(1, self.n_q)
        b, _, t = x.shape
        flat = self._flat(x)
        quantized_out = torch.zeros_like(flat)
        residual = flat
        codes: list[torch.Tensor] = []
        losses: list[torch.Tensor] = []
        metrics: dict[str, torch.Tensor] = {}
        prev_initialized = True
        for i, cb in enumerate(self.vq.codebooks(n_q)):
            if self.training:
                was_initialized = cb.initialized
                q, idx, m = cb.train_forward(residual, initialize=prev_initialized)
                prev_initialized = was_initialized
                losses.append(F.mse_loss(residual, q.detach()))
                for key, value in m.items():
                    metrics[key] = metrics.get(key, 0.0) + value / n_q
                    metrics[f"{key}_{i}"] = value
            else:
                idx = cb.quantize(residual)
                q = cb.decode(idx)
                losses.append(torch.zeros((), device=x.device))
            q = q.detach()
            residual = residual - q
            quantized_out = quantized_out + q
            codes.append(idx)
        if self.training:  # straight-through estimator on the whole residual stack
            quantized_out = flat + (quantized_out - flat).detach()
        quantized = quantized_out.view(b, t, -1).transpose(1, 2)
        if self.training and self.no_quantization_rate > 0:
            keep = (torch.rand(b, 1, 1, device=x.device) <= self.no_quantization_rate).float()
            unq = flat.view(b, t, -1).transpose(1, 2)
            quantized = unq * keep + (1 - keep) * quantized
        out = F.conv1d(quantized, self.output_proj.weight)
        code_tensor = torch.stack(codes, 0).view(len(codes), b, t).transpose(0, 1)
        bw = n_q * math.log2(self.bins) * frame_rate / 1000
        penalty = torch.stack(losses).mean() if losses else torch.zeros((), device=x.device)
        return QuantizedResult(out, code_tensor, bw, penalty, metrics)


class SplitResidualVectorQuantizer(nn.Module):
    def __init__(self, cfg: QuantizerConfig, input_dim: int) -> None:
        super().__init__()
        if cfg.n_q <= cfg.n_q_semantic:
            raise ValueError(f"n_q ({cfg.n_q}) must exceed n_q_semantic ({cfg.n_q_semantic})")
        self.n_q_semantic = cfg.n_q_semantic
        self.rvq_first = ResidualVectorQuantizer(cfg, cfg.n_q_semantic, input_dim)
        self.rvq_rest = ResidualVectorQuantizer(
            cfg, cfg.n_q - cfg.n_q_semantic, input_dim, cfg.q_dropout
        )

    @property
    def total_codebooks(self) -> int:
        return self.rvq_first.max_n_q + self.rvq_rest.max_n_q

    @property
    def num_codebooks(self) -> int:
        return self.rvq_first.n_q + self.rvq_rest.n_q

    @property
    def cardinality(self) -> int:
        return self.rvq_first.bins

    def set_num_codebooks(self, n: int) -> None:
        if not self.n_q_semantic <= n <= self.total_codebooks:
            raise ValueError(
                f"num_codebooks must be in [{self.n_q_semantic}, {self.total_codebooks}], got {n}"
            )
        self.rvq_rest.n_q = n - self.n_q_semantic

    def codebooks(self) -> list[EuclideanCodebook]:
        return self.rvq_first.vq.codebooks(self.rvq_first.max_n_q) + self.rvq_rest.vq.codebooks(
            self.rvq_rest.max_n_q
        )

    def invalidate(self) -> None:
        for cb in self.codebooks():
            cb.invalidate()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        codes = self.rvq_first.encode(x)
        if self.rvq_rest.n_q > 0:
            codes = torch.cat([codes, self.rvq_rest.encode(x)], dim=1)
        return codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        k = codes.shape[1]
        if not self.n_q_semantic <= k <= self.total_codebooks:
            raise ValueError(
                f"codes have {k} codebooks; expected {self.n_q_semantic}..{self.total_codebooks}"
            )
        out = self.rvq_first.decode(codes[:, : self.n_q_semantic])
        if k > self.n_q_semantic:
            out = out + self.rvq_rest.decode(codes[:, self.n_q_semantic :])
        return out

    def forward(self, x: torch.Tensor, frame_rate: float) -> QuantizedResult:
        first = self.rvq_first(x, frame_rate)
        first.semantic = first.x
        if self.rvq_rest.n_q == 0:
            return first
        rest = self.rvq_rest(x, frame_rate)
        n1, n2 = first.codes.shape[1], rest.codes.shape[1]
        metrics = dict(first.metrics)
        for key, value in rest.metrics.items():
            metrics[key] = (metrics[key] * n1 + value * n2) / (n1 + n2) if key in metrics else value
        penalty = (first.penalty * n1 + rest.penalty * n2) / (n1 + n2)
        return QuantizedResult(
            first.x + rest.x,
            torch.cat([first.codes, rest.codes], dim=1),
            first.bandwidth + rest.bandwidth,
            penalty,
            metrics,
            semantic=first.x,
        )
