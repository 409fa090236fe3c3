"""SEANet convolutional encoder and decoder (causal, streaming).

Module indices inside ``model`` follow the reference so checkpoint keys match
(``encoder.model.0.conv.conv.weight`` ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.codec.config import SeanetConfig
from antiphon.nn.conv import StreamingConv1d, StreamingConvTranspose1d
from antiphon.nn.streaming import StateList, StreamingModule, init_children, run_sequential


def run_sequential_cl(children: list[nn.Module], x: torch.Tensor, state: StateList) -> torch.Tensor:
    """Stream channels-last ``[B, T, C]`` through ``children`` (activations act elementwise).

    An ELU whose input was made inside this sequence runs in place: no fresh buffer for a
    short chunk whose activations the next layer reads (identical numbers, less memory
    traffic). The caller's ``x`` itself is never modified.
    """
    i = 0
    owned = False  # x was made here (a layer's fresh output), not the caller's tensor
    for child in children:
        if isinstance(child, StreamingModule):
            step = getattr(child, "step_cl")  # noqa: B009 (every SEANet streaming layer has one)
            x = step(x, state.items[i])
            i += 1
            owned = True
        elif isinstance(child, nn.ELU):
            x = F.elu_(x, child.alpha) if owned else child(x)
            owned = True
        else:
            x = child(x)
            owned = False  # another module may hand back its input
    return x


def _activation(name: str) -> nn.Module:
    if name == "ELU":
        return nn.ELU(alpha=1.0)
    act = getattr(nn, name, None)
    if act is None:
        raise ValueError(f"unknown activation {name!r}")
    module = act()
    assert isinstance(module, nn.Module)
    return module


class ResnetBlock(StreamingModule[StateList]):
    """x + conv1(act(conv_k(act(x)))) with a ``dim // compress`` bottleneck."""

    def __init__(self, dim: int, cfg: SeanetConfig, dilation: int) -> None:
        super().__init__()
        if not cfg.true_skip:
            raise ValueError("only true_skip residual blocks are supported (as in Mimi)")
        hidden = dim // cfg.compress
        self.block = nn.Sequential(
            _activation(cfg.activation),
            StreamingConv1d(
                dim,
                hidden,
                cfg.residual_kernel_size,
                dilation=dilation,
                norm=cfg.norm,
                pad_mode=cfg.pad_mode,
            ),
            _activation(cfg.activation),
            StreamingConv1d(hidden, dim, 1, norm=cfg.norm, pad_mode=cfg.pad_mode),
        )

    def init_state(self, batch_size: int) -> StateList:
        return init_children(list(self.block), batch_size)

    def forward(self, x: torch.Tensor, state: StateList | None = None) -> torch.Tensor:
        return x + run_sequential(list(self.block), x, state)

    def step_cl(self, x: torch.Tensor, state: StateList) -> torch.Tensor:
        return run_sequential_cl(list(self.block), x, state).add_(x)


class SequentialStream(StreamingModule[StateList]):
    """Layers in ``self.model`` (an ``nn.Sequential``) run in order, each streaming layer
    with its own state: batch ``forward``, channels-last ``step_cl`` ``[B, T, C]``."""

    model: nn.Sequential

    def init_state(self, batch_size: int) -> StateList:
        return init_children(list(self.model), batch_size)

    def forward(self, x: torch.Tensor, state: StateList | None = None) -> torch.Tensor:
        return run_sequential(list(self.model), x, state)

    def step_cl(self, x: torch.Tensor, state: StateList) -> torch.Tensor:
        return run_sequential_cl(list(self.model), x, state)


class SeanetEncoder(SequentialStream):
    """Audio ``[B, 1, T]`` -> latent ``[B, C, T / hop]``."""

    def __init__(self, cfg: SeanetConfig) -> None:
        super().__init__()
        self.dimension = cfg.dimension
        self.hop_length = cfg.hop_length
        mult = 1
        layers: list[nn.Module] = [
            StreamingConv1d(
                cfg.channels, cfg.n_filters, cfg.kernel_size, norm=cfg.norm, pad_mode=cfg.pad_mode
            )
        ]
        for ratio in reversed(cfg.ratios):
            width = mult * cfg.n_filters
            for j in range(cfg.n_residual_layers):
                layers.append(ResnetBlock(width, cfg, cfg.dilation_base**j))
            layers += [
                _activation(cfg.activation),
                StreamingConv1d(
                    width, width * 2, ratio * 2, stride=ratio, norm=cfg.norm, pad_mode=cfg.pad_mode
                ),
            ]
            mult *= 2
        layers += [
            _activation(cfg.activation),
            StreamingConv1d(
                mult * cfg.n_filters,
                cfg.dimension,
                cfg.last_kernel_size,
                norm=cfg.norm,
                pad_mode=cfg.pad_mode,
            ),
        ]
        self.model = nn.Sequential(*layers)


class SeanetDecoder(SequentialStream):
    """Latent ``[B, C, T]`` -> audio ``[B, 1, T * hop]``."""

    def __init__(self, cfg: SeanetConfig) -> None:
        super().__init__()
        self.dimension = cfg.dimension
        mult = 2 ** len(cfg.ratios)
        layers: list[nn.Module] = [
            StreamingConv1d(
                cfg.dimension,
                mult * cfg.n_filters,
                cfg.kernel_size,
                norm=cfg.norm,
                pad_mode=cfg.pad_mode,
            )
        ]
        for ratio in cfg.ratios:
            width = mult * cfg.n_filters
            layers += [
                _activation(cfg.activation),
                StreamingConvTranspose1d(width, width // 2, ratio * 2, stride=ratio, norm=cfg.norm),
            ]
            for j in range(cfg.n_residual_layers):
                layers.append(ResnetBlock(width // 2, cfg, cfg.dilation_base**j))
            mult //= 2
        layers += [
            _activation(cfg.activation),
            StreamingConv1d(
                cfg.n_filters,
                cfg.channels,
                cfg.last_kernel_size,
                norm=cfg.norm,
                pad_mode=cfg.pad_mode,
            ),
        ]
        self.model = nn.Sequential(*layers)
