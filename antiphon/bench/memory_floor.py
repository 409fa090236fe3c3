"""The memory floor of a streamed frame: the time it takes just to read the frame's weights.

A frame of the codec (or of the LM) multiplies a few activation rows by every weight matrix,
so its cost is bounded below by streaming those weights from memory, whatever the kernels.
Benchmarks print this floor beside the measured times: two implementations that read the
same bytes cannot be further apart than the slower one's distance from the floor.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn


def parameter_bytes(modules: Iterable[nn.Module | None]) -> int:
    """Bytes of the parameters of ``modules`` (each tensor counted once)."""
    seen: set[int] = set()
    total = 0
    for module in modules:
        if module is None:
            continue
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel() * p.element_size()
    return total


def read_bandwidth(nbytes: int, repeats: int = 7) -> float:
    """Bytes per second for one streaming read of a fresh ``nbytes`` float32 buffer, at the
    current torch thread count (median of ``repeats`` reads after one warm-up)."""
    buf = torch.empty(max(1, nbytes // 4), dtype=torch.float32).uniform_()
    buf.sum()
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        buf.sum()
        seconds.append(time.perf_counter() - t0)
    return buf.numel() * 4 / statistics.median(seconds)


@dataclass(frozen=True)
class MemoryFloor:
    bytes_per_frame: int
    bandwidth: float  # bytes per second

    @property
    def floor_ms(self) -> float:
        return self.bytes_per_frame / self.bandwidth * 1000

    def describe(self, measured: dict[str, float]) -> list[str]:
        """Lines for a report: the floor, and each measured p50 (ms) as a multiple of it."""
        lines = [
            f"  weights read per frame {self.bytes_per_frame / 1e6:.0f} MB; read bandwidth"
            f" measured now {self.bandwidth / 1e9:.1f} GB/s -> memory floor {self.floor_ms:.1f} ms"
        ]
        for name, ms in measured.items():
            lines.append(f"  {name:<22} p50 {ms:6.1f} ms = {ms / self.floor_ms:.2f}x the floor")
        if len(measured) == 2:
            slow = max(measured.values())
            lines.append(
                f"  the largest speed-up any implementation reading these bytes could show over"
                f" the slower one here: {slow / self.floor_ms:.2f}x"
            )
        return lines
