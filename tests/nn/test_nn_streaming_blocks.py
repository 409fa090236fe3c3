"""Streaming building blocks: chunked streaming equals batch; per-item reset; fast paths."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from antiphon.nn.conv import (
    StreamingConv1d,
    StreamingConvTranspose1d,
    conv1d_matmul,
    conv_transpose1d_matmul,
)
from antiphon.nn.int8 import Int8Linear, quantize_int8
from antiphon.nn.transformer import StreamingTransformer


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "pad_mode"),
    [
        (7, 1, 1, "constant"),
        (3, 1, 2, "constant"),
        (8, 4, 1, "constant"),
        (4, 2, 1, "replicate"),
        (1, 1, 1, "constant"),
    ],
)
@pytest.mark.parametrize("chunk_steps", [1, 3])
def test_conv_streaming_equals_batch(
    kernel: int, stride: int, dilation: int, pad_mode: str, chunk_steps: int
) -> None:
    torch.manual_seed(0)
    conv = StreamingConv1d(5, 6, kernel, stride, dilation=dilation, pad_mode=pad_mode)  # type: ignore[arg-type]
    x = torch.randn(2, 5, stride * 12)
    with torch.no_grad():
        full = conv(x)
        state = conv.init_state(2)
        step = stride * chunk_steps
        parts = [conv(x[..., i : i + step], state) for i in range(0, x.shape[-1], step)]
    assert full.shape[-1] == 12
    torch.testing.assert_close(torch.cat(parts, -1), full, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(("kernel", "stride", "groups"), [(8, 4, 1), (4, 2, 6), (3, 1, 1)])
def test_conv_transpose_streaming_equals_batch(kernel: int, stride: int, groups: int) -> None:
    torch.manual_seed(0)
    convtr = StreamingConvTranspose1d(6, 6, kernel, stride, groups=groups)
    x = torch.randn(2, 6, 10)
    with torch.no_grad():
        full = convtr(x)
        state = convtr.init_state(2)
        parts = [convtr(x[..., i : i + 2], state) for i in range(0, 10, 2)]
    assert full.shape[-1] == 10 * stride
    torch.testing.assert_close(torch.cat(parts, -1), full, atol=1e-6, rtol=1e-5)


def test_matmul_fast_paths_equal_torch_convs() -> None:
    torch.manual_seed(0)
    conv = nn.Conv1d(16, 24, 6, stride=3, dilation=1)
    x = torch.randn(2, 16, 30)
    torch.testing.assert_close(conv1d_matmul(x, conv), conv(x), atol=1e-5, rtol=1e-5)
    dil = nn.Conv1d(16, 24, 3, dilation=2)
    torch.testing.assert_close(conv1d_matmul(x, dil), dil(x), atol=1e-5, rtol=1e-5)
    convtr = nn.ConvTranspose1d(16, 8, 8, stride=4)
    torch.testing.assert_close(conv_transpose1d_matmul(x, convtr), convtr(x), atol=1e-5, rtol=1e-5)


def test_conv_state_reset_per_item() -> None:
    torch.manual_seed(0)
    conv = StreamingConv1d(3, 4, 5)
    a, b = torch.randn(2, 3, 8), torch.randn(2, 3, 8)
    with torch.no_grad():
        state = conv.init_state(2)
        conv(a, state)
        state.reset(torch.tensor([False, True]))
        out = conv(b, state)
        fresh = conv(b[1:])
    torch.testing.assert_close(out[1:], fresh)
    assert not torch.allclose(out[:1], conv(b[:1]))


def _transformer(context: int = 6) -> StreamingTransformer:
    torch.manual_seed(0)
    t = StreamingTransformer(16, 4, 2, 32, context=context, layer_scale=0.5)
    return t.eval()


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_transformer_streaming_equals_batch_within_context(chunk: int) -> None:
    t = _transformer(context=50)
    x = torch.randn(2, 12, 16)
    with torch.no_grad():
        full = t(x)
        state = t.init_state(2)
        parts = [t(x[:, i : i + chunk], state) for i in range(0, 12, chunk)]
    torch.testing.assert_close(torch.cat(parts, 1), full, atol=1e-5, rtol=1e-5)


def test_transformer_streaming_respects_context_window() -> None:
    t = _transformer(context=4)
    x = torch.randn(1, 10, 16)
    with torch.no_grad():
        full = t(x)  # batch mask: each step sees the last 4 steps
        state = t.init_state(1)
        parts = [t(x[:, i : i + 1], state) for i in range(10)]
    torch.testing.assert_close(torch.cat(parts, 1), full, atol=1e-5, rtol=1e-5)


def test_transformer_kv_reset_per_item_restarts_positions() -> None:
    t = _transformer(context=50)
    warm, x = torch.randn(2, 5, 16), torch.randn(2, 4, 16)
    with torch.no_grad():
        state = t.init_state(2)
        t(warm, state)
        state.reset(torch.tensor([True, False]))
        out = t(x, state)
        fresh = t(x[:1])
        cont = t(torch.cat([warm[1:], x[1:]], 1))[:, 5:]
    torch.testing.assert_close(out[:1], fresh, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1:], cont, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layer_scale", [0.5, None])
def test_fused_inference_step_equals_layer_by_layer_step(layer_scale: float | None) -> None:
    """Inference streaming takes the fused step (nn/lean_step.py); with autograd on, the
    layer-by-layer path runs. Both must agree, through a per-item reset and a full ring."""
    torch.manual_seed(0)
    t = StreamingTransformer(16, 4, 2, 32, context=5, layer_scale=layer_scale).eval()
    assert t._lean is not None
    x = torch.randn(2, 14, 16)
    fused_state, plain_state = t.init_state(2), t.init_state(2)
    outs: dict[str, list[torch.Tensor]] = {"fused": [], "plain": []}
    for i in range(0, 14, 2):
        if i == 6:
            for s in (fused_state, plain_state):
                s.reset(torch.tensor([False, True]))
        with torch.no_grad():
            outs["fused"].append(t(x[:, i : i + 2], fused_state))
        outs["plain"].append(t(x[:, i : i + 2], plain_state).detach())  # grad on: plain path
    torch.testing.assert_close(
        torch.cat(outs["fused"], 1), torch.cat(outs["plain"], 1), atol=1e-5, rtol=1e-5
    )


def test_int8_fused_step_reads_int8_rows_and_stays_close() -> None:
    """``quantize_int8`` swaps the layers' products and the fused step is planned anew from
    them: it then multiplies int8 rows (LayerScale folded into their scales), agrees with the
    layer-by-layer int8 path, and stays close to float32 without being identical to it."""
    torch.manual_seed(0)
    t = StreamingTransformer(32, 4, 2, 64, context=8, layer_scale=0.5).eval()
    q = quantize_int8(copy.deepcopy(t))
    assert sum(isinstance(m, Int8Linear) for m in q.modules()) == 8
    assert q._lean is not None and all(p.int8 is not None for p in q._lean.plans)
    x = torch.randn(1, 10, 32)
    outs: dict[str, list[torch.Tensor]] = {"float": [], "fused": [], "plain": []}
    states = {k: m.init_state(1) for k, m in (("float", t), ("fused", q), ("plain", q))}
    for i in range(0, 10, 2):
        with torch.no_grad():
            outs["float"].append(t(x[:, i : i + 2], states["float"]))
            outs["fused"].append(q(x[:, i : i + 2], states["fused"]))
        outs["plain"].append(q(x[:, i : i + 2], states["plain"]).detach())  # grad on: plain path
    ref, fused, plain = (torch.cat(outs[k], 1) for k in ("float", "fused", "plain"))
    scale = float(ref.abs().max())
    torch.testing.assert_close(fused, plain, atol=0.02 * scale, rtol=0.0)
    err = float((fused - ref).abs().max())
    assert 0.0 < err < 0.05 * scale


def test_rms_norm_transformer_streams_without_the_fused_step() -> None:
    torch.manual_seed(0)
    t = StreamingTransformer(16, 4, 2, 32, context=50, norm="rms_norm").eval()
    assert t._lean is None
    x = torch.randn(1, 6, 16)
    with torch.no_grad():
        state = t.init_state(1)
        parts = [t(x[:, i : i + 3], state) for i in range(0, 6, 3)]
        torch.testing.assert_close(torch.cat(parts, 1), t(x), atol=1e-5, rtol=1e-5)
