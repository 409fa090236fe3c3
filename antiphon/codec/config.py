"""Mimi configuration: frozen dataclasses that round-trip through JSON.

``MimiConfig()`` is the released Mimi (24 kHz, 12.5 Hz, 32 codebooks of 2048); smaller
models for tests and training experiments are the same code with other numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal


@dataclass(frozen=True)
class SeanetConfig:
    channels: int = 1
    dimension: int = 512
    n_filters: int = 64
    n_residual_layers: int = 1
    ratios: tuple[int, ...] = (8, 6, 5, 4)  # decoder order; the encoder uses them reversed
    activation: str = "ELU"
    kernel_size: int = 7
    residual_kernel_size: int = 3
    last_kernel_size: int = 3
    dilation_base: int = 2
    compress: int = 2
    norm: Literal["none", "weight_norm"] = "none"
    pad_mode: Literal["constant", "replicate"] = "constant"
    true_skip: bool = True

    @property
    def hop_length(self) -> int:
        return math.prod(self.ratios)


@dataclass(frozen=True)
class TransformerConfig:
    d_model: int = 512
    num_heads: int = 8
    num_layers: int = 8
    dim_feedforward: int = 2048
    context: int = 250
    layer_scale: float | None = 0.01
    max_period: float = 10_000.0
    norm: Literal["layer_norm", "rms_norm"] = "layer_norm"


@dataclass(frozen=True)
class QuantizerConfig:
    dimension: int = 256
    n_q: int = 32  # total codebooks stored (1 semantic + 31 acoustic)
    n_q_semantic: int = 1
    bins: int = 2048
    decay: float = 0.99
    epsilon: float = 1e-5
    threshold_usage_ratio: float = 0.1
    replaced_usage_ratio: float = 1.0
    check_unused_every: int = 5
    q_dropout: bool = False  # training: random number of acoustic codebooks per batch
    no_quantization_rate: float = 0.0  # training: share of items passed through unquantized


@dataclass(frozen=True)
class LossWeights:
    """Weights of the codec training losses (``CodecTrainer``)."""

    mel: float = 1.0
    stft: float = 1.0
    adversarial: float = 1.0
    feature: float = 3.0
    commitment: float = 1.0
    distill: float = 10.0


@dataclass(frozen=True)
class MimiConfig:
    sample_rate: int = 24_000
    frame_rate: float = 12.5
    num_codebooks: int = 8  # active at run time (Moshi uses 8)
    seanet: SeanetConfig = field(default_factory=SeanetConfig)
    transformer: TransformerConfig | None = field(default_factory=TransformerConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)

    def __post_init__(self) -> None:
        if not self.quantizer.n_q_semantic <= self.num_codebooks <= self.quantizer.n_q:
            raise ValueError(
                f"num_codebooks must be in [{self.quantizer.n_q_semantic}, {self.quantizer.n_q}],"
                f" got {self.num_codebooks}"
            )
        stride = self.encoder_frame_rate / self.frame_rate
        if stride != int(stride) or stride < 1:
            raise ValueError(
                f"encoder frame rate {self.encoder_frame_rate} Hz must be an integer multiple of"
                f" the frame rate {self.frame_rate} Hz"
            )
        if self.frame_size * self.frame_rate != self.sample_rate:
            raise ValueError(
                f"frame rate {self.frame_rate} Hz does not divide {self.sample_rate} Hz"
            )

    @property
    def encoder_frame_rate(self) -> float:
        return self.sample_rate / self.seanet.hop_length

    @property
    def resample_stride(self) -> int:
        return int(self.encoder_frame_rate / self.frame_rate)

    @property
    def frame_size(self) -> int:
        """Audio samples per code frame (1920 at 24 kHz, 12.5 Hz)."""
        return int(round(self.sample_rate / self.frame_rate))

    @property
    def bitrate(self) -> float:
        """Bits per second with ``num_codebooks`` active."""
        return self.num_codebooks * math.log2(self.quantizer.bins) * self.frame_rate

    def with_codebooks(self, n: int) -> MimiConfig:
        return MimiConfig(
            self.sample_rate, self.frame_rate, n, self.seanet, self.transformer, self.quantizer
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MimiConfig:
        data = dict(data)
        seanet = dict(data.pop("seanet", {}))
        if "ratios" in seanet:
            seanet["ratios"] = tuple(seanet["ratios"])
        tr = data.pop("transformer", {})
        quant = data.pop("quantizer", {})
        _check_keys(cls, data, "config")
        _check_keys(SeanetConfig, seanet, "seanet")
        _check_keys(QuantizerConfig, quant, "quantizer")
        transformer = None
        if tr is not None:
            _check_keys(TransformerConfig, tr, "transformer")
            transformer = TransformerConfig(**tr)
        return cls(
            seanet=SeanetConfig(**seanet),
            transformer=transformer,
            quantizer=QuantizerConfig(**quant),
            **data,
        )

    @classmethod
    def from_json(cls, text: str) -> MimiConfig:
        return cls.from_dict(json.loads(text))


def _check_keys(kind: type, data: dict[str, Any], where: str) -> None:
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {where} keys {unknown}; known: {sorted(known)}")


def tiny_config(
    sample_rate: int = 16_000, n_filters: int = 8, num_codebooks: int = 4
) -> MimiConfig:
    """A small model of the same architecture, for fast tests and overfit checks."""
    return MimiConfig(
        sample_rate=sample_rate,
        frame_rate=sample_rate / 640,
        num_codebooks=num_codebooks,
        seanet=SeanetConfig(dimension=32, n_filters=n_filters, ratios=(4, 4, 4, 5)),
        transformer=TransformerConfig(
            d_model=32, num_heads=4, num_layers=2, dim_feedforward=64, context=50
        ),
        quantizer=QuantizerConfig(dimension=16, n_q=num_codebooks, bins=64),
    )
