"""The mel codec's training from scratch at one learning rate, held-out log-mel L1 every 150
steps (the runs behind docs/codec.md's learning-rate table). Needs runs/tiny/codec/features.pt
from `make train-tiny`. Run: .venv/bin/python tests/codec/bench_mel_codec_lr.py STEPS LR
UNQUANTIZED_RATE COMMITMENT_WEIGHT"""

import math
import random
import sys
from dataclasses import replace

import torch
import torch.nn.functional as F

from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_codec_config import tiny_mel_codec_config
from antiphon.codec.mel_data import FRAME_24K, load_cache
from antiphon.codec.mel_train import LoopConfig, _crops, _fit

torch.set_num_threads(2)
torch.manual_seed(0)
steps, lr, nqr, commit_w = (
    int(sys.argv[1]),
    float(sys.argv[2]),
    float(sys.argv[3]),
    float(sys.argv[4]),
)
clips = load_cache("runs/tiny/codec/features.pt")
tr = [c for c in clips if c.split == "train"]
ho = [c for c in clips if c.split != "train"][:24]
cfg = tiny_mel_codec_config()
cfg = replace(
    cfg, mimi=replace(cfg.mimi, quantizer=replace(cfg.mimi.quantizer, no_quantization_rate=nqr))
)
m = MelCodec(cfg)
for p in m.mel_decoder.vocoder.parameters():
    p.requires_grad_(False)
params = [p for p in m.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=lr, betas=(0.8, 0.99))
rng = random.Random(0)
n = 10
floor = math.log(1e-7)


def heldout():
    m.eval()
    e = es = 0.0
    with torch.no_grad():
        for c in ho:
            p = m.decode_mel(m.encode(c.audio.view(1, 1, -1)))[0]
            k = min(p.shape[-1], c.mel.shape[-1])
            d = (p[:, :k] - c.mel[:, :k]).abs()
            loud = c.mel[:, :k].mean(0) > -8
            e += float(d.mean())
            es += float(d[:, loud].mean())
    m.train()
    return e / len(ho), es / len(ho)


acc = []
gn = []
for step in range(1, steps + 1):
    batch = _crops(tr, LoopConfig(batch_size=8, crop_frames=n), rng)
    audio = torch.stack(
        [_fit(c.audio[s * FRAME_24K : (s + n) * FRAME_24K], n * FRAME_24K) for c, s in batch]
    )[:, None]
    target = torch.stack([_fit(c.mel[:, s * 7 : (s + n) * 7], n * 7, floor) for c, s in batch])
    q = m.forward_mel(audio)
    l1 = F.l1_loss(q.x, target)
    loss = l1 + commit_w * q.penalty
    opt.zero_grad()
    loss.backward()
    gn.append(float(torch.nn.utils.clip_grad_norm_(params, 10.0)))
    opt.step()
    acc.append(float(l1))
    if step % 150 == 0:
        h = heldout()
        print(
            f"step {step} train L1 (mean of 150) {sum(acc) / len(acc):.3f} grad norm p50 {sorted(gn)[len(gn) // 2]:.3g} max {max(gn):.3g} | heldout L1 {h[0]:.3f} speech {h[1]:.3f}",
            flush=True,
        )
        acc = []
        gn = []
