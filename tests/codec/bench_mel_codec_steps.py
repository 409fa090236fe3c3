"""Does the mel codec become intelligible with more steps? The recipe's codec loop
(`MelStagePlan().codec`: lr 1e-3 cosine, batch 8, 0.8 s crops) run for STEPS from scratch
on the recipe's features and student vocoder, then the held-out log-mel L1 and
`mel_codec_diag`'s four renderings (STOI, Whisper WER) of 12 held-out turns.

Needs runs/tiny/codec/features.pt from `make train-tiny` (`--until codec` stops there) and a
student vocoder: runs/tiny/codec/student.safetensors, or `--student` a mel codec checkpoint
whose student is taken (models/mel-codec-wip). `--encoder mel` trains the log-mel front end
(codec/mel_frontend.py) instead of the SEANet encoder.
Run: .venv/bin/python tests/codec/bench_mel_codec_steps.py STEPS OUT.safetensors [--encoder mel]"""

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file

from antiphon.bench.mel_codec_diag import diagnose
from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_codec_checkpoint import load_mel_codec, save_mel_codec
from antiphon.codec.mel_codec_config import tiny_mel_codec_config
from antiphon.codec.mel_data import load_cache
from antiphon.codec.mel_recipe import MelStagePlan, heldout_mel_l1
from antiphon.codec.mel_train import train_mel_codec

RUN = Path("runs/tiny/codec")
torch.set_num_threads(2)
ap = argparse.ArgumentParser()
ap.add_argument("steps", type=int)
ap.add_argument("out", type=Path)
ap.add_argument("--encoder", default="seanet", choices=["seanet", "mel"])
ap.add_argument("--student", type=Path, help="take the student vocoder of this mel codec")
ap.add_argument("--log-every", type=int, default=500)
ap.add_argument("--d-model", type=int, default=64, help="bottleneck transformers' width")
ap.add_argument("--layers", type=int, default=2, help="bottleneck transformers' depth")
args = ap.parse_args()
steps, out = args.steps, args.out
clips = load_cache(RUN / "features.pt")
train = [c for c in clips if c.split == "train"]
heldout = [c for c in clips if c.split != "train"]
model = MelCodec(
    tiny_mel_codec_config(encoder=args.encoder, d_model=args.d_model, num_layers=args.layers)
)
if args.student:
    student = load_mel_codec(args.student).mel_decoder.vocoder.state_dict()
else:
    student = load_file(RUN / "student.safetensors")
model.mel_decoder.vocoder.load_state_dict(student)
t0 = time.monotonic()
rows = train_mel_codec(
    model, train, replace(MelStagePlan().codec, steps=steps, log_every=args.log_every)
)
for r in rows:
    print(
        f"  step {r['step']:.0f}  batch mel L1 {r['mel_l1']:.3f}  {r['seconds']:.0f} s", flush=True
    )
print(f"{steps} steps in {time.monotonic() - t0:.0f} s", flush=True)
save_mel_codec(model, out)
print(f"held-out log-mel L1 {heldout_mel_l1(model, heldout):.3f}", flush=True)
for name, r in diagnose(model, RUN / "features.pt", 12).items():
    print(f"  {name:<22} STOI {r['stoi']:.3f}  WER {100 * r['wer']:.0f} %", flush=True)
