"""Mimi: SEANet + bottleneck transformers + learnt resampling + split RVQ.

Batch: ``encode(wav) -> codes``, ``decode(codes) -> wav``, ``forward(wav)`` for training.
Streaming: ``state = model.init_state(B)``; then ``encode_step(frame, state.encoder)`` and
``decode_step(codes, state.decoder)`` on whole 80 ms frames; both give the same numbers as
batch mode on the same audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.codec.config import MimiConfig
from antiphon.codec.quantizer import QuantizedResult, SplitResidualVectorQuantizer
from antiphon.codec.resample import ConvDownsample1d, ConvTrUpsample1d
from antiphon.codec.seanet import SeanetDecoder, SeanetEncoder
from antiphon.nn.conv import ConvState, ConvTrState
from antiphon.nn.kv_cache import KVCacheState
from antiphon.nn.streaming import StateGroup, StateList
from antiphon.nn.transformer import ProjectedTransformer


@dataclass
class EncoderState(StateGroup):
    seanet: StateList
    transformer: KVCacheState | None
    downsample: ConvState | None


@dataclass
class DecoderState(StateGroup):
    upsample: ConvTrState | None
    transformer: KVCacheState | None
    seanet: StateList


@dataclass
class MimiState(StateGroup):
    encoder: EncoderState
    decoder: DecoderState


def _transformer(cfg: MimiConfig) -> ProjectedTransformer | None:
    t = cfg.transformer
    if t is None:
        return None
    dim = cfg.seanet.dimension
    return ProjectedTransformer(
        dim, dim, t.d_model, t.num_heads, t.num_layers, t.dim_feedforward, t.context, t.norm,
        t.layer_scale, t.max_period,
    )  # fmt: skip


class MimiModel(nn.Module):
    def __init__(self, config: MimiConfig | None = None) -> None:
        super().__init__()
        cfg = config or MimiConfig()
        self.config = cfg
        self.encoder = SeanetEncoder(cfg.seanet)
        self.decoder = SeanetDecoder(cfg.seanet)
        self.encoder_transformer = _transformer(cfg)
        self.decoder_transformer = _transformer(cfg)
        self.quantizer = SplitResidualVectorQuantizer(cfg.quantizer, cfg.seanet.dimension)
        self.downsample: ConvDownsample1d | None = None
        self.upsample: ConvTrUpsample1d | None = None
        if cfg.resample_stride > 1:
            self.downsample = ConvDownsample1d(cfg.resample_stride, cfg.seanet.dimension)
            self.upsample = ConvTrUpsample1d(cfg.resample_stride, cfg.seanet.dimension)
        self.quantizer.set_num_codebooks(cfg.num_codebooks)

    # ---- properties -----------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.config.frame_rate

    @property
    def frame_size(self) -> int:
        return self.config.frame_size

    @property
    def num_codebooks(self) -> int:
        return self.quantizer.num_codebooks

    @property
    def cardinality(self) -> int:
        return self.quantizer.cardinality

    def set_num_codebooks(self, n: int) -> None:
        self.quantizer.set_num_codebooks(n)

    # ---- shared pieces ----------------------------------------------------------------
    def _latent(self, x: torch.Tensor, state: EncoderState | None) -> torch.Tensor:
        if state is not None:
            return self._latent_stream(x, state)
        emb = self.encoder(x, None if state is None else state.seanet)
        if self.encoder_transformer is not None:
            emb = self.encoder_transformer(emb, None if state is None else state.transformer)
        if self.downsample is not None:
            emb = self.downsample(emb, None if state is None else state.downsample)
        return emb

    def _latent_stream(self, x: torch.Tensor, state: EncoderState) -> torch.Tensor:
        """Streaming runs channels-last from the audio to the latent (no layout changes)."""
        emb = self.encoder.step_cl(x.transpose(1, 2), state.seanet)
        if self.encoder_transformer is not None and state.transformer is not None:
            emb = self.encoder_transformer.step_cl(emb, state.transformer)
        if self.downsample is not None and state.downsample is not None:
            emb = self.downsample.step_cl(emb, state.downsample)
        return emb.transpose(1, 2)

    def _synthesis_stream(self, emb: torch.Tensor, state: DecoderState) -> torch.Tensor:
        emb = emb.transpose(1, 2)
        if self.upsample is not None and state.upsample is not None:
            emb = self.upsample.step_cl(emb, state.upsample)
        if self.decoder_transformer is not None and state.transformer is not None:
            emb = self.decoder_transformer.step_cl(emb, state.transformer)
        return self.decoder.step_cl(emb, state.seanet).transpose(1, 2)

    def _synthesis(self, emb: torch.Tensor, state: DecoderState | None) -> torch.Tensor:
        if state is not None:
            return self._synthesis_stream(emb, state)
        if self.upsample is not None:
            emb = self.upsample(emb, None if state is None else state.upsample)
        if self.decoder_transformer is not None:
            emb = self.decoder_transformer(emb, None if state is None else state.transformer)
        return self.decoder(emb, None if state is None else state.seanet)

    def _check_audio(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[1] != self.config.seanet.channels:
            raise ValueError(
                f"audio must be [batch, {self.config.seanet.channels}, samples], got {tuple(x.shape)}"
            )

    def pad_to_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Right-pad with zeros to a whole number of frames (what batch encode does)."""
        extra = (-x.shape[-1]) % self.frame_size
        return F.pad(x, (0, extra)) if extra else x

    # ---- batch --------------------------------------------------------------------------
    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """Unquantized latent ``[B, C, frames]`` (input padded to whole frames)."""
        self._check_audio(x)
        return self._latent(self.pad_to_frames(x), None)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Audio ``[B, 1, T]`` -> codes ``[B, K, ceil(T / frame_size)]`` (int64)."""
        return self.quantizer.encode(self.encode_latent(x))

    def decode_latent(self, codes: torch.Tensor) -> torch.Tensor:
        self.check_codes(codes)
        return self.quantizer.decode(codes)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, F]`` -> audio ``[B, 1, F * frame_size]``."""
        return self._synthesis(self.decode_latent(codes), None)

    def forward(self, x: torch.Tensor) -> QuantizedResult:
        """Training pass: reconstruction in ``.x`` (trimmed to the input length), codes, penalty."""
        self._check_audio(x)
        length = x.shape[-1]
        q = self.quantizer(self.encode_latent(x), self.frame_rate)
        q.x = self._synthesis(q.x, None)[..., :length]
        return q

    def check_codes(self, codes: torch.Tensor) -> None:
        if codes.dim() != 3:
            raise ValueError(f"codes must be [batch, codebooks, frames], got {tuple(codes.shape)}")
        if codes.dtype.is_floating_point:
            raise ValueError(f"codes must be integers, got {codes.dtype}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.cardinality):
            bad = codes[(codes < 0) | (codes >= self.cardinality)]
            raise ValueError(
                f"code indices must be in [0, {self.cardinality}); found {bad.numel()} out of range"
                f" (e.g. {int(bad[0])})"
            )

    # ---- streaming ----------------------------------------------------------------------
    def init_state(self, batch_size: int = 1) -> MimiState:
        enc = EncoderState(
            self.encoder.init_state(batch_size),
            None
            if self.encoder_transformer is None
            else self.encoder_transformer.init_state(batch_size),
            None if self.downsample is None else self.downsample.init_state(batch_size),
        )
        dec = DecoderState(
            None if self.upsample is None else self.upsample.init_state(batch_size),
            None
            if self.decoder_transformer is None
            else self.decoder_transformer.init_state(batch_size),
            self.decoder.init_state(batch_size),
        )
        return MimiState(enc, dec)

    def encode_step(self, frames: torch.Tensor, state: EncoderState) -> torch.Tensor:
        """Whole frames ``[B, 1, n * frame_size]`` -> codes ``[B, K, n]``; updates ``state``."""
        self._check_audio(frames)
        n = frames.shape[-1]
        if n == 0 or n % self.frame_size:
            raise ValueError(
                f"streaming encode needs a positive multiple of {self.frame_size} samples, got {n};"
                " buffer partial frames (see antiphon.codec.streaming.StreamingCodec)"
            )
        return self.quantizer.encode(self._latent(frames, state))

    def decode_step(self, codes: torch.Tensor, state: DecoderState) -> torch.Tensor:
        """Codes ``[B, K, n]`` -> audio ``[B, 1, n * frame_size]``; updates ``state``."""
        if codes.shape[-1] == 0:
            raise ValueError("streaming decode needs at least one frame of codes")
        return self._synthesis(self.decode_latent(codes), state)
