"""Does the mel codec become intelligible with more steps? The recipe's codec loop
(`MelStagePlan().codec`: lr 1e-3 cosine, batch 8, 0.8 s crops) run for STEPS from scratch
on the recipe's features and student vocoder, then the held-out log-mel L1 and
`mel_codec_diag`'s four renderings (STOI, Whisper WER) of 12 held-out turns.

Needs runs/tiny/codec/{features.pt,student.safetensors} from `make train-tiny`.
Run: .venv/bin/python tests/codec/bench_mel_codec_steps.py STEPS OUT.safetensors"""

import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file

from antiphon.bench.mel_codec_diag import diagnose
from antiphon.codec.mel_codec import MelCodec
from antiphon.codec.mel_codec_checkpoint import save_mel_codec
from antiphon.codec.mel_codec_config import tiny_mel_codec_config
from antiphon.codec.mel_data import load_cache
from antiphon.codec.mel_recipe import MelStagePlan, heldout_mel_l1
from antiphon.codec.mel_train import train_mel_codec

RUN = Path("runs/tiny/codec")
torch.set_num_threads(2)
steps, out = int(sys.argv[1]), Path(sys.argv[2])
clips = load_cache(RUN / "features.pt")
train = [c for c in clips if c.split == "train"]
heldout = [c for c in clips if c.split != "train"]
model = MelCodec(tiny_mel_codec_config())
model.mel_decoder.vocoder.load_state_dict(load_file(RUN / "student.safetensors"))
t0 = time.monotonic()
train_mel_codec(model, train, replace(MelStagePlan().codec, steps=steps, log_every=500))
print(f"{steps} steps in {time.monotonic() - t0:.0f} s", flush=True)
save_mel_codec(model, out)
print(f"held-out log-mel L1 {heldout_mel_l1(model, heldout):.3f}", flush=True)
for name, r in diagnose(model, RUN / "features.pt", 12).items():
    print(f"  {name:<22} STOI {r['stoi']:.3f}  WER {100 * r['wer']:.0f} %", flush=True)
