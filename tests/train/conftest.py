"""Shared micro assets for the training tests: one dataset, one tiny codec, one tokenizer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from train_helpers import make_codec, make_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():  # type: ignore[no-untyped-def]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """dataset/ (4 train + 1 held-out dialogues of 4 s), codec.safetensors, tokenizer.model."""
    from antiphon.data.manifest import load_manifest
    from antiphon.train.lm_data import dataset_sentences, train_tokenizer

    root = tmp_path_factory.mktemp("train_assets")
    dataset = make_dataset(root / "dataset")
    codec = make_codec(root / "codec.safetensors")
    tok = train_tokenizer(root / "tokenizer.model", 128, dataset_sentences(load_manifest(dataset)))
    return {"dataset": dataset, "codec": codec, "tokenizer": tok, "root": root}
