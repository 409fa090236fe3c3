"""How far int8 rows in a trained codec's transformers move its codes and audio.

Streams real speech (the `bench codec` clips and the cached `bench quality` voice clips)
through the codec in float32 and with int8 rows in both transformers, and prints per clip:
the share of codes equal to float32 (all codebooks, first codebook) and the SNR of the int8
decoder's audio against the float32 decoder's for the same codes. docs/e2e.md quotes it.

Run: .venv/bin/python tests/e2e/bench_codec_int8_agreement.py CODEC.safetensors"""

import copy
import glob
import pathlib
import sys
from typing import Any

import numpy as np
import torch

from antiphon.bench.codec import SPEECH_CLIPS, _load_clip
from antiphon.codec.checkpoint import load_mimi
from antiphon.nn.int8 import quantize_int8


def stream(codec: Any, frames: list[torch.Tensor]) -> torch.Tensor:
    st = codec.init_state(1)
    with torch.inference_mode():
        return torch.cat([codec.encode_step(f, st.encoder) for f in frames], -1)


def decode(codec: Any, codes: torch.Tensor) -> torch.Tensor:
    st = codec.init_state(1)
    with torch.inference_mode():
        steps = [
            codec.decode_step(codes[..., i : i + 1], st.decoder) for i in range(codes.shape[-1])
        ]
    return torch.cat(steps, -1)


def main() -> None:
    torch.set_num_threads(2)
    fp: Any = load_mimi(sys.argv[1]).eval()
    q = copy.deepcopy(fp)
    quantize_int8(q.encoder_transformer)
    quantize_int8(q.decoder_transformer)
    clips = {k: p for k, p in SPEECH_CLIPS.items() if p.is_file()}
    cache = pathlib.Path.home() / ".cache/antiphon/bench-quality/voices"
    for p in sorted(glob.glob(str(cache / "*/*.wav"))):
        clips[p.split("voices/")[1]] = pathlib.Path(p)
    equal = total = equal1 = total1 = 0.0
    snrs = []
    for key, path in clips.items():
        clip = _load_clip(path, fp.sample_rate)
        n = fp.frame_size
        frames = [torch.from_numpy(clip[i * n : (i + 1) * n]).view(1, 1, -1).float() for i in range(len(clip) // n)]  # fmt: skip
        a, b = stream(fp, frames), stream(q, frames)
        eq = (a == b).float()
        ya, yb = decode(fp, a), decode(q, a)
        snr = 10 * torch.log10(ya.pow(2).sum() / (ya - yb).pow(2).sum().clamp(min=1e-20)).item()
        equal, total = equal + eq.sum().item(), total + eq.numel()
        equal1, total1 = equal1 + eq[:, 0].sum().item(), total1 + eq[:, 0].numel()
        snrs.append(snr)
        print(f"{key}: {a.shape[-1]} frames, codes equal {eq.mean():.4f} (first codebook "
              f"{eq[:, 0].mean():.4f}), decoder SNR {snr:.1f} dB")  # fmt: skip
    print(f"all {len(clips)} clips: codes equal {equal / total:.4f}, first codebook "
          f"{equal1 / total1:.4f}, decoder SNR {min(snrs):.1f}-{max(snrs):.1f} dB "
          f"(median {np.median(snrs):.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
