"""Config of the mel codec: Mimi's encoder and split RVQ, a decoder that predicts vocoder mels.

Rates. The vocoder's mel hop is 256 samples. At 22,050 Hz a 12.5 Hz code frame would hold
6.89 mel frames; at 22,400 Hz it holds exactly 7 (1792 samples). So the decoder's audio runs
at 22,400 Hz with the vocoder's mel filterbank unchanged: speech analysed that way is the
vocoder's speech 1.6 % slower and lower, and played back at 22,400 Hz it is restored. A
fixed polyphase filter turns 1792 samples into the 1920 of a 24 kHz frame (15/14).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from antiphon.codec.config import MimiConfig, QuantizerConfig, SeanetConfig, TransformerConfig
from antiphon.codec.mel import MelSettings

MEL_CODEC_KEY = "antiphon.codec.mel_codec.config"
ENCODER_KINDS = ("seanet", "mel")


def student_vocoder_config(n_filters: int = 32, residual_layers: int = 2) -> SeanetConfig:
    """A causal SEANet decoder from 80 mel bins to audio, hop 256 (8 x 8 x 4)."""
    return SeanetConfig(
        channels=1,
        dimension=80,
        n_filters=n_filters,
        n_residual_layers=residual_layers,
        ratios=(8, 8, 4),
    )


@dataclass(frozen=True)
class MelCodecConfig:
    mimi: MimiConfig = field(default_factory=MimiConfig)  # encoder, transformers, quantizer
    head_hidden: int = 256  # the mel head's width (latent pairs -> 7 mel frames)
    vocoder: SeanetConfig = field(default_factory=student_vocoder_config)
    vocoder_rate: int = 22_400  # the student's output rate (7 mel hops per code frame)
    mel: MelSettings = field(default_factory=MelSettings)
    # "seanet": Mimi's waveform encoder; "mel": a fixed causal log-mel and a small conv stack
    # (codec/mel_frontend.py), which learns the same job in a fraction of the CPU steps
    encoder: str = "seanet"
    front_hidden: int = 256  # the mel front end's conv width

    def __post_init__(self) -> None:
        if self.encoder not in ENCODER_KINDS:
            raise ValueError(f"mel codec encoder {self.encoder!r} is not one of {ENCODER_KINDS}")
        if self.encoder == "mel" and self.mimi.seanet.hop_length != 960:
            raise ValueError(
                f"the log-mel front end makes 25 Hz latents (hop 960), not hop"
                f" {self.mimi.seanet.hop_length}"
            )
        if self.vocoder.hop_length != self.mel.hop_length:
            raise ValueError(
                f"student vocoder hop {self.vocoder.hop_length} != mel hop {self.mel.hop_length}"
            )
        if self.vocoder.dimension != self.mel.n_mels:
            raise ValueError(
                f"student vocoder input {self.vocoder.dimension} != {self.mel.n_mels} mel bins"
            )
        per_frame = self.vocoder_rate / self.mel.hop_length / self.mimi.frame_rate
        if per_frame != int(per_frame):
            raise ValueError(
                f"{self.vocoder_rate} Hz / hop {self.mel.hop_length} is not a whole number of mel"
                f" frames per {self.mimi.frame_rate} Hz code frame"
            )
        if self.mimi.resample_stride != 2:
            raise ValueError("the mel head maps latent pairs (25 Hz -> 12.5 Hz) to mel frames")
        if self.mimi.sample_rate != 24_000 or self.vocoder_rate * 15 != self.mimi.sample_rate * 14:
            raise ValueError("the output resampler is fixed at 22,400 -> 24,000 Hz (15/14)")

    @property
    def mel_frames_per_frame(self) -> int:
        """Mel frames per 12.5 Hz code frame (7)."""
        return int(self.vocoder_rate / self.mel.hop_length / self.mimi.frame_rate)

    def with_codebooks(self, n: int) -> MelCodecConfig:
        return replace(self, mimi=self.mimi.with_codebooks(n))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MelCodecConfig:
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown mel codec config keys {unknown}; known: {sorted(known)}")
        voc = dict(data.pop("vocoder", asdict(student_vocoder_config())))
        voc["ratios"] = tuple(voc["ratios"])
        return cls(
            mimi=MimiConfig.from_dict(data.pop("mimi", {})),
            vocoder=SeanetConfig(**voc),
            mel=MelSettings(**data.pop("mel", {})),
            **data,
        )

    @classmethod
    def from_json(cls, text: str) -> MelCodecConfig:
        return cls.from_dict(json.loads(text))


def tiny_mel_codec_config(
    num_codebooks: int = 8,
    bins: int = 256,
    encoder: str = "seanet",
    d_model: int = 64,
    num_layers: int = 2,
) -> MelCodecConfig:
    """The CPU recipe's size: a 64-d latent; the encoder a SEANet-16 or the log-mel front;
    bottleneck transformers of ``num_layers`` x ``d_model``."""
    mimi = MimiConfig(
        num_codebooks=num_codebooks,
        seanet=SeanetConfig(dimension=64, n_filters=16, ratios=(8, 6, 5, 4)),
        transformer=TransformerConfig(
            d_model=d_model,
            num_heads=4 if d_model <= 64 else 8,
            num_layers=num_layers,
            dim_feedforward=2 * d_model,
            context=250,
        ),
        quantizer=QuantizerConfig(dimension=32, n_q=num_codebooks, bins=bins),
    )
    return MelCodecConfig(mimi=mimi, head_hidden=256, encoder=encoder)
