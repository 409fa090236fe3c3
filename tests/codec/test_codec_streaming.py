"""Streaming frame by frame gives the same codes and audio as batch processing."""

from __future__ import annotations

import pytest
import torch
from codec_helpers import full_model, one_thread, speech_24k, tiny_model  # noqa: F401

from antiphon.codec.streaming import StreamingDecoder, StreamingEncoder

FS = 1920

pytestmark = pytest.mark.usefixtures("one_thread")


def test_full_model_streaming_equals_batch_on_speech() -> None:
    model = full_model()
    x = speech_24k(10 * FS / 24_000)
    with torch.inference_mode():
        codes = model.encode(x)
        audio = model.decode(codes)
        state = model.init_state(1)
        s_codes = torch.cat(
            [
                model.encode_step(x[..., i : i + FS], state.encoder)
                for i in range(0, x.shape[-1], FS)
            ],
            -1,
        )
        s_audio = torch.cat(
            [
                model.decode_step(codes[..., i : i + 1], state.decoder)
                for i in range(codes.shape[-1])
            ],
            -1,
        )
    assert len(torch.unique(codes[:, 0])) > 2, "codes should vary over real speech"
    assert torch.equal(s_codes, codes)
    assert float((s_audio - audio).abs().max()) < 1e-5


def test_streaming_encoder_buffers_odd_chunks_and_flushes() -> None:
    model = tiny_model()
    fs = model.frame_size
    x = speech_24k(0.5)[..., : 7 * fs + 123]
    with torch.inference_mode():
        batch = model.encode(x)
    enc = StreamingEncoder(model)
    out = []
    for start in range(0, x.shape[-1], 1001):  # chunks unrelated to the frame size
        out.append(enc.push(x[0, :, start : start + 1001]))
    assert enc.pending_samples == 123
    out.append(enc.flush())
    assert enc.pending_samples == 0
    assert torch.equal(torch.cat(out, -1), batch)
    assert enc.push(torch.zeros(1, 0)).shape == (1, model.num_codebooks, 0)


def test_streaming_decoder_chunks_equal_batch() -> None:
    model = tiny_model()
    with torch.inference_mode():
        codes = model.encode(speech_24k(0.4))
        full = model.decode(codes)
    dec = StreamingDecoder(model)
    parts = [dec.push(codes[..., i : i + 2]) for i in range(0, codes.shape[-1], 2)]
    torch.testing.assert_close(torch.cat(parts, -1), full, atol=1e-6, rtol=1e-5)


def test_state_reset_per_batch_item() -> None:
    model = tiny_model()
    fs = model.frame_size
    g = torch.Generator().manual_seed(0)
    warm = torch.randn(2, 1, 3 * fs, generator=g) * 0.1
    x = speech_24k(0.3)[..., : 4 * fs].expand(2, 1, -1).contiguous()
    with torch.inference_mode():
        state = model.init_state(2)
        model.encode_step(warm, state.encoder)
        model.decode_step(model.encode(warm), state.decoder)
        state.reset(torch.tensor([True, False]))
        codes = model.encode_step(x, state.encoder)
        audio = model.decode_step(codes, state.decoder)
        fresh_codes = model.encode(x[:1])
        fresh_audio = model.decode(fresh_codes)
        cont_codes = model.encode(torch.cat([warm[1:], x[1:]], -1))[..., 3:]
    assert torch.equal(codes[:1], fresh_codes)
    torch.testing.assert_close(audio[:1], fresh_audio, atol=1e-5, rtol=1e-4)
    assert torch.equal(codes[1:], cont_codes)


def test_in_place_activations_leave_the_callers_tensors_alone() -> None:
    """SEANet streaming runs ELUs in place on its own intermediates only: the audio a caller
    passes, and a tensor a non-streaming module hands straight back, stay as they were."""
    from torch import nn

    from antiphon.codec.seanet import run_sequential_cl
    from antiphon.nn.streaming import StateList

    x = torch.randn(1, 8, 4)
    kept = x.clone()
    y = run_sequential_cl([nn.Identity(), nn.ELU()], x, StateList([]))  # Identity returns x
    assert torch.equal(x, kept)
    assert torch.equal(y, nn.functional.elu(kept))
    model = tiny_model()
    state = model.init_state(1)
    audio = torch.randn(1, 1, model.frame_size) * 0.1
    before = audio.clone()
    with torch.inference_mode():
        model.decode_step(model.encode_step(audio, state.encoder), state.decoder)
    assert torch.equal(audio, before)
