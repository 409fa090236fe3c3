"""Euclidean codebook stored as EMA statistics (``embedding_sum`` / ``cluster_usage``).

Centroids are ``embedding_sum / cluster_usage``. Training updates both by exponential moving
average, initialises them by k-means on the first batch, and replaces centroids whose usage
falls below a threshold by random vectors of the current batch (dead-code replacement).

Under torch.distributed (DDP training), the processes keep identical codebooks: the EMA
statistics of each batch are summed over processes (as one process with the whole batch
would count them), and k-means initialisation and dead-code replacement use process 0's
samples, broadcast to the others.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _sample_vectors(samples: torch.Tensor, num: int) -> torch.Tensor:
    n = samples.shape[0]
    if n >= num:
        idx = torch.randperm(n, device=samples.device)[:num]
    else:
        idx = torch.randint(0, n, (num,), device=samples.device)
    return samples[idx]


def kmeans(
    samples: torch.Tensor, num_clusters: int, num_iters: int = 50
) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain k-means on ``[N, D]``; returns (means ``[K, D]``, counts ``[K]``)."""
    means = _sample_vectors(samples, num_clusters)
    counts = torch.ones(num_clusters, device=samples.device)
    for _ in range(num_iters):
        buckets = torch.cdist(samples, means).argmin(dim=-1)
        counts = torch.bincount(buckets, minlength=num_clusters).to(samples.dtype)
        empty = counts == 0
        new = torch.zeros_like(means).index_add_(0, buckets, samples) / counts.clamp(min=1)[:, None]
        means = torch.where(empty[:, None], _sample_vectors(samples, num_clusters), new)
    return means, counts


