"""Which training items each process reads, as a pure function of the position in the stream.

The stream is an endless sequence of epochs, each a seeded permutation of the examples
(DistributedSampler's shuffle). A micro-batch is the next ``batch_size`` positions; process
``rank`` takes its contiguous ``batch_size / world`` share, so two processes together read
exactly what one process with the whole batch reads. Every item also gets its own random
seed (for its crop), derived from (seed, position): resuming needs only the position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ItemRef:
    index: int  # which example
    position: int  # where in the stream (unique per item)
    seed: int  # the run's seed

    def rng(self) -> np.random.Generator:
        """This item's own generator (crop offsets): depends only on (seed, position)."""
        return np.random.default_rng([self.seed, self.position])


class ShardedSampler:
    def __init__(self, num_examples: int, seed: int, rank: int = 0, world: int = 1) -> None:
        if num_examples <= 0:
            raise ValueError("no training examples")
        self.n, self.seed, self.rank, self.world = num_examples, seed, rank, world
        self._epoch = -1
        self._order: list[int] = []

    def _index(self, position: int) -> int:
        epoch, offset = divmod(position, self.n)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(self.n, generator=g).tolist()
            self._epoch = epoch
        return self._order[offset]

    def global_items(self, start: int, count: int) -> list[ItemRef]:
        return [ItemRef(self._index(p), p, self.seed) for p in range(start, start + count)]

    def local_items(self, start: int, count: int) -> list[ItemRef]:
        """This process's share of the ``count`` items from ``start``."""
        if count % self.world:
            raise ValueError(
                f"run.batch_size={count} is not divisible by the {self.world} processes"
            )
        share = count // self.world
        return self.global_items(start + self.rank * share, share)
