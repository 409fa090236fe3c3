"""Data layout: assembled codes put the agent's text, the agent's codes (channel 0) and the
user's codes (channel 1) in the LM's stream order; the code cache follows the codec; crops
pad with ZERO_TOKEN; the sampler shards one stream of items over processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from train_helpers import make_codec

from antiphon.codec.checkpoint import load_mimi
from antiphon.data.manifest import load_manifest
from antiphon.data.text_stream import text_stream
from antiphon.lm.config import tiny_config
from antiphon.lm.layers import ZERO_TOKEN
from antiphon.lm.tokenizer import TextTokenizer
from antiphon.train.codec_task import CodecData
from antiphon.train.lm_data import LMData, cache_folder, encode_dataset
from antiphon.train.sampling import ShardedSampler


def test_assembled_codes_are_text_agent_user_in_stream_order(
    assets: dict[str, Path], tmp_path: Path
) -> None:
    cfg = tiny_config(text_card=128)
    cache = str(tmp_path / "codes")
    folder, n = encode_dataset(assets["dataset"], assets["codec"], cache)
    records = load_manifest(assets["dataset"])
    assert n == len(records) and folder == cache_folder(assets["dataset"], assets["codec"], cache)
    tok = TextTokenizer(assets["tokenizer"], cfg)
    data = LMData(records[:1], folder, tok, cfg, 12.5)
    codes = data.items[0]
    rec = records[0]
    stereo, rate = sf.read(str(rec.audio_path(assets["dataset"])), dtype="float32")
    mimi = load_mimi(assets["codec"])
    with torch.no_grad():
        agent = mimi.encode(torch.from_numpy(np.ascontiguousarray(stereo[:, 0])).view(1, 1, -1))[0]
        user = mimi.encode(torch.from_numpy(np.ascontiguousarray(stereo[:, 1])).view(1, 1, -1))[0]
    frames = agent.shape[-1]
    assert codes.shape == (cfg.num_streams, frames) == (17, int(np.ceil(4.0 * 12.5)))
    assert torch.equal(codes[1 : 1 + cfg.dep_q], agent[: cfg.dep_q])
    assert torch.equal(codes[1 + cfg.dep_q :], user[: cfg.user_q])
    expected = text_stream(
        rec.words["agent"], tok, frames, 12.5,
        padding_id=cfg.text_padding_id, end_padding_id=cfg.text_end_padding_id,
        on_overflow="truncate",
    )  # fmt: skip
    assert codes[0].tolist() == expected
    first = rec.words["agent"][0]
    assert codes[0, int(first.start * 12.5)] not in (cfg.text_padding_id, cfg.text_end_padding_id)
    # a crop past the end is ZERO_TOKEN (no input, no loss), never wrapped-around data
    crop = data.crop(0, 20, frames - 5)
    assert torch.equal(crop[:, :5], codes[:, -5:]) and bool((crop[:, 5:] == ZERO_TOKEN).all())


def test_code_cache_is_keyed_by_the_codec(assets: dict[str, Path], tmp_path: Path) -> None:
    cache = str(tmp_path / "codes")
    records = load_manifest(assets["dataset"])[:2]
    first, n1 = encode_dataset(assets["dataset"], assets["codec"], cache, records)
    again, n2 = encode_dataset(assets["dataset"], assets["codec"], cache, records)
    other = make_codec(tmp_path / "other.safetensors", seed=5)
    third, n3 = encode_dataset(assets["dataset"], other, cache, records)
    assert (n1, n2, n3) == (2, 0, 2) and first == again != third


def test_sampler_shards_one_stream_and_covers_every_example() -> None:
    one = ShardedSampler(7, seed=3)
    two = [ShardedSampler(7, seed=3, rank=r, world=2) for r in range(2)]
    for start in (0, 4, 12):
        whole = one.global_items(start, 4)
        assert two[0].local_items(start, 4) + two[1].local_items(start, 4) == whole
    epoch = [ref.index for ref in one.global_items(0, 7)]
    assert sorted(epoch) == list(range(7))
    assert [r.index for r in one.global_items(7, 7)] != epoch  # reshuffled next epoch


def test_codec_crops_are_deterministic_and_avoid_silence(assets: dict[str, Path]) -> None:
    data = CodecData(assets["dataset"], "train", 24_000)
    assert len(data) == 8  # 4 dialogues x 2 channels
    refs = ShardedSampler(len(data), seed=0).global_items(0, 8)
    crops = [data.crop(r, 0.32) for r in refs]
    again = [data.crop(r, 0.32) for r in refs]
    assert all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))
    assert all(c.shape == (int(0.32 * 24_000),) for c in crops)
    assert all(np.sqrt(np.mean(c**2)) > 1e-3 for c in crops)
