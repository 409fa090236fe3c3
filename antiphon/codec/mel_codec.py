"""The mel codec: Mimi's interface, a decoder that predicts vocoder mel frames.

``MelCodec`` is a ``MimiModel`` (SEANet encoder, bottleneck transformers, 25 <-> 12.5 Hz
resampling, split RVQ with the semantic first codebook) whose SEANet decoder is replaced by
``MelDecoder``: latent pairs -> 7 log-mel frames per code frame (the pretrained HiFi-GAN's
features) -> a small causal student vocoder distilled from HiFi-GAN (22,400 Hz) -> a fixed
15/14 polyphase filter -> 24 kHz. Everything that takes a ``MimiModel`` (streaming wrappers,
the LM's data pipeline, the e2e brain) takes a ``MelCodec`` unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from antiphon.codec.mel_codec_config import MelCodecConfig
from antiphon.codec.mel_frontend import MelFrontEncoder
from antiphon.codec.model import MimiModel
from antiphon.codec.quantizer import QuantizedResult
from antiphon.codec.seanet import SeanetDecoder, run_sequential_cl
from antiphon.nn.conv import StreamingConv1d, StreamingConvTranspose1d
from antiphon.nn.streaming import StateList, StreamingModule, init_children, run_sequential

RESAMPLE_UP, RESAMPLE_DOWN = 15, 14
RESAMPLE_ZEROS = 8  # zero crossings of the sinc on each side, at the input rate


def _polyphase_filter(up: int, down: int, zeros: int) -> torch.Tensor:
    """Kaiser-windowed sinc for ``up / down`` resampling, causal (delay ``zeros`` inputs)."""
    taps = 2 * zeros * up
    cutoff = 0.95 / max(up, down)  # of the upsampled Nyquist rate
    n = torch.arange(taps, dtype=torch.float64) - (taps - 1) / 2
    h = cutoff * torch.sinc(cutoff * n)
    beta = 8.0
    w = torch.i0(beta * torch.sqrt(1 - (2 * (n + (taps - 1) / 2) / (taps - 1) - 1) ** 2))
    h = h * w / torch.i0(torch.tensor(beta, dtype=torch.float64))
    return (h * up / h.sum() * 1.0).float()  # unit DC gain after zero insertion


class Resample15over14(StreamingModule[StateList]):
    """22,400 -> 24,000 Hz: transposed conv (zero insertion + FIR) then keep every 14th."""

    def __init__(self) -> None:
        super().__init__()
        h = _polyphase_filter(RESAMPLE_UP, RESAMPLE_DOWN, RESAMPLE_ZEROS)
        self.up = StreamingConvTranspose1d(1, 1, h.numel(), RESAMPLE_UP, bias=False)
        with torch.no_grad():
            self.up.inner.weight.copy_(h.view(1, 1, -1))
        self.up.inner.weight.requires_grad_(False)

    def init_state(self, batch_size: int) -> StateList:
        return StateList([self.up.init_state(batch_size)], batch_size)

    def forward(self, x: torch.Tensor, state: StateList | None = None) -> torch.Tensor:
        if x.shape[-1] % RESAMPLE_DOWN:
            raise ValueError(f"resampler input {x.shape[-1]} is not a multiple of {RESAMPLE_DOWN}")
        y = self.up(x, None if state is None else state.items[0])
        return y[..., ::RESAMPLE_DOWN]


class MelHead(StreamingModule[StateList]):
    """Latent ``[B, C, 2n]`` at 25 Hz -> log-mel ``[B, n_mels, n * per_frame]``."""

    def __init__(self, dim: int, hidden: int, n_mels: int, per_frame: int) -> None:
        super().__init__()
        self.n_mels, self.per_frame = n_mels, per_frame
        self.layers = nn.Sequential(
            StreamingConv1d(dim, hidden, 4, stride=2),  # causal: a frame's pair and the last
            nn.ELU(),
            StreamingConv1d(hidden, hidden, 3),
            nn.ELU(),
            StreamingConv1d(hidden, n_mels * per_frame, 1),
        )

    def init_state(self, batch_size: int) -> StateList:
        return init_children(list(self.layers), batch_size)

    def _unfold(self, y: torch.Tensor) -> torch.Tensor:
        b, _, n = y.shape  # [B, per_frame * n_mels, n] -> [B, n_mels, n * per_frame]
        y = y.reshape(b, self.per_frame, self.n_mels, n).permute(0, 2, 3, 1)
        return y.reshape(b, self.n_mels, n * self.per_frame)

    def forward(self, z: torch.Tensor, state: StateList | None = None) -> torch.Tensor:
        return self._unfold(run_sequential(list(self.layers), z, state))

    def step_cl(self, z: torch.Tensor, state: StateList) -> torch.Tensor:
        y = run_sequential_cl(list(self.layers), z, state)
        return self._unfold(y.transpose(1, 2))


class MelDecoder(StreamingModule[StateList]):
    """Mel head + student vocoder + resampler; stands where Mimi's SEANet decoder stands."""

    def __init__(self, cfg: MelCodecConfig) -> None:
        super().__init__()
        m = cfg.mimi
        self.head = MelHead(m.seanet.dimension, cfg.head_hidden, cfg.mel.n_mels,
                            cfg.mel_frames_per_frame)  # fmt: skip
        self.vocoder = SeanetDecoder(cfg.vocoder)
        self.resample = Resample15over14()

    def init_state(self, batch_size: int) -> StateList:
        return StateList(
            [
                self.head.init_state(batch_size),
                self.vocoder.init_state(batch_size),
                self.resample.init_state(batch_size),
            ],
            batch_size,
        )

    def render(self, mel: torch.Tensor, state: StateList | None = None) -> torch.Tensor:
        """Log-mel ``[B, 80, F]`` -> 24 kHz audio ``[B, 1, F * 256 * 15 / 14]``."""
        wav = self.vocoder(mel, None if state is None else state.items[1])
        rs = None if state is None else state.items[2]
        return self.resample(wav, rs)

    def forward(self, z: torch.Tensor, state: StateList | None = None) -> torch.Tensor:
        mel = self.head(z, None if state is None else state.items[0])
        return self.render(mel, state)

    def step_cl(self, z: torch.Tensor, state: StateList) -> torch.Tensor:
        mel = self.head.step_cl(z, state.items[0])  # type: ignore[arg-type]
        return self.render(mel, state).transpose(1, 2)


