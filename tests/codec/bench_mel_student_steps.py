"""Is the student vocoder the limit of the mel codec's own output? Continues training the
student inside a trained mel codec (the recipe's student loop: 60 ms crops, multi-scale mel
+ STFT losses against HiFi-GAN's renders) for STEPS more at LR, then `mel_codec_diag`'s
four renderings (STOI, Whisper WER) of 12 held-out turns.

Needs runs/tiny/codec/features.pt from `make train-tiny` and a codec checkpoint (e.g. from
tests/codec/bench_mel_codec_steps.py). Run:
.venv/bin/python tests/codec/bench_mel_student_steps.py CODEC.safetensors STEPS LR OUT.safetensors"""

import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from antiphon.bench.mel_codec_diag import diagnose
from antiphon.codec.mel_codec_checkpoint import load_mel_codec, save_mel_codec
from antiphon.codec.mel_data import load_cache
from antiphon.codec.mel_recipe import MelStagePlan
from antiphon.codec.mel_train import train_student

FEATURES = Path("runs/tiny/codec/features.pt")
torch.set_num_threads(2)
codec_path, steps, lr, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
model = load_mel_codec(codec_path)
clips = [c for c in load_cache(FEATURES) if c.split == "train" and c.teacher.numel()]
student = model.mel_decoder.vocoder
for p in student.parameters():
    p.requires_grad_(True)
t0 = time.monotonic()
cfg = replace(MelStagePlan().student, steps=steps, lr=lr, log_every=250)
train_student(student, clips, cfg)
print(f"{steps} student steps in {time.monotonic() - t0:.0f} s ({len(clips)} clips)", flush=True)
save_mel_codec(model, out)
for name, r in diagnose(model, FEATURES, 12).items():
    print(f"  {name:<22} STOI {r['stoi']:.3f}  WER {100 * r['wer']:.0f} %", flush=True)
