"""LM training from a text LLM: ``model.init = "x.gguf"`` puts the GGUF's layers in the
temporal transformer, freezes them (``freeze_backbone``) and trains the added speech layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import config, lm_toml

from antiphon.lm.checkpoint import find_checkpoint, load_lm
from antiphon.lm.gguf_init import init_from_gguf
from antiphon.train.lm_task import lm_model_config
from antiphon.train.run import run_training

gguf = pytest.importorskip("gguf")
DIM, HEADS, KV_HEADS, FFN = 32, 2, 1, 48


def _tiny_qwen2(path: Path) -> Path:
    """A 1-layer Qwen2 GGUF in float32 (grouped-query attention, q/k/v biases)."""
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(path), "qwen2")
    for add, value in (
        (w.add_block_count, 1), (w.add_context_length, 256), (w.add_embedding_length, DIM),
        (w.add_feed_forward_length, FFN), (w.add_head_count, HEADS),
        (w.add_head_count_kv, KV_HEADS), (w.add_layer_norm_rms_eps, 1e-6),
        (w.add_rope_freq_base, 1e6),
    ):  # fmt: skip
        add(value)
    kv = DIM // HEADS * KV_HEADS
    shapes = {
        "token_embd.weight": (40, DIM), "output_norm.weight": (DIM,),
        "blk.0.attn_norm.weight": (DIM,), "blk.0.attn_q.weight": (DIM, DIM),
        "blk.0.attn_q.bias": (DIM,), "blk.0.attn_k.weight": (kv, DIM), "blk.0.attn_k.bias": (kv,),
        "blk.0.attn_v.weight": (kv, DIM), "blk.0.attn_v.bias": (kv,),
        "blk.0.attn_output.weight": (DIM, DIM), "blk.0.ffn_norm.weight": (DIM,),
        "blk.0.ffn_gate.weight": (FFN, DIM), "blk.0.ffn_up.weight": (FFN, DIM),
        "blk.0.ffn_down.weight": (DIM, FFN),
    }  # fmt: skip
    for name, shape in shapes.items():
        a = (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)
        w.add_tensor(name, (1 + 0.1 * a).astype(np.float32) if "norm" in name else a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_lm_trains_on_a_frozen_gguf_backbone(assets: dict[str, Path], tmp_path: Path) -> None:
    path = _tiny_qwen2(tmp_path / "tiny.gguf")
    text = lm_toml(assets, tmp_path / "run", steps=3)
    text = text.replace('preset = "tiny"', f'preset = "tiny"\ninit = "{path}"')
    text = text.replace(
        "text_card = 128", "text_card = 128\nspeech_layers = 1\nfreeze_backbone = true"
    )
    cfg = config(text, "lm")
    summary = run_training(cfg)
    base = lm_model_config(cfg)
    start = init_from_gguf(path, base, base.speech_layers, True).state_dict()
    trained = load_lm(find_checkpoint(summary["export"]).lm)
    c = trained.config
    assert (c.dim, c.num_heads, c.kv_repeat, c.qkv_bias, c.num_layers) == (DIM, HEADS, 2, True, 1)
    state = trained.state_dict()
    backbone = [k for k in start if k.startswith("transformer.layers.0.")]
    speech = [k for k in start if k.startswith("transformer.layers.1.")]
    assert backbone and speech
    assert all(torch.equal(state[k], start[k]) for k in backbone)  # frozen: the LLM's weights
    assert not all(torch.equal(state[k], start[k]) for k in speech)  # the speech layer learnt
