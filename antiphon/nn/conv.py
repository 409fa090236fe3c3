"""Causal 1-d convolutions that stream with explicit state.

Key names mirror the reference Mimi (``<name>.conv.conv.weight``,
``<name>.convtr.convtr.weight``) so released checkpoints load as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from antiphon.nn.conv_stream import (
    DerivedWeight,
    _blocks_weight,
    conv1d_cl,
    conv_transpose1d_taps_cl,
    depthwise_taps_weight,
    overlap_add_cl,
    taps_weight,
)
from antiphon.nn.streaming import StreamingModule, StreamingState, full_mask

ConvNorm = Literal["none", "weight_norm"]
PadMode = Literal["constant", "replicate"]

# Below this many im2col elements a conv runs as one matmul over unfolded windows. Streaming
# frames hit this path in the low-rate, wide layers, whose cost is reading the weights once:
# a plain GEMM does that near memory bandwidth, the generic conv kernels do not (measured ~2x).
MATMUL_MAX_COLS = 150_000


def conv1d_matmul(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv(x)`` (no padding, groups=1) as unfold + GEMM; output ``[B, C_out, L_out]``."""
    b, c_in, _ = x.shape
    (k,), (s,), (d,) = conv.kernel_size, conv.stride, conv.dilation
    k_eff = (k - 1) * d + 1
    windows = x.unfold(-1, k_eff, s)  # [B, C_in, L_out, k_eff]
    if d > 1:
        windows = windows[..., ::d]
    l_out = windows.shape[2]
    cols = windows.permute(0, 2, 1, 3).reshape(b * l_out, c_in * k)
    w = conv.weight
    y = F.linear(cols, w.reshape(w.shape[0], c_in * k), conv.bias)
    return y.view(b, l_out, -1).transpose(1, 2)


def use_matmul(x: torch.Tensor, conv: nn.Conv1d) -> bool:
    if conv.groups != 1 or conv.padding != (0,):
        return False
    (k,), (s,), (d,) = conv.kernel_size, conv.stride, conv.dilation
    l_out = (x.shape[-1] - (k - 1) * d - 1) // s + 1
    return l_out * conv.in_channels * k <= MATMUL_MAX_COLS


def conv_transpose1d_matmul(x: torch.Tensor, convtr: nn.ConvTranspose1d) -> torch.Tensor:
    """Full ``convtr(x)`` for kernel == 2 * stride, groups=1, as one GEMM plus a shifted add.

    Output step t covers taps [0, S) of input t and taps [S, 2S) of input t - 1.
    """
    b, c_in, t = x.shape
    (k,), (s,) = convtr.kernel_size, convtr.stride
    c_out = convtr.out_channels
    w = convtr.weight.reshape(c_in, c_out * k)
    cols = torch.matmul(x.transpose(1, 2), w).view(b, t, c_out, 2, s)
    y = x.new_zeros(b, c_out, t + 1, s)
    y[:, :, :t] += cols[:, :, :, 0].permute(0, 2, 1, 3)
    y[:, :, 1:] += cols[:, :, :, 1].permute(0, 2, 1, 3)
    y = y.view(b, c_out, (t + 1) * s)
    if convtr.bias is not None:
        y = y + convtr.bias[:, None]
    return y


def _maybe_weight_norm(module: nn.Module, norm: ConvNorm) -> nn.Module:
    if norm == "weight_norm":
        return weight_norm(module)
    if norm != "none":
        raise ValueError(f"unknown conv norm {norm!r} (expected 'none' or 'weight_norm')")
    return module


class NormConv1d(nn.Module):
    """Holds the ``nn.Conv1d`` (the extra level keeps reference key names)."""

    def __init__(self, conv: nn.Conv1d, norm: ConvNorm = "none") -> None:
        super().__init__()
        self.conv = _maybe_weight_norm(conv, norm)


class NormConvTranspose1d(nn.Module):
    def __init__(self, convtr: nn.ConvTranspose1d, norm: ConvNorm = "none") -> None:
        super().__init__()
        self.convtr = _maybe_weight_norm(convtr, norm)


@dataclass
class ConvState(StreamingState):
    """The last ``kernel - stride`` input steps (zeros, or the first step when replicating),
    channels-last like the streaming path."""

    history: torch.Tensor  # [B, K_eff - S, C_in]
    first: torch.Tensor  # [B] bool: nothing seen yet (replicate padding pending)

    @property
    def batch_size(self) -> int:
        return self.history.shape[0]

    def reset(self, mask: torch.Tensor | None = None) -> None:
        m = full_mask(mask, self.batch_size, self.history.device)
        self.history.masked_fill_(m.view(-1, 1, 1), 0.0)
        self.first.logical_or_(m)


