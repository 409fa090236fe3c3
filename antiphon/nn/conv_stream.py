"""Streaming convolutions on channels-last activations ``[B, T, C]``, written as GEMMs.

Why: a streamed 80 ms frame is a short chunk, where the generic conv kernels spend more
time on layout and setup than on arithmetic, and the conv layout ``[B, C, T]`` makes every
matmul formulation copy its input first. In channels-last, a causal conv with kernel
``m * stride`` (all of Mimi's) is ``m`` GEMMs over *views* of the input: the input seen as
non-overlapping blocks of ``stride`` steps, shifted by one block per GEMM. No im2col copy.

Weights are rearranged once per parameter version (``DerivedWeight``); convolutions whose
weights are large and whose chunk is short (the low-rate, wide layers) instead rearrange their
few input columns and use the weight as it is. Transposed convolutions keep one rearranged copy
in ``[rows out, C_in]`` order, the layout the short-chunk matrix products read fastest.
Streaming is inference: derived weights are computed without autograd.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

# Above this many weight elements a layer rearranges its input columns, not its weight.
COPY_WEIGHT_MAX = 1 << 20


class DerivedWeight:
    """A tensor computed from one or more parameters, recomputed when any of them changes (an
    in-place update bumps its version; loading with ``assign`` replaces the object)."""

    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        self.fn = fn
        self.key: tuple[tuple[int, int, int], ...] | None = None
        self.value: torch.Tensor | None = None

    def get(self, *weights: torch.Tensor) -> torch.Tensor:
        key = tuple(_identity(w) for w in weights)
        if self.value is None or key != self.key:
            with torch.no_grad():
                self.value = self.fn(*(w.detach() for w in weights)).contiguous()
            self.key = key
        return self.value


def _identity(weight: torch.Tensor) -> tuple[int, int, int]:
    try:
        version = weight._version
    except RuntimeError:  # inference tensors have no version counter
        version = -1
    return (id(weight), weight.data_ptr(), version)


def rows_times_weight(
    rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """``rows [M, K] @ weight[N, K].T (+ bias)`` in the form MKL runs fastest for this ``M``
    (measured on the codec's wide layers): for a few rows ``F.linear``; for a few dozen rows the
    transposed product ``weight @ rows.T``, returned as a transposed view (no copy)."""
    if 4 < rows.shape[0] <= 64:
        if bias is None:
            return torch.mm(weight, rows.t()).t()
        return torch.addmm(bias.unsqueeze(1), weight, rows.t()).t()
    return F.linear(rows, weight, bias)


def _blocks_weight(kernel: int, stride: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``[C_out, C_in, k]`` -> ``[k / s, s * C_in, C_out]``: per block of ``s`` taps, rows in
    (tap, channel) order, the order of a block of channels-last input."""

    def fn(w: torch.Tensor) -> torch.Tensor:
        c_out, c_in, _ = w.shape
        return w.permute(2, 1, 0).reshape(kernel // stride, stride * c_in, c_out)

    return fn


def conv1d_cl(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: int,
    dilation: int,
    derived: DerivedWeight,
) -> torch.Tensor:
    """Valid (unpadded) conv of channels-last ``x [B, L, C_in]``; returns ``[B, T_out, C_out]``."""
    b, length, c_in = x.shape
    c_out, _, k = weight.shape
    k_eff = (k - 1) * dilation + 1
    t_out = (length - k_eff) // stride + 1
    if dilation != 1 or k % stride:
        y = F.conv1d(x.transpose(1, 2), weight, bias, stride, dilation=dilation)
        return y.transpose(1, 2)
    x = x.contiguous()
    m = k // stride
    blocks = x[:, : (t_out + m - 1) * stride].reshape(b, t_out + m - 1, stride * c_in)
    if weight.numel() > COPY_WEIGHT_MAX:  # wide layer, short chunk: gather the columns
        cols = torch.cat([blocks[:, i : i + t_out] for i in range(m)], dim=2)
        cols = cols.view(b, t_out, k, c_in).transpose(2, 3).reshape(b * t_out, c_in * k)
        y = rows_times_weight(cols, weight.reshape(c_out, c_in * k), bias)
        return y.reshape(b, t_out, c_out)
    w = derived.get(weight)  # [m, s * C_in, C_out]
    if b == 1:
        rows = blocks[0]
        y = rows[:t_out] @ w[0] if bias is None else torch.addmm(bias, rows[:t_out], w[0])
        for i in range(1, m):
            y.addmm_(rows[i : i + t_out], w[i])
        return y.unsqueeze(0)
    y = torch.matmul(blocks[:, :t_out], w[0])
    if bias is not None:
        y = y + bias
    for i in range(1, m):
        y = y + torch.matmul(blocks[:, i : i + t_out], w[i])
    return y


def taps_weight(w: torch.Tensor) -> torch.Tensor:
    """Transposed conv ``[C_in, C_out / g, k]`` -> ``[k * C_out / g, C_in]``: one output row
    per (tap, channel), in the order of a channels-last block of output."""
    c_in, c_out, k = w.shape
    return w.permute(2, 1, 0).reshape(k * c_out, c_in)


def conv_transpose1d_taps_cl(
    x: torch.Tensor, weight: torch.Tensor, groups: int, derived: DerivedWeight
) -> torch.Tensor:
    """Each input step's contribution to the ``k`` output steps it covers, channels-last:
    ``x [B, T, C_in]`` -> ``[B, T, k, C_out]`` (bias excluded). ``derived`` holds
    ``depthwise_taps_weight`` for depthwise layers, ``taps_weight`` for the others."""
    b, t, c_in = x.shape
    _, c_out_g, k = weight.shape
    if groups == c_in and c_out_g == 1:  # depthwise (Mimi's upsampling)
        w = derived.get(weight)  # [C, k] -> (tap, channel) order: [1, k * C]
        return x.unsqueeze(2) * w.view(k, c_in)
    if groups != 1:
        raise ValueError("grouped transposed convs other than depthwise are not streamed")
    y = rows_times_weight(x.reshape(b * t, c_in), derived.get(weight), None)
    return y.reshape(b, t, k, c_out_g)


def depthwise_taps_weight(w: torch.Tensor) -> torch.Tensor:
    """Depthwise transposed conv ``[C, 1, k]`` -> ``[k, C]``."""
    return w[:, 0, :].t()


def overlap_add_cl(
    taps: torch.Tensor, stride: int, partial: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """Place ``taps [B, T, k, C]`` (k = 2 * stride) at output steps ``t * s + j``, add the
    ``partial [B, s, C]`` still owed from the previous chunk, carry the new tail over into
    ``partial`` (bias excluded) and return ``[B, T * s, C]`` with the bias."""
    b, t, k, c = taps.shape
    if k != 2 * stride:
        raise ValueError(f"overlap-add needs kernel == 2 * stride, got {k} and {stride}")
    head = taps[:, :, :stride].reshape(b, t * stride, c)  # copy: a fresh output buffer
    tail = taps[:, :, stride:]
    head[:, :stride] += partial
    if t > 1:
        head[:, stride:] += tail[:, :-1].reshape(b, (t - 1) * stride, c)
    partial.copy_(tail[:, -1])
    if bias is not None:
        head += bias
    return head
