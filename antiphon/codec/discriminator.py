"""Multi-scale STFT discriminator (EnCodec/Mimi style) and its adversarial losses.

Each scale looks at the complex STFT (real and imaginary parts as two channels) through a
small 2-d conv stack dilated along time; it returns logits and the intermediate feature maps
used by the feature-matching loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


class STFTDiscriminator(nn.Module):
    def __init__(
        self, n_fft: int, filters: int = 32, dilations: tuple[int, ...] = (1, 2, 4)
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = n_fft // 4
        convs = [weight_norm(nn.Conv2d(2, filters, (3, 9), padding=(1, 4)))]
        for d in dilations:
            convs.append(
                weight_norm(
                    nn.Conv2d(
                        filters, filters, (3, 9), stride=(1, 2), dilation=(d, 1), padding=(d, 4)
                    )
                )
            )
        convs.append(weight_norm(nn.Conv2d(filters, filters, (3, 3), padding=(1, 1))))
        self.convs = nn.ModuleList(convs)
        self.post = weight_norm(nn.Conv2d(filters, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = x.reshape(-1, x.shape[-1])
        window = torch.hann_window(self.n_fft, device=x.device, dtype=x.dtype)
        spec = torch.stft(
            x, self.n_fft, self.hop, window=window, return_complex=True, normalized=True
        )
        z = torch.stack([spec.real, spec.imag], dim=1).transpose(2, 3)  # [B, 2, frames, freq]
        feats = []
        for conv in self.convs:
            z = F.leaky_relu(conv(z), 0.2)
            feats.append(z)
        return self.post(z), feats


class MultiScaleSTFTDiscriminator(nn.Module):
    def __init__(
        self, n_ffts: tuple[int, ...] = (2048, 1024, 512, 256, 128), filters: int = 32
    ) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(STFTDiscriminator(n, filters) for n in n_ffts)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits, feats = [], []
        for d in self.discriminators:
            lg, ft = d(x)
            logits.append(lg)
            feats.append(ft)
        return logits, feats


def discriminator_hinge_loss(
    real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor]
) -> torch.Tensor:
    loss = real_logits[0].new_zeros(())
    for r, f in zip(real_logits, fake_logits, strict=True):
        loss = loss + F.relu(1 - r).mean() + F.relu(1 + f).mean()
    return loss / len(real_logits)


def generator_adversarial_loss(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    loss = fake_logits[0].new_zeros(())
    for f in fake_logits:
        loss = loss + F.relu(1 - f).mean()
    return loss / len(fake_logits)


def feature_matching_loss(
    real_feats: list[list[torch.Tensor]], fake_feats: list[list[torch.Tensor]]
) -> torch.Tensor:
    """Relative L1 between discriminator feature maps of real (detached) and generated audio."""
    loss = fake_feats[0][0].new_zeros(())
    count = 0
    for rs, fs in zip(real_feats, fake_feats, strict=True):
        for r, f in zip(rs, fs, strict=True):
            r = r.detach()
            loss = loss + F.l1_loss(f, r) / (r.abs().mean() + 1e-8)
            count += 1
    return loss / max(count, 1)
