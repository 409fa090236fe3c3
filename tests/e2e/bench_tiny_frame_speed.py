"""ms per 80 ms frame of FrameEngine.step (codec + LM) for model folders, interleaved in one
process. Run: .venv/bin/python tests/e2e/bench_tiny_frame_speed.py FOLDER [FOLDER ...]"""

import sys
import time

import numpy as np
import torch

from antiphon.e2e.stack import E2EStack, FrameEngine
from antiphon.e2e.tiny import TINY_SAMPLING

torch.set_num_threads(2)
folders = sys.argv[1:]
engines = {f: FrameEngine(E2EStack.load(f, params=TINY_SAMPLING)) for f in folders}
rng = np.random.default_rng(0)
times: dict[str, list[float]] = {f: [] for f in folders}
for _ in range(160):
    pcm = (0.05 * rng.standard_normal(1920)).astype(np.float32)
    for f, engine in engines.items():
        t = time.perf_counter()
        engine.step(pcm)
        times[f].append(1000 * (time.perf_counter() - t))
for f in folders:
    x = np.array(times[f][20:])
    p50, p95 = np.percentile(x, 50), np.percentile(x, 95)
    print(f"{f}: p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {x.max():.1f} ms per 80 ms frame")
