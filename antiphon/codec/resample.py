"""Learnt frame-rate conversion between the encoder rate (25 Hz) and the code rate (12.5 Hz).

Down: a causal conv, kernel ``2 * stride``, replicate padding, no bias. Up: a depthwise
transposed conv (groups = channels), as in the released weights ("channel-wise" upsampling).
"""

from __future__ import annotations

import torch

from antiphon.nn.conv import ConvState, ConvTrState, StreamingConv1d, StreamingConvTranspose1d
from antiphon.nn.streaming import StreamingModule


class ConvDownsample1d(StreamingModule[ConvState]):
    def __init__(self, stride: int, dimension: int) -> None:
        super().__init__()
        self.conv = StreamingConv1d(
            dimension, dimension, 2 * stride, stride=stride, bias=False, pad_mode="replicate"
        )

    def init_state(self, batch_size: int) -> ConvState:
        return self.conv.init_state(batch_size)

    def forward(self, x: torch.Tensor, state: ConvState | None = None) -> torch.Tensor:
        return self.conv(x, state)

    def step_cl(self, x: torch.Tensor, state: ConvState) -> torch.Tensor:
        return self.conv.step_cl(x, state)


class ConvTrUpsample1d(StreamingModule[ConvTrState]):
    def __init__(self, stride: int, dimension: int) -> None:
        super().__init__()
        self.convtr = StreamingConvTranspose1d(
            dimension, dimension, 2 * stride, stride=stride, groups=dimension, bias=False
        )

    def init_state(self, batch_size: int) -> ConvTrState:
        return self.convtr.init_state(batch_size)

    def forward(self, x: torch.Tensor, state: ConvTrState | None = None) -> torch.Tensor:
        return self.convtr(x, state)

    def step_cl(self, x: torch.Tensor, state: ConvTrState) -> torch.Tensor:
        return self.convtr.step_cl(x, state)
