"""int8 for the end-to-end loop (e2e/stack.py ``quantize_loop_int8``): the LM and the codec's
decoder transformer read int8 rows; the encoder, which chooses the user's codes, stays
float32. Checked on the shipped tiny model's trained codec with real speech."""

from __future__ import annotations

import copy

import torch

from antiphon.audio.io import read_wav
from antiphon.codec.checkpoint import load_mimi
from antiphon.e2e.stack import E2EStack, quantize_decoder_int8
from antiphon.e2e.tiny import tiny_model_dir
from antiphon.lm.checkpoint import find_checkpoint
from antiphon.nn.int8 import Int8Linear

CLIP = "/usr/share/sounds/alsa/Front_Center.wav"  # alsa-utils: a real voice


def _stream(codec: torch.nn.Module, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes from streaming encode, then audio from streaming decode of those codes."""
    fs = codec.frame_size  # type: ignore[attr-defined]
    enc, dec = codec.init_state(1), codec.init_state(1)  # type: ignore[operator]
    with torch.inference_mode():
        codes = torch.cat(
            [
                codec.encode_step(audio[..., i : i + fs], enc.encoder)  # type: ignore[operator]
                for i in range(0, audio.shape[-1] - fs + 1, fs)
            ],
            -1,
        )
        out = torch.cat(
            [
                codec.decode_step(codes[..., i : i + 1], dec.decoder)  # type: ignore[operator]
                for i in range(codes.shape[-1])
            ],
            -1,
        )
    return codes, out


def test_int8_decoder_keeps_codes_and_renders_close_audio() -> None:
    codec = load_mimi(find_checkpoint(tiny_model_dir()).mimi).eval()
    q = copy.deepcopy(codec)
    quantize_decoder_int8(q)
    assert sum(isinstance(m, Int8Linear) for m in q.decoder_transformer.modules()) > 0
    assert not any(isinstance(m, Int8Linear) for m in q.encoder_transformer.modules())
    wav, _ = read_wav(CLIP, codec.sample_rate)
    audio = torch.from_numpy(wav).float().view(1, 1, -1)
    codes, ref = _stream(codec, audio)
    codes_q, out = _stream(q, audio)
    assert torch.equal(codes, codes_q)  # the encoder is untouched: the user's codes are exact
    snr = 10 * torch.log10(ref.pow(2).sum() / (ref - out).pow(2).sum())
    assert 40.0 < float(snr) < 150.0  # int8 rows (not identical), audibly the same


def test_int8_stack_quantizes_lm_and_decoder(tiny_checkpoint) -> None:  # type: ignore[no-untyped-def]
    stack = E2EStack.load(tiny_checkpoint, int8=True)
    assert any(isinstance(m, Int8Linear) for m in stack.lm.modules())
    assert any(isinstance(m, Int8Linear) for m in stack.mimi.decoder_transformer.modules())
    assert not any(isinstance(m, Int8Linear) for m in stack.mimi.encoder_transformer.modules())
