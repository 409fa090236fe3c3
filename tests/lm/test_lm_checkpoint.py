"""Checkpoint folders in the released Moshi layout (bf16 weights, per-step depth-transformer
projections fused, SentencePiece tokenizer, Mimi file), our own round trip, and the errors
a broken folder gets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from lm_helpers import max_diff, random_codes
from safetensors.torch import load_file, save_file

from antiphon.e2e.random_checkpoint import train_tokenizer, write_random_checkpoint
from antiphon.e2e.stack import E2EStack
from antiphon.lm.checkpoint import LM_NAME, MIMI_NAME, TOKENIZER_NAME, find_checkpoint, load_lm
from antiphon.lm.config import LMConfig, tiny_config
from antiphon.nn.checkpoint import CheckpointError


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_checkpoint(tmp_path_factory.mktemp("moshi_tiny"), seed=4)


def test_written_in_the_released_layout(tiny_folder: Path) -> None:
    state = load_file(str(tiny_folder / LM_NAME))
    fused = state["depformer.layers.0.self_attn.in_proj_weight"]
    cfg = tiny_config()
    assert fused.dtype == torch.bfloat16
    assert fused.shape == (cfg.dep_q * 3 * cfg.depformer_dim, cfg.depformer_dim)
    assert "transformer.layers.0.self_attn.in_proj_weight" in state
    assert not any(".in_projs." in k for k in state)
    raw = json.loads((tiny_folder / "config.json").read_text())
    assert raw["depformer_weights_per_step"] is True and raw["norm"] == "rms_norm_f32"
    assert LMConfig.from_moshi(raw) == cfg


def test_reference_reads_our_folder_and_agrees(tiny_folder: Path) -> None:
    pytest.importorskip("moshi")
    from moshi.models.loaders import get_moshi_lm

    raw = json.loads((tiny_folder / "config.json").read_text())
    ref = get_moshi_lm(tiny_folder / LM_NAME, lm_kwargs=raw, dtype=torch.float32)
    ours = load_lm(tiny_folder / LM_NAME, find_checkpoint(tiny_folder).config)
    codes = random_codes(ours.config, 1, 12, seed=2)
    with torch.no_grad():
        a, b = ref(codes), ours(codes)
    assert max_diff(a.logits, b.logits) < 1e-4 and max_diff(a.text_logits, b.text_logits) < 1e-4


def test_full_stack_loads_and_a_released_file_without_header_too(
    tiny_folder: Path, tmp_path: Path
) -> None:
    stack = E2EStack.load(tiny_folder)
    assert stack.mimi.num_codebooks == 8 and stack.frame_size == 1920
    assert stack.tokenizer.piece(3) == "" and stack.tokenizer.piece(0) == ""  # pad / end-pad
    # a released file carries no antiphon header: the folder's config.json must do
    copy = tmp_path / "released"
    shutil.copytree(tiny_folder, copy)
    save_file(load_file(str(copy / LM_NAME)), str(copy / LM_NAME))
    lm = E2EStack.load(copy).lm
    assert torch.equal(lm.text_linear.weight, stack.lm.text_linear.weight)


def test_missing_files_are_named(tiny_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(tiny_folder, copy)
    (copy / TOKENIZER_NAME).unlink()
    (copy / MIMI_NAME).unlink()
    with pytest.raises(CheckpointError) as err:
        find_checkpoint(copy)
    assert TOKENIZER_NAME in str(err.value) and MIMI_NAME in str(err.value)
    with pytest.raises(CheckpointError, match="not found"):
        find_checkpoint(tmp_path / "nowhere")


def test_mismatched_shapes_name_the_key(tiny_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "shapes"
    shutil.copytree(tiny_folder, copy)
    state = load_file(str(copy / LM_NAME))
    state["text_linear.weight"] = state["text_linear.weight"][:10]
    del state["out_norm.alpha"]
    save_file(state, str(copy / LM_NAME))
    with pytest.raises(CheckpointError) as err:
        E2EStack.load(copy)
    assert "text_linear.weight" in str(err.value) and "out_norm.alpha" in str(err.value)


def test_wrong_tokenizer_and_bad_config(tiny_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tok"
    shutil.copytree(tiny_folder, copy)
    train_tokenizer(copy / TOKENIZER_NAME, 300)
    with pytest.raises(CheckpointError, match="wrong tokenizer.*300 pieces.*256"):
        E2EStack.load(copy)
    (copy / TOKENIZER_NAME).write_bytes(b"not a sentencepiece model")
    with pytest.raises(CheckpointError, match="not a SentencePiece model"):
        E2EStack.load(copy)
    (copy / "config.json").write_text('{"dim": 64, "gating": "gelu"}')
    with pytest.raises(CheckpointError, match="gating"):
        find_checkpoint(copy)
    (copy / "config.json").write_text("{nope")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        find_checkpoint(copy)
