"""An encoder that starts from a causal log-mel analysis instead of raw samples.

The SEANet encoder has to learn a spectral analysis from the waveform before it can learn
what to keep; on two CPU cores that is most of the codec's training time (docs/codec.md).
``MelFrontEncoder`` computes a fixed causal log-mel (24 kHz, window 1024, hop 240: four
frames per 25 Hz latent step) and learns only a small conv stack from it to Mimi's 25 Hz
latent, so it stands where ``SeanetEncoder`` stands (same streaming contract: 960 samples
in per latent step, channels-last ``step_cl``, streaming equal to batch).
"""

from __future__ import annotations

import torch
from torch import nn

from antiphon.codec.mel import slaney_mel_basis
from antiphon.codec.seanet import SequentialStream
from antiphon.nn.conv import ConvState, StreamingConv1d
from antiphon.nn.streaming import StreamingModule

FRONT_N_FFT = 1024
FRONT_HOP = 240  # 10 ms at 24 kHz: 4 frames per 25 Hz step, 8 per 12.5 Hz code frame
FRONT_MELS = 80
FRONT_FMAX = 8000.0  # the decoder's target mel stops there too
LOG_FLOOR = 1e-5
LOG_CENTER, LOG_SCALE = -5.0, 4.0  # fixed affine: speech log-mels span about -16..-1


class CausalLogMel(StreamingModule[ConvState]):
    """Audio ``[B, 1, T]`` at 24 kHz -> log-mel ``[B, 80, T / 240]``; frame i is the
    Hann-windowed 1024 samples that end at sample ``240 (i + 1)`` (zeros before the start)."""

    def __init__(self, sample_rate: int = 24_000) -> None:
        super().__init__()
        window = torch.hann_window(FRONT_N_FFT, dtype=torch.float64)
        dft = torch.fft.rfft(torch.diag(window), dim=-1)  # [n_fft, bins]: row t = sample t
        basis = torch.cat([dft.real, dft.imag], dim=-1).float()
        mel = slaney_mel_basis(sample_rate, FRONT_N_FFT, FRONT_MELS, 0.0, FRONT_FMAX)
        # derived from constants: rebuilt on load, not stored in checkpoints
        self.dft: torch.Tensor
        self.mel: torch.Tensor
        self.register_buffer("dft", basis, persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel).T.contiguous(), persistent=False)
        self.bins = FRONT_N_FFT // 2 + 1
        self.padding = FRONT_N_FFT - FRONT_HOP

    def init_state(self, batch_size: int) -> ConvState:
        p = self.dft
        history = torch.zeros(batch_size, self.padding, 1, dtype=p.dtype, device=p.device)
        return ConvState(history, torch.ones(batch_size, dtype=torch.bool, device=p.device))

    def _frames(self, full: torch.Tensor) -> torch.Tensor:
        """Padded samples ``[B, padding + T]`` -> channels-last log-mel ``[B, T / hop, 80]``."""
        windows = full.unfold(-1, FRONT_N_FFT, FRONT_HOP)  # [B, L, n_fft]
        spec = windows @ self.dft
        re, im = spec[..., : self.bins], spec[..., self.bins :]
        mag = torch.sqrt(re * re + im * im + 1e-12)
        logmel = torch.log(torch.clamp(mag @ self.mel, min=LOG_FLOOR))
        return (logmel - LOG_CENTER) / LOG_SCALE

    def _check(self, n: int) -> None:
        if n % FRONT_HOP:
            raise ValueError(f"log-mel front end needs a multiple of {FRONT_HOP} samples, got {n}")

    def forward(self, x: torch.Tensor, state: ConvState | None = None) -> torch.Tensor:
        if state is not None:
            return self.step_cl(x.transpose(1, 2), state).transpose(1, 2)
        self._check(x.shape[-1])
        full = torch.nn.functional.pad(x[:, 0], (self.padding, 0))
        return self._frames(full).transpose(1, 2)

    def step_cl(self, x: torch.Tensor, state: ConvState) -> torch.Tensor:
        """Channels-last audio ``[B, T, 1]`` -> ``[B, T / hop, 80]``; keeps the last
        ``1024 - 240`` samples for the next chunk."""
        self._check(x.shape[1])
        full = torch.cat([state.history, x], dim=1)
        state.history.copy_(full[:, -self.padding :])
        state.first.fill_(False)
        return self._frames(full[..., 0])


class MelFrontEncoder(SequentialStream):
    """Causal log-mel -> conv stack -> Mimi's 25 Hz latent ``[B, dimension, T / 960]``."""

    def __init__(self, dimension: int, hidden: int = 256, sample_rate: int = 24_000) -> None:
        super().__init__()
        self.dimension = dimension
        self.hop_length = FRONT_HOP * 4
        self.model = nn.Sequential(
            CausalLogMel(sample_rate),
            StreamingConv1d(FRONT_MELS, hidden, 8, stride=4),  # 4 frames a step, 4 of context
            nn.ELU(),
            StreamingConv1d(hidden, hidden, 3),
            nn.ELU(),
            StreamingConv1d(hidden, dimension, 3),
        )
