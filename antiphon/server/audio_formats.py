"""Wire audio formats of the Realtime protocol: PCM16 (24 kHz), G.711 mu-law and A-law (8 kHz).

Decoding happens at the edge: the session receives float32 mono at the format's rate, and
agent audio (float32, 24 kHz) is encoded back into the client's output format here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import numpy as np

from antiphon.audio.io import AudioFormatError, StreamResampler, float_to_pcm16, pcm16_to_float


@dataclass(frozen=True)
class WireFormat:
    type: str  # "audio/pcm" | "audio/pcmu" | "audio/pcma"
    rate: int

    def as_json(self) -> dict[str, object]:
        return (
            {"type": self.type, "rate": self.rate}
            if self.type == "audio/pcm"
            else {"type": self.type}
        )

    @property
    def beta_name(self) -> str:
        return {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}[
            self.type
        ]


PCM24K = WireFormat("audio/pcm", 24000)
_BETA = {
    "pcm16": PCM24K,
    "g711_ulaw": WireFormat("audio/pcmu", 8000),
    "g711_alaw": WireFormat("audio/pcma", 8000),
}


def parse_format(value: object) -> WireFormat:
    """A GA format object ({"type": "audio/pcm", "rate": 24000}) or a beta name ("pcm16")."""
    if isinstance(value, str):
        if value in _BETA:
            return _BETA[value]
        raise ValueError(f"unknown audio format {value!r}; use pcm16, g711_ulaw or g711_alaw")
    if not isinstance(value, dict):
        raise ValueError('audio format must be an object like {"type": "audio/pcm", "rate": 24000}')
    kind = value.get("type")
    if kind == "audio/pcm":
        rate = value.get("rate", 24000)
        if rate != 24000:
            raise ValueError(f"audio/pcm is supported at 24000 Hz only; got rate {rate!r}")
        return PCM24K
    if kind in ("audio/pcmu", "audio/pcma"):
        return WireFormat(str(kind), 8000)
    raise ValueError(f"unknown audio format type {kind!r}; use audio/pcm, audio/pcmu or audio/pcma")


def b64decode_strict(data: object) -> bytes:
    if not isinstance(data, str):
        raise AudioFormatError("audio must be a base64 string")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioFormatError(f"audio is not valid base64: {exc}") from exc


# ---- G.711 (ITU-T), vectorised -------------------------------------------------------------
_BIAS, _CLIP = 0x84, 32635


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign, exponent, mantissa = a & 0x80, (a >> 4) & 0x07, a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


_ULAW = _ulaw_decode_table()
_ALAW = _alaw_decode_table()


def _search(values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    return np.searchsorted(ends, values, side="left")  # first segment whose end >= value


_U_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_A_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """The reference g711.c algorithm (as in CPython's audioop), on 14-bit samples."""
    x = pcm.astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    x = np.minimum(np.abs(x), 8159) + 33
    seg = _search(x, _U_ENDS)
    val = np.where(seg >= 8, 0x7F, (seg << 4) | ((x >> (np.minimum(seg, 7) + 1)) & 0x0F))
    return ((val ^ mask) & 0xFF).astype(np.uint8).tobytes()


def alaw_encode(pcm: np.ndarray) -> bytes:
    """The reference g711.c algorithm (as in CPython's audioop), on 13-bit samples."""
    x = pcm.astype(np.int32) >> 3
    mask = np.where(x >= 0, 0xD5, 0x55)
    x = np.where(x >= 0, x, -x - 1)
    seg = _search(x, _A_ENDS)
    shift = np.where(seg < 2, 1, np.minimum(seg, 7))
    val = np.where(seg >= 8, 0x7F, (seg << 4) | ((x >> shift) & 0x0F))
    return ((val ^ mask) & 0xFF).astype(np.uint8).tobytes()


def decode_audio(fmt: WireFormat, data: bytes) -> np.ndarray:
    """Wire bytes → float32 mono at fmt.rate."""
    if fmt.type == "audio/pcm":
        return pcm16_to_float(data)
    table = _ULAW if fmt.type == "audio/pcmu" else _ALAW
    return table[np.frombuffer(data, dtype=np.uint8)].astype(np.float32) / 32768.0


class AudioEncoder:
    """float32 at the session's output rate → wire bytes, resampling statefully for G.711."""

    def __init__(self, fmt: WireFormat, source_rate: int) -> None:
        self.fmt = fmt
        self._rs = StreamResampler(source_rate, fmt.rate)

    def __call__(self, audio: np.ndarray) -> bytes:
        audio = self._rs(audio)
        if self.fmt.type == "audio/pcm":
            return float_to_pcm16(audio)
        pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
        return ulaw_encode(pcm) if self.fmt.type == "audio/pcmu" else alaw_encode(pcm)
