"""What all end-to-end sessions of one process share: the LM, the Mimi codec and the text
tokenizer, loaded once (weights are read-only at inference; each session owns its states).

``E2EStack.load(folder)`` reads a Moshi checkpoint folder (released or ours);
``FrameEngine`` is one conversation's streaming state: 80 ms of user audio in, 80 ms of
agent audio and one inner-monologue text token out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from antiphon.codec.checkpoint import load_mimi
from antiphon.codec.model import MimiModel
from antiphon.codec.streaming import StreamingDecoder, StreamingEncoder
from antiphon.lm.checkpoint import find_checkpoint, load_lm
from antiphon.lm.generate import GenState, LMGenerator
from antiphon.lm.model import LMModel
from antiphon.lm.quantize import quantize_int8
from antiphon.lm.sampling import SamplingParams
from antiphon.lm.tokenizer import TextTokenizer
from antiphon.nn.checkpoint import CheckpointError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def quantize_loop_int8(lm: LMModel, codec: torch.nn.Module) -> None:
    """int8 rows (nn/int8.py) where they leave what the loop computes in agreement: every LM
    linear, and the codec's decoder transformer. The decoder renders codes already chosen,
    so its error stays in the audio (decoded SNR 49-57 dB on trained codecs); the encoder
    transformer stays float32, because on trained codecs int8 rows there changed 1.3 % (the
    tiny mel codec) to 24 % (the first tiny Mimi-architecture codec) of the user's codes
    (docs/e2e.md, 2026-12-07)."""
    quantize_int8(lm)
    quantize_decoder_int8(codec)


def quantize_decoder_int8(codec: torch.nn.Module) -> None:
    """The codec's part of ``quantize_loop_int8``: its decoder transformer only."""
    decoder = getattr(codec, "decoder_transformer", None)
    if isinstance(decoder, torch.nn.Module):
        quantize_int8(decoder)


@dataclass
class E2EStack:
    lm: LMModel
    mimi: MimiModel
    tokenizer: TextTokenizer
    params: SamplingParams
    name: str

    @classmethod
    def load(
        cls,
        folder: str | Path,
        dtype: str = "float32",
        int8: bool = False,
        params: SamplingParams | None = None,
    ) -> E2EStack:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
        files = find_checkpoint(folder)
        config = files.config
        tokenizer = TextTokenizer(files.tokenizer, config)
        lm = load_lm(files.lm, config, DTYPES[dtype])
        codebooks = max(config.dep_q, config.user_q)
        mimi = load_mimi(files.mimi)
        if int8:
            quantize_loop_int8(lm, mimi)
        if mimi.config.quantizer.n_q < codebooks:
            raise CheckpointError(
                f"Mimi {files.mimi.name} has {mimi.config.quantizer.n_q} codebooks,"
                f" the LM needs {codebooks}"
            )
        mimi.set_num_codebooks(codebooks)
        if mimi.cardinality != config.card:
            raise CheckpointError(
                f"Mimi {files.mimi.name} has {mimi.cardinality} codes per codebook,"
                f" the LM's audio vocabulary has {config.card}"
            )
        return cls(lm, mimi.eval(), tokenizer, params or SamplingParams(), files.folder.name)

    @property
    def sample_rate(self) -> int:
        return self.mimi.sample_rate

    @property
    def frame_size(self) -> int:
        return self.mimi.frame_size


@dataclass(frozen=True)
class FrameOut:
    audio: np.ndarray  # float32 mono at the codec rate, one frame (silence while warming up)
    text_token: int  # -2 while the LM is still inside its first delayed frames


class FrameEngine:
    """One conversation: codec encoder + LM generator + codec decoder states."""

    def __init__(self, stack: E2EStack, params: SamplingParams | None = None) -> None:
        self.stack = stack
        self.generator = LMGenerator(stack.lm, params or stack.params)
        self.state: GenState = self.generator.init_state(1)
        self.encoder = StreamingEncoder(stack.mimi)
        self.decoder = StreamingDecoder(stack.mimi)
        self.user_q = stack.lm.config.user_q

    def reset(self) -> None:
        self.state.reset()
        self.encoder.reset()
        self.decoder.reset()

    @torch.inference_mode()
    def step(self, pcm: np.ndarray) -> FrameOut:
        """One frame of user audio (``frame_size`` samples) -> one frame of agent output."""
        fs = self.stack.frame_size
        if pcm.shape != (fs,):
            raise ValueError(f"a frame is {fs} samples, got {pcm.shape}")
        codes = self.encoder.push(
            torch.from_numpy(np.ascontiguousarray(pcm, np.float32)).view(1, -1)
        )
        out = self.generator.step(self.state, codes[:, : self.user_q, 0])
        if out is None:
            return FrameOut(np.zeros(fs, np.float32), -2)
        audio = self.decoder.push(out.audio.unsqueeze(-1))
        return FrameOut(audio.view(-1).float().numpy().copy(), int(out.text[0]))
