"""Checkpoint round trip, released-style key names, clear errors, and the codec CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from codec_helpers import speech_24k, tiny_model
from safetensors.torch import load_file, save_file

from antiphon.codec.checkpoint import CheckpointError, load_mimi, read_config, save_mimi
from antiphon.codec.codes_io import CodesFile, CodesFileError, load_codes, save_codes
from antiphon.codec.config import MimiConfig, tiny_config
from antiphon.codec.model import MimiModel


def test_config_json_round_trip() -> None:
    for cfg in (MimiConfig(), tiny_config(), tiny_config(sample_rate=16_000).with_codebooks(2)):
        assert MimiConfig.from_json(cfg.to_json()) == cfg
    assert MimiConfig().frame_size == 1920 and MimiConfig().bitrate == 1100.0
    with pytest.raises(ValueError, match="unknown seanet keys"):
        MimiConfig.from_dict({"seanet": {"n_filter": 3}})


def test_save_load_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = tiny_model()
    path = save_mimi(model, tmp_path / "tiny.safetensors")
    assert read_config(path) == model.config
    assert (tmp_path / "tiny.json").is_file()
    loaded = load_mimi(path)
    x = speech_24k(0.3)
    with torch.inference_mode():
        codes = model.encode(x)
        assert torch.equal(loaded.encode(x), codes)
        assert torch.equal(loaded.decode(codes), model.decode(codes))


def test_released_key_names_load(tmp_path: Path) -> None:
    """Released Mimi files store attention weights as ``in_proj_weight`` / ``out_proj.weight``."""
    model = tiny_model()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    legacy = {}
    for k, v in state.items():
        k = k.replace("self_attn.in_projs.0.weight", "self_attn.in_proj_weight")
        k = k.replace("self_attn.out_projs.0.weight", "self_attn.out_proj.weight")
        legacy[k] = v
    assert any("in_proj_weight" in k for k in legacy)
    save_file(
        legacy, str(tmp_path / "released.safetensors")
    )  # no config inside, like released files
    loaded = load_mimi(tmp_path / "released.safetensors", config=model.config)
    x = speech_24k(0.2)
    with torch.inference_mode():
        assert torch.equal(loaded.encode(x), model.encode(x))


def test_released_full_size_layout_loads_without_config(tmp_path: Path) -> None:
    """A checkpoint with the released layout and no stored config loads with the default config."""
    save_file(
        {k: v.contiguous() for k, v in MimiModel().state_dict().items()},
        str(tmp_path / "mimi.safetensors"),
    )
    model = load_mimi(tmp_path / "mimi.safetensors", num_codebooks=8)
    assert model.config.frame_size == 1920 and model.num_codebooks == 8


def test_missing_and_misshaped_keys_are_named(tmp_path: Path) -> None:
    model = tiny_model()
    path = save_mimi(model, tmp_path / "m.safetensors")
    state = load_file(str(path))
    del state["decoder.model.0.conv.conv.bias"]
    state["encoder.model.0.conv.conv.weight"] = torch.zeros(3, 3, 3)
    state["extra.weight"] = torch.zeros(1)
    save_file(state, str(path), metadata={"antiphon.codec.config": model.config.to_json()})
    with pytest.raises(CheckpointError) as err:
        load_mimi(path)
    msg = str(err.value)
    assert "missing keys: decoder.model.0.conv.conv.bias" in msg
    assert "unexpected keys: extra.weight" in msg
    assert "encoder.model.0.conv.conv.weight (checkpoint (3, 3, 3)" in msg
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_mimi(tmp_path / "junk.safetensors")


def test_codes_file_out_of_range_indices_are_rejected(tmp_path: Path) -> None:
    model = tiny_model()
    codes = model.encode(speech_24k(0.2))[0]
    bad = codes.clone()
    bad[1, 2] = model.cardinality + 5
    save_codes(
        tmp_path / "bad.codes", CodesFile(bad, 24_000, model.frame_rate, model.cardinality, 100)
    )
    data = load_codes(tmp_path / "bad.codes")
    with pytest.raises(
        ValueError, match=r"code indices must be in \[0, 64\); found 1 out of range"
    ):
        model.decode(data.codes.unsqueeze(0))
    (tmp_path / "x.codes").write_bytes(b"\x00" * 20)
    with pytest.raises(CodesFileError):
        load_codes(tmp_path / "x.codes")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "antiphon.codec.cli", "codec", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_encode_decode_roundtrip(tmp_path: Path) -> None:
    ckpt = save_mimi(tiny_model(), tmp_path / "tiny.safetensors")
    wav = tmp_path / "in.wav"
    stereo = np.stack([speech_24k(0.5)[0, 0].numpy()] * 2, axis=1)
    sf.write(str(wav), stereo[::2], 12_000)  # stereo at the wrong rate
    r = _cli("encode", str(wav), str(tmp_path / "a.codes"), "--checkpoint", str(ckpt))
    assert r.returncode == 0, r.stderr
    assert "resampling to the codec's 24000 Hz" in r.stderr and "downmixing to mono" in r.stderr
    data = load_codes(tmp_path / "a.codes")
    assert data.codes.shape[0] == 4 and data.num_samples == 12_000
    r = _cli(
        "decode", str(tmp_path / "a.codes"), str(tmp_path / "out.wav"), "--checkpoint", str(ckpt)
    )
    assert r.returncode == 0, r.stderr
    audio, rate = sf.read(str(tmp_path / "out.wav"))
    assert rate == 24_000 and audio.shape == (12_000,)
    r = _cli("roundtrip", str(wav), str(tmp_path / "rt.wav"), "--checkpoint", str(ckpt))
    assert r.returncode == 0, r.stderr
    assert sf.read(str(tmp_path / "rt.wav"))[0].shape == (12_000,)


def test_cli_reports_bad_inputs_clearly(tmp_path: Path) -> None:
    ckpt = save_mimi(tiny_model(), tmp_path / "tiny.safetensors")
    nan = tmp_path / "nan.wav"
    sf.write(
        str(nan), np.array([0.0, np.nan, 0.1] * 100, dtype=np.float32), 24_000, subtype="FLOAT"
    )
    r = _cli("encode", str(nan), str(tmp_path / "n.codes"), "--checkpoint", str(ckpt))
    assert r.returncode != 0 and "NaN or infinite" in r.stderr and "Traceback" not in r.stderr
    codes = torch.full((4, 3), 999)
    save_codes(tmp_path / "oor.codes", CodesFile(codes, 24_000, 37.5, 64, 1000))
    r = _cli(
        "decode", str(tmp_path / "oor.codes"), str(tmp_path / "o.wav"), "--checkpoint", str(ckpt)
    )
    assert r.returncode == 2 and "out of range" in r.stderr and "Traceback" not in r.stderr
    r = _cli(
        "encode",
        str(tmp_path / "missing.wav"),
        str(tmp_path / "m.codes"),
        "--checkpoint",
        str(ckpt),
    )
    assert r.returncode == 2 and "not found" in r.stderr
    r = _cli("encode", str(nan), str(tmp_path / "m.codes"))
    assert r.returncode != 0 and "no checkpoint" in r.stderr
