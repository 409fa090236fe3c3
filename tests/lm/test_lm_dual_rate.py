"""Dual resolution (frames_per_step = G > 1): the temporal transformer steps once per group
of G frames and a per-frame head predicts every frame, causally; streaming equals the
teacher-forced pass; G = 1 is the released model unchanged; checkpoints keep the config."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from lm_helpers import max_diff, random_codes, tiny_model

from antiphon.lm.checkpoint import find_checkpoint, load_lm, save_lm
from antiphon.lm.config import ConfigError, LMConfig, tiny_config
from antiphon.lm.generate import FrameTokens, LMGenerator
from antiphon.lm.model import LMModel
from antiphon.lm.quantize import quantize_int8
from antiphon.lm.sampling import SamplingParams


def _dual(g: int = 3, seed: int = 0) -> LMModel:
    torch.manual_seed(seed)
    return LMModel(tiny_config(frames_per_step=g, frame_head_layers=1)).eval()


def test_one_frame_per_step_is_the_released_model() -> None:
    cfg = tiny_config(frames_per_step=1)
    assert cfg == tiny_config() and LMConfig.from_moshi(cfg.to_moshi()) == cfg
    assert LMModel(cfg).state_dict().keys() == tiny_model().state_dict().keys()
    dual = tiny_config(frames_per_step=4, frame_head_layers=2)
    assert LMConfig.from_json(dual.to_json()) == dual
    with pytest.raises(ConfigError, match="frames_per_step=4"):
        dual.to_moshi()
    with pytest.raises(ConfigError, match="frames_per_step must be an integer >= 1"):
        tiny_config(frames_per_step=0)
    with pytest.raises(ConfigError, match="frames_per_step must be an integer >= 1, got '2'"):
        LMConfig.from_json(dual.to_json().replace('"frames_per_step": 4', '"frames_per_step": "2"'))
    with pytest.raises(ConfigError, match="qkv_bias must be true or false"):
        tiny_config(qkv_bias=1)
    # options the released config.json cannot express are refused both ways
    with pytest.raises(ConfigError, match="norm_eps=1e-06"):
        tiny_config(norm_eps=1e-6).to_moshi()
    with pytest.raises(ConfigError, match="speech_layers=1, freeze_backbone=True"):
        tiny_config(speech_layers=1, freeze_backbone=True).to_moshi()
    with pytest.raises(ConfigError, match="unsupported Moshi config keys: qkv_bias"):
        LMConfig.from_moshi({**cfg.to_moshi(), "qkv_bias": True})


def test_forward_shapes_masks_and_causality_inside_a_group() -> None:
    model = _dual(g=3)
    cfg = model.config
    codes = random_codes(cfg, batch=2, frames=14, seed=1)  # 14 + 1 inputs: a partial group
    codes[1, 3:, 5] = -1
    with torch.no_grad():
        out, ref = model(codes), tiny_model()(codes)
    assert out.logits.shape == ref.logits.shape == (2, cfg.dep_q, 14, cfg.card)
    assert out.text_logits.shape == (2, 1, 14, cfg.text_card)
    assert torch.equal(out.mask, ref.mask) and torch.equal(out.text_mask, ref.text_mask)
    # frame t is predicted from inputs 0..t (the codes of frames < t): changing frame 7
    # (the middle of a group) changes nothing up to frame 7, and frame 8 onwards
    changed = codes.clone()
    changed[:, :, 7] = random_codes(cfg, 2, 1, seed=9)[:, :, 0]
    with torch.no_grad():
        after = model(changed)
    assert max_diff(after.text_logits[..., :8, :], out.text_logits[..., :8, :]) == 0
    # (the depth transformer reads the text token one delayed step ahead: an acoustic
    # codebook of frame 6 is drawn after the text of frame 7, as in the released model)
    assert max_diff(after.logits[:, :, :6], out.logits[:, :, :6]) == 0
    assert max_diff(after.text_logits[..., 8, :], out.text_logits[..., 8, :]) > 1e-3
    loss = out.text_logits.nan_to_num(0).square().mean()
    model.zero_grad()
    model.train()
    model(codes).text_logits.nan_to_num(0).square().mean().backward()
    assert model.dual is not None and model.dual.group_in.weight.grad is not None
    assert float(model.dual.group_in.weight.grad.abs().sum()) > 0 and float(loss) > 0


@pytest.mark.parametrize("g", [2, 3])
def test_streaming_steps_equal_the_batch_forward(g: int) -> None:
    model = _dual(g=g, seed=g)
    cfg = model.config
    text_logits: list[torch.Tensor] = []
    audio_logits: list[torch.Tensor] = []

    def keep(store: list[torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
        def hook(logits: torch.Tensor) -> torch.Tensor:
            store.append(logits.clone())
            return logits

        return hook

    gen = LMGenerator(
        model,
        SamplingParams(seed=3),
        text_logits_hook=keep(text_logits),
        audio_logits_hook=keep(audio_logits),
    )
    steps = 20
    g_user = torch.Generator().manual_seed(5)
    user = torch.randint(0, cfg.card, (steps, 1, cfg.user_q), generator=g_user)
    state = gen.init_state(1)
    frames: list[FrameTokens] = []
    for s in range(steps):
        out = gen.step(state, user[s])
        if out is not None:
            frames.append(out)
    n = len(frames)
    codes = torch.zeros(1, cfg.num_streams, n, dtype=torch.long)
    for t, f in enumerate(frames):
        codes[0, 0, t] = f.text[0]
        codes[0, 1 : cfg.dep_q + 1, t] = f.audio[0]
        codes[0, cfg.dep_q + 1 :, t] = user[t + 1, 0]
    with torch.no_grad():
        batch = model(codes)
    assert max_diff(torch.stack(text_logits)[:n, 0], batch.text_logits[0, 0]) < 1e-5
    per_step = torch.stack(audio_logits).view(steps, cfg.dep_q, -1)
    for k in range(cfg.dep_q):
        d = cfg.delays[k + 1]
        assert max_diff(per_step[d:n, k], batch.logits[0, k, : n - d]) < 1e-5
    assert len(torch.unique(codes[0, 1])) > 5


def test_reset_only_at_a_group_boundary() -> None:
    model = _dual(g=3)
    cfg = model.config
    gen = LMGenerator(model, SamplingParams(greedy=True))
    user = torch.randint(0, cfg.card, (12, 2, cfg.user_q), generator=torch.manual_seed(1))
    state = gen.init_state(2)
    for frame in user[:4]:
        gen.step(state, frame)
    with pytest.raises(ValueError, match="group boundary"):
        state.reset(torch.tensor([False, True]))
    for frame in user[4:6]:  # 6 frames: a boundary
        gen.step(state, frame)
    state.reset(torch.tensor([False, True]))
    both = [gen.step(state, frame) for frame in user[6:]]
    fresh = gen.init_state(1)
    solo = [gen.step(fresh, frame[1:]) for frame in user[6:]]
    pairs = [(a, b) for a, b in zip(both, solo, strict=True) if b is not None]
    assert len(pairs) == len(solo) - cfg.max_delay
    for a, b in pairs:
        assert a is not None
        assert torch.equal(a.audio[1], b.audio[0]) and torch.equal(a.text[1], b.text[0])


def test_checkpoint_keeps_the_config_in_the_header(tmp_path: Path) -> None:
    model = _dual(g=2)
    save_lm(model, tmp_path, dtype=torch.float32)
    assert not (tmp_path / "config.json").exists()  # no released layout for it
    loaded = load_lm(tmp_path / "model.safetensors")
    assert loaded.config == model.config
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    # find_checkpoint reads the header when there is no config.json
    for name in ("tokenizer_spm_32k_3.model", "tokenizer-e351c8d8-checkpoint125.safetensors"):
        (tmp_path / name).write_bytes(b"")
    assert find_checkpoint(tmp_path).config == model.config


def test_int8_dual_rate_model_with_qkv_biases_generates() -> None:
    torch.manual_seed(0)
    cfg = tiny_config(frames_per_step=2, frame_head_layers=1, qkv_bias=True, speech_layers=1)
    model = LMModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_()  # biases start at 0: make them count
    q = quantize_int8(copy.deepcopy(model))
    codes = random_codes(cfg, 1, 9, seed=2)
    with torch.no_grad():
        a, b = model(codes), q(codes)
    scale = float(a.text_logits.nan_to_num(0).abs().max())
    assert 0 < max_diff(a.text_logits, b.text_logits) < 0.1 * scale
    gen = LMGenerator(q, SamplingParams(seed=0))
    state = gen.init_state(1)
    outs = [gen.step(state, torch.zeros(1, cfg.user_q, dtype=torch.long)) for _ in range(5)]
    assert outs[-1] is not None and outs[-1].audio.shape == (1, cfg.dep_q)