class StreamingConv1d(StreamingModule[ConvState]):
    """Causal Conv1d: left padding of ``(kernel - 1) * dilation + 1 - stride`` samples."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        norm: ConvNorm = "none",
        pad_mode: PadMode = "constant",
    ) -> None:
        super().__init__()
        if pad_mode not in ("constant", "replicate"):
            raise ValueError(f"pad_mode must be 'constant' or 'replicate', got {pad_mode!r}")
        conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        self.conv = NormConv1d(conv, norm)
        self.in_channels = in_channels
        self.stride = stride
        self.pad_mode: PadMode = pad_mode
        self.padding = (kernel_size - 1) * dilation + 1 - stride
        if self.padding < 0:
            raise ValueError(f"stride {stride} larger than kernel {kernel_size}")
        self._stream_weight = DerivedWeight(_blocks_weight(kernel_size, stride))

    @property
    def inner(self) -> nn.Conv1d:
        c = self.conv.conv
        assert isinstance(c, nn.Conv1d)
        return c

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.inner
        if use_matmul(x, conv):
            return conv1d_matmul(x, conv)
        return conv(x)

    def init_state(self, batch_size: int) -> ConvState:
        p = self.param_like()
        history = torch.zeros(
            batch_size, self.padding, self.in_channels, dtype=p.dtype, device=p.device
        )
        first = torch.ones(batch_size, dtype=torch.bool, device=p.device)
        return ConvState(history, first)

    def forward(self, x: torch.Tensor, state: ConvState | None = None) -> torch.Tensor:
        if x.shape[-1] % self.stride:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of the stride {self.stride}")
        if state is not None:
            return self.step_cl(x.transpose(1, 2), state).transpose(1, 2)
        pad = self.padding
        if pad:
            x = F.pad(x, (pad, 0), mode=self.pad_mode)
        return self._conv(x)

    def step_cl(self, x: torch.Tensor, state: ConvState) -> torch.Tensor:
        """Streaming on channels-last ``[B, T, C_in]`` -> ``[B, T / stride, C_out]``."""
        if x.shape[1] % self.stride:
            raise ValueError(f"length {x.shape[1]} is not a multiple of the stride {self.stride}")
        pad = self.padding
        if pad:
            if self.pad_mode == "replicate" and bool(state.first.any()):
                first = state.first.view(-1, 1, 1)
                state.history.copy_(torch.where(first, x[:, :1], state.history))
            state.first.fill_(False)
            x = torch.cat([state.history, x], dim=1)
        conv = self.inner
        (dilation,) = conv.dilation
        y = conv1d_cl(x, conv.weight, conv.bias, self.stride, dilation, self._stream_weight)
        if pad:
            state.history.copy_(x[:, x.shape[1] - pad :])
        return y


@dataclass
class ConvTrState(StreamingState):
    """The ``kernel - stride`` output samples still owed to the next chunk (bias excluded)."""

    partial: torch.Tensor  # [B, K - S, C_out], channels-last

    @property
    def batch_size(self) -> int:
        return self.partial.shape[0]

    def reset(self, mask: torch.Tensor | None = None) -> None:
        m = full_mask(mask, self.batch_size, self.partial.device)
        self.partial.masked_fill_(m.view(-1, 1, 1), 0.0)


class StreamingConvTranspose1d(StreamingModule[ConvTrState]):
    """Causal ConvTranspose1d: the ``kernel - stride`` trailing samples are trimmed (batch)
    or carried over and overlap-added into the next chunk (streaming)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        bias: bool = True,
        norm: ConvNorm = "none",
    ) -> None:
        super().__init__()
        convtr = nn.ConvTranspose1d(
            in_channels, out_channels, kernel_size, stride, groups=groups, bias=bias
        )
        self.convtr = NormConvTranspose1d(convtr, norm)
        self.out_channels = out_channels
        self.stride = stride
        self.kernel_size = kernel_size
        self.overlap = kernel_size - stride
        if self.overlap < 0:
            raise ValueError(f"stride {stride} larger than kernel {kernel_size}")
        depthwise = groups == in_channels and out_channels == in_channels
        self._stream_weight = DerivedWeight(depthwise_taps_weight if depthwise else taps_weight)

    @property
    def inner(self) -> nn.ConvTranspose1d:
        c = self.convtr.convtr
        assert isinstance(c, nn.ConvTranspose1d)
        return c

    def init_state(self, batch_size: int) -> ConvTrState:
        p = self.param_like()
        partial = torch.zeros(
            batch_size, self.overlap, self.out_channels, dtype=p.dtype, device=p.device
        )
        return ConvTrState(partial)

    def _convtr(self, x: torch.Tensor) -> torch.Tensor:
        convtr = self.inner
        if convtr.groups == 1 and self.kernel_size == 2 * self.stride:
            return conv_transpose1d_matmul(x, convtr)
        return convtr(x)

    def forward(self, x: torch.Tensor, state: ConvTrState | None = None) -> torch.Tensor:
        if state is not None:
            return self.step_cl(x.transpose(1, 2), state).transpose(1, 2)
        y = self._convtr(x)
        pt = self.overlap
        return y[..., : y.shape[-1] - pt] if pt else y

    def step_cl(self, x: torch.Tensor, state: ConvTrState) -> torch.Tensor:
        """Streaming on channels-last ``[B, T, C_in]`` -> ``[B, T * stride, C_out]``."""
        convtr = self.inner
        if self.kernel_size != 2 * self.stride:
            y = convtr(x.transpose(1, 2)).transpose(1, 2)  # generic: overlap-add by hand
            y = y.contiguous()
            pt = self.overlap
            y[:, :pt] += state.partial
            tail = y[:, y.shape[1] - pt :]
            bias = convtr.bias
            state.partial.copy_(tail if bias is None else tail - bias)
            return y[:, : y.shape[1] - pt]
        taps = conv_transpose1d_taps_cl(
            x.contiguous(), convtr.weight, convtr.groups, self._stream_weight
        )
        return overlap_add_cl(taps, self.stride, state.partial, convtr.bias)