class MelCodec(MimiModel):
    def __init__(self, config: MelCodecConfig | None = None) -> None:
        cfg = config or MelCodecConfig()
        super().__init__(cfg.mimi)
        self.mel_config = cfg
        if cfg.encoder == "mel":
            self.encoder = MelFrontEncoder(  # type: ignore[assignment]
                cfg.mimi.seanet.dimension, cfg.front_hidden, cfg.mimi.sample_rate
            )
        self.decoder = MelDecoder(cfg)  # type: ignore[assignment]

    @property
    def mel_decoder(self) -> MelDecoder:
        assert isinstance(self.decoder, MelDecoder)
        return self.decoder

    def _mel_of_latent(self, emb: torch.Tensor) -> torch.Tensor:
        if self.upsample is not None:
            emb = self.upsample(emb)
        if self.decoder_transformer is not None:
            emb = self.decoder_transformer(emb)
        return self.mel_decoder.head(emb)

    def decode_mel(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` -> predicted log-mel ``[B, 80, 7 F]`` (batch)."""
        return self._mel_of_latent(self.decode_latent(codes))

    def forward_mel(self, x: torch.Tensor) -> QuantizedResult:
        """Training pass: ``QuantizedResult`` whose ``.x`` is the predicted log-mel."""
        self._check_audio(x)
        q = self.quantizer(self.encode_latent(x), self.frame_rate)
        q.x = self._mel_of_latent(q.x)
        return q

    def target_frames(self, num_samples: int) -> int:
        """Mel frames the head predicts for ``num_samples`` of 24 kHz audio."""
        return math.ceil(num_samples / self.frame_size) * self.mel_config.mel_frames_per_frame
