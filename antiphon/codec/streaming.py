"""Frame-by-frame codec sessions over arbitrary chunk sizes.

``MimiModel.encode_step`` needs whole 80 ms frames; ``StreamingEncoder`` buffers whatever
the caller has (a partial frame, several frames, nothing), validates it, and returns codes
for each frame it completes. ``flush()`` zero-pads and encodes a trailing partial frame.
"""

from __future__ import annotations

import torch

from antiphon.codec.model import DecoderState, EncoderState, MimiModel


class AudioInputError(ValueError):
    """Audio that the codec cannot take as given."""


def check_audio_tensor(audio: torch.Tensor, channels: int = 1) -> torch.Tensor:
    """Accept ``[T]``, ``[B, T]`` or ``[B, C, T]`` float audio; return ``[B, C, T]``."""
    if audio.dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        raise AudioInputError(f"audio must be floating point in [-1, 1], got {audio.dtype}")
    if audio.dim() == 1:
        audio = audio.view(1, 1, -1)
    elif audio.dim() == 2:
        audio = audio.unsqueeze(1)
    if audio.dim() != 3:
        raise AudioInputError(f"audio must be [T], [B, T] or [B, C, T]; got {tuple(audio.shape)}")
    if audio.shape[1] != channels:
        raise AudioInputError(
            f"the codec takes {channels}-channel audio, got {audio.shape[1]} channels; downmix first"
        )
    if not bool(torch.isfinite(audio).all()):
        raise AudioInputError("audio contains NaN or infinite samples")
    return audio


class StreamingEncoder:
    def __init__(self, model: MimiModel, batch_size: int = 1) -> None:
        self.model = model
        self.batch_size = batch_size
        self.state: EncoderState = model.init_state(batch_size).encoder
        p = next(model.parameters())
        self._pending = torch.zeros(batch_size, 1, 0, dtype=p.dtype, device=p.device)

    @property
    def pending_samples(self) -> int:
        return self._pending.shape[-1]

    def reset(self, mask: torch.Tensor | None = None) -> None:
        """Restart the streams selected by ``mask`` (all if None); drops their partial frame
        only when every stream restarts (buffers are shared in time)."""
        self.state.reset(mask)
        if mask is None or bool(mask.all()):
            self._pending = self._pending[..., :0]

    @torch.inference_mode()
    def push(self, audio: torch.Tensor) -> torch.Tensor:
        """Add samples ``[B, T]`` / ``[B, 1, T]``; return codes ``[B, K, n]`` (n may be 0)."""
        audio = check_audio_tensor(audio)
        if audio.shape[0] != self.batch_size:
            raise AudioInputError(f"expected batch {self.batch_size}, got {audio.shape[0]}")
        buf = torch.cat([self._pending, audio.to(self._pending.dtype)], dim=-1)
        fs = self.model.frame_size
        whole = (buf.shape[-1] // fs) * fs
        self._pending = buf[..., whole:]
        if whole == 0:
            k = self.model.num_codebooks
            return torch.zeros(self.batch_size, k, 0, dtype=torch.long, device=buf.device)
        return self.model.encode_step(buf[..., :whole].contiguous(), self.state)

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        """Zero-pad and encode the trailing partial frame, if any."""
        n = self.pending_samples
        if n == 0:
            k = self.model.num_codebooks
            return torch.zeros(self.batch_size, k, 0, dtype=torch.long, device=self._pending.device)
        pad = torch.zeros_like(self._pending[..., :1]).expand(-1, -1, self.model.frame_size - n)
        return self.push(pad.contiguous())


class StreamingDecoder:
    def __init__(self, model: MimiModel, batch_size: int = 1) -> None:
        self.model = model
        self.batch_size = batch_size
        self.state: DecoderState = model.init_state(batch_size).decoder

    def reset(self, mask: torch.Tensor | None = None) -> None:
        self.state.reset(mask)

    @torch.inference_mode()
    def push(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K, n]`` -> audio ``[B, 1, n * frame_size]`` (empty for n = 0)."""
        if codes.dim() != 3 or codes.shape[0] != self.batch_size:
            raise ValueError(
                f"codes must be [{self.batch_size}, K, frames], got {tuple(codes.shape)}"
            )
        if codes.shape[-1] == 0:
            p = next(self.model.parameters())
            return torch.zeros(self.batch_size, 1, 0, dtype=p.dtype, device=p.device)
        return self.model.decode_step(codes, self.state)
