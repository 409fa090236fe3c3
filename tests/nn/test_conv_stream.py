"""The channels-last GEMM streaming path: both weight strategies, batch 1 and 2, and weights
that change between chunks (the rearranged copies must follow the parameters)."""

from __future__ import annotations

import pytest
import torch

from antiphon.nn import conv_stream
from antiphon.nn.conv import StreamingConv1d, StreamingConvTranspose1d


def _stream(module: torch.nn.Module, x: torch.Tensor, chunk: int) -> torch.Tensor:
    state = module.init_state(x.shape[0])  # type: ignore[operator]
    parts = [module(x[..., i : i + chunk], state) for i in range(0, x.shape[-1], chunk)]
    return torch.cat(parts, -1)


@pytest.mark.parametrize("copy_weight_max", [0, 1 << 20])  # rearrange inputs / the weight
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize(("kernel", "stride"), [(3, 1), (8, 4), (16, 8)])
@pytest.mark.parametrize("steps", [2, 10])  # output rows per chunk: both GEMM forms
def test_conv_strategies_equal_batch_conv(
    monkeypatch: pytest.MonkeyPatch,
    copy_weight_max: int,
    batch: int,
    kernel: int,
    stride: int,
    steps: int,
) -> None:
    monkeypatch.setattr(conv_stream, "COPY_WEIGHT_MAX", copy_weight_max)
    torch.manual_seed(0)
    conv = StreamingConv1d(12, 10, kernel, stride)
    x = torch.randn(batch, 12, stride * 20)
    with torch.no_grad():
        streamed = _stream(conv, x, stride * steps)
        torch.testing.assert_close(streamed, conv(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("copy_weight_max", [0, 1 << 20])
@pytest.mark.parametrize(("groups", "channels"), [(1, 8), (8, 8)])
@pytest.mark.parametrize("chunk", [3, 9])  # input rows per chunk: both GEMM forms
def test_transposed_conv_strategies_equal_batch(
    monkeypatch: pytest.MonkeyPatch, copy_weight_max: int, groups: int, channels: int, chunk: int
) -> None:
    monkeypatch.setattr(conv_stream, "COPY_WEIGHT_MAX", copy_weight_max)
    torch.manual_seed(0)
    convtr = StreamingConvTranspose1d(channels, channels, 8, 4, groups=groups)
    x = torch.randn(1, channels, 18)
    with torch.no_grad():
        streamed = _stream(convtr, x, chunk)
        torch.testing.assert_close(streamed, convtr(x), atol=1e-5, rtol=1e-5)


def test_streaming_follows_weights_loaded_in_place() -> None:
    torch.manual_seed(0)
    conv = StreamingConv1d(6, 6, 3)
    convtr = StreamingConvTranspose1d(6, 6, 4, 2)
    x = torch.randn(1, 6, 8)
    with torch.no_grad():
        before = (_stream(conv, x, 4), _stream(convtr, x, 4))  # fills the derived caches
        for module in (conv, convtr):
            fresh = {k: torch.randn_like(v) for k, v in module.state_dict().items()}
            module.load_state_dict(fresh)  # copies in place: same tensors, new version
        after = (_stream(conv, x, 4), _stream(convtr, x, 4))
        torch.testing.assert_close(after[0], conv(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(after[1], convtr(x), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(before[0], after[0])
    assert not torch.allclose(before[1], after[1])
