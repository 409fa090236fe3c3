"""The mel codec keeps Mimi's interface: streaming = batch, per-item reset, checkpoints that
say which codec family they hold, and a 22,400 -> 24,000 Hz resampler that keeps a tone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from antiphon.codec.checkpoint import load_mimi, save_mimi
from antiphon.codec.mel_codec import MelCodec, Resample15over14
from antiphon.codec.mel_codec_checkpoint import CodecFamilyError, load_mel_codec, save_mel_codec
from antiphon.codec.mel_codec_config import MelCodecConfig, tiny_mel_codec_config
from antiphon.codec.model import MimiModel
from antiphon.codec.streaming import StreamingDecoder  # noqa: F401  (the interface it keeps)
from antiphon.e2e.random_checkpoint import tiny_mimi_config

ENCODERS = pytest.mark.parametrize("encoder", ["seanet", "mel"])


def _codec(seed: int = 0, encoder: str = "seanet") -> MelCodec:
    torch.manual_seed(seed)
    model = MelCodec(tiny_mel_codec_config(encoder=encoder)).eval()
    with torch.no_grad():  # codebooks spread like latents so codes vary between frames
        for cb in model.quantizer.codebooks():
            cb.embedding_sum.normal_(0, 0.05)
            cb.cluster_usage.fill_(1.0)
        model.quantizer.invalidate()
    return model


@ENCODERS
@torch.no_grad()
def test_streaming_equals_batch_encode_and_decode(encoder: str) -> None:
    model = _codec(encoder=encoder)
    torch.manual_seed(1)
    audio = torch.randn(2, 1, 1920 * 6) * 0.1
    codes = model.encode(audio)
    assert codes.shape == (2, 8, 6)
    state = model.init_state(2)
    streamed = torch.cat(
        [model.encode_step(audio[..., i * 1920 : (i + 1) * 1920], state.encoder) for i in range(6)],
        dim=-1,
    )
    assert torch.equal(codes, streamed)
    assert len({tuple(f) for f in codes[0].T.tolist()}) > 1  # the codes follow the audio
    batch = model.decode(codes)
    assert batch.shape == (2, 1, 1920 * 6)
    frames = [model.decode_step(codes[..., i : i + 1], state.decoder) for i in range(6)]
    assert (torch.cat(frames, dim=-1) - batch).abs().max() < 1e-5
    mel = model.decode_mel(codes)
    assert mel.shape == (2, 80, 42)


@torch.no_grad()
def test_reset_one_item_keeps_the_other() -> None:
    model = _codec()
    codes = torch.randint(0, 256, (2, 8, 4))
    state = model.init_state(2)
    for i in range(2):
        model.decode_step(codes[..., i : i + 1], state.decoder)
    state.reset(torch.tensor([True, False]))
    out = torch.cat([model.decode_step(codes[..., i : i + 1], state.decoder) for i in (2, 3)], -1)
    fresh0 = model.decode(codes[:1, :, 2:4])
    full1 = model.decode(codes[1:])[..., 2 * 1920 :]
    assert (out[:1] - fresh0).abs().max() < 1e-5
    assert (out[1:] - full1).abs().max() < 1e-5


def test_resampler_keeps_a_tone_at_unit_gain() -> None:
    rs = Resample15over14()
    t = torch.arange(1792 * 10) / 22_400
    y = rs(torch.sin(2 * torch.pi * 1000 * t).view(1, 1, -1))[0, 0]
    assert y.numel() == 1920 * 10
    spec = torch.fft.rfft(y[4000:] * torch.hann_window(y.numel() - 4000))
    peak_hz = float(spec.abs().argmax()) * 24_000 / (y.numel() - 4000)
    assert abs(peak_hz - 1000) < 10
    assert abs(float(y[4000:].pow(2).mean().sqrt()) - 2**-0.5) < 0.01
    state = rs.init_state(1)
    x = torch.randn(1, 1, 1792 * 3)
    chunks = [rs(x[..., i * 1792 : (i + 1) * 1792], state) for i in range(3)]
    assert (torch.cat(chunks, -1) - rs(x)).abs().max() < 1e-5


@ENCODERS
def test_checkpoints_name_their_family(tmp_path: Path, encoder: str) -> None:
    model = _codec(encoder=encoder)
    mel_file = save_mel_codec(model, tmp_path / "mel.safetensors")
    loaded = load_mimi(mel_file)  # the loader every consumer uses picks the right family
    assert isinstance(loaded, MelCodec)
    assert loaded.mel_config == tiny_mel_codec_config(encoder=encoder)
    audio = torch.randn(1, 1, 1920 * 3) * 0.1
    assert torch.equal(loaded.encode(audio), model.encode(audio))
    old = save_mimi(MimiModel(tiny_mimi_config()), tmp_path / "old.safetensors")
    with pytest.raises(CodecFamilyError, match="Mimi-family codec .SEANet waveform decoder"):
        load_mel_codec(old)
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read .*junk.safetensors"):
        load_mel_codec(tmp_path / "junk.safetensors")


def test_config_round_trip_and_rate_checks() -> None:
    cfg = tiny_mel_codec_config()
    assert MelCodecConfig.from_json(cfg.to_json()) == cfg
    assert cfg.mel_frames_per_frame == 7
    with pytest.raises(ValueError, match="whole number of mel"):
        MelCodecConfig(mimi=cfg.mimi, vocoder_rate=22_050)
    with pytest.raises(ValueError, match="encoder 'wavlm' is not one of"):
        MelCodecConfig(mimi=cfg.mimi, encoder="wavlm")
    old = json.loads(cfg.to_json())
    del old["encoder"], old["front_hidden"]  # a checkpoint from before the log-mel front end
    assert MelCodecConfig.from_dict(old).encoder == "seanet"