class EuclideanCodebook(nn.Module):
    def __init__(
        self,
        dim: int,
        codebook_size: int,
        decay: float = 0.99,
        epsilon: float = 1e-5,
        threshold_usage_ratio: float = 0.1,
        replaced_usage_ratio: float = 1.0,
        check_unused_every: int = 5,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.codebook_size = codebook_size
        self.decay = decay
        self.epsilon = epsilon
        self.threshold_usage_ratio = threshold_usage_ratio
        self.replaced_usage_ratio = replaced_usage_ratio
        self.check_unused_every = check_unused_every
        self._next_unused_check = check_unused_every
        self._initialized: torch.Tensor
        self.cluster_usage: torch.Tensor
        self.embedding_sum: torch.Tensor
        self.register_buffer("_initialized", torch.tensor([False], dtype=torch.float))
        self.register_buffer("cluster_usage", torch.ones(codebook_size))
        self.register_buffer("embedding_sum", torch.zeros(codebook_size, dim))
        # Derived caches (not saved): centroids and their squared norms.
        self._embedding: torch.Tensor | None
        self._sq_norm: torch.Tensor | None
        self.register_buffer("_embedding", None, persistent=False)
        self.register_buffer("_sq_norm", None, persistent=False)

    _LEGACY = {
        "inited": "_initialized",
        "cluster_size": "cluster_usage",
        "embed_avg": "embedding_sum",
        "embed_sum": "embedding_sum",
    }

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        for old, new in self._LEGACY.items():
            if prefix + old in state_dict:
                state_dict[prefix + new] = state_dict.pop(prefix + old)
        self.invalidate()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def invalidate(self) -> None:
        self._embedding = None
        self._sq_norm = None

    @property
    def initialized(self) -> bool:
        return bool(self._initialized.item())

    def _centroids(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(centroids, squared norms); cached in eval mode, fresh while training."""
        stale = self._embedding is None or self._sq_norm is None
        # a cache built under inference_mode cannot enter autograd-tracked computations
        if not stale and self._embedding is not None and self._embedding.is_inference():
            stale = not torch.is_inference_mode_enabled()
        if self.training or stale:
            emb = self.embedding_sum / self.cluster_usage.clamp(min=self.epsilon)[:, None]
            sq = (emb * emb).sum(dim=-1)
            if self.training:
                return emb, sq
            self._embedding, self._sq_norm = emb, sq
        assert self._embedding is not None and self._sq_norm is not None
        return self._embedding, self._sq_norm

    @property
    def embedding(self) -> torch.Tensor:
        return self._centroids()[0]

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest centroid for each row of ``x`` ``[N, D]``.

        argmin ||x - e||² = argmin (||e||² - 2 x·e): one matmul, no sqrt. It ranks like the
        reference's ``cdist`` except for exact or 1e-6-close ties (documented in docs/codec.md).
        """
        emb, sq = self._centroids()
        dists = torch.addmm(sq.unsqueeze(0), x, emb.t(), alpha=-2.0)
        return dists.argmin(dim=-1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(codes, self.embedding)

    # ---- training ---------------------------------------------------------------------
    @torch.no_grad()
    def init_from(self, data: torch.Tensor) -> None:
        if self.initialized:
            return
        means, counts = kmeans(data, self.codebook_size)
        self.embedding_sum.copy_(means * counts[:, None])
        self.cluster_usage.copy_(counts)
        if _distributed():
            dist.broadcast(self.embedding_sum, 0)
            dist.broadcast(self.cluster_usage, 0)
        self._initialized.fill_(1.0)
        self.invalidate()

    @torch.no_grad()
    def replace_dead_codes(self, samples: torch.Tensor) -> torch.Tensor:
        """Every ``check_unused_every`` calls, re-seed rarely used centroids from ``samples``.
        Returns the share of codes replaced."""
        self._next_unused_check -= 1
        if not self.initialized or self._next_unused_check > 0:
            return torch.zeros((), device=samples.device)
        self._next_unused_check = self.check_unused_every
        total = self.cluster_usage.sum()
        expired = self.cluster_usage < self.threshold_usage_ratio * total / self.codebook_size
        new_usage = self.replaced_usage_ratio * total / self.codebook_size
        fresh = _sample_vectors(samples, self.codebook_size).to(self.embedding_sum.dtype)
        if _distributed():
            dist.broadcast(fresh, 0)
        self.embedding_sum.copy_(
            torch.where(expired[:, None], new_usage * fresh, self.embedding_sum)
        )
        self.cluster_usage.copy_(torch.where(expired, new_usage, self.cluster_usage))
        return expired.float().mean()

    @torch.no_grad()
    def ema_update(self, x: torch.Tensor, codes: torch.Tensor) -> None:
        usage = torch.zeros_like(self.cluster_usage).index_add_(
            0, codes, torch.ones_like(codes, dtype=self.cluster_usage.dtype)
        )
        sums = torch.zeros_like(self.embedding_sum).index_add_(
            0, codes, x.to(self.embedding_sum.dtype)
        )
        if _distributed():
            dist.all_reduce(usage)
            dist.all_reduce(sums)
        self.cluster_usage.mul_(self.decay).add_(usage, alpha=1 - self.decay)
        self.embedding_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        self.invalidate()

    def entropy(self) -> torch.Tensor:
        """Usage entropy normalised by the uniform distribution's (1 = all codes used evenly)."""
        p = self.cluster_usage / self.cluster_usage.sum()
        plogp = torch.where(p > 0, p * torch.log(p.clamp(min=1e-30)), torch.zeros_like(p))
        return -plogp.sum() / math.log(self.codebook_size)

    def train_forward(
        self, x: torch.Tensor, initialize: bool
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Quantize ``[N, D]`` rows and update the EMA statistics. Returns (quantized, codes, metrics)."""
        metrics: dict[str, torch.Tensor] = {}
        if initialize:
            self.init_from(x.detach())
        codes = self.quantize(x.detach())
        quantized = self.decode(codes)
        metrics["rvq_expired"] = self.replace_dead_codes(x.detach())
        self.ema_update(x.detach(), codes)
        if self.initialized:
            metrics["rvq_entropy"] = self.entropy()
        return quantized, codes, metrics
