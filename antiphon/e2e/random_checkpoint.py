"""Write a Moshi checkpoint folder with random weights, in the released layout.

Used by the tests (tiny: a few MB, real time on any CPU) and by anyone who wants to try
``antiphon serve --brain moshi`` before they have trained or downloaded weights. The text
tokenizer is a SentencePiece BPE model trained on the repository's own docs, sized to the
LM's text vocabulary.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import sentencepiece
import torch

from antiphon.codec.checkpoint import save_mimi
from antiphon.codec.config import MimiConfig, QuantizerConfig, SeanetConfig, TransformerConfig
from antiphon.codec.model import MimiModel
from antiphon.lm.checkpoint import MIMI_NAME, TOKENIZER_NAME, save_lm
from antiphon.lm.config import LMConfig, tiny_config
from antiphon.lm.model import LMModel

REPO = Path(__file__).resolve().parents[2]


def tiny_mimi_config(codebooks: int = 8, bins: int = 64) -> MimiConfig:
    """The released Mimi's rates (24 kHz, 12.5 Hz, 1920-sample frames) at toy width."""
    return MimiConfig(
        num_codebooks=codebooks,
        seanet=SeanetConfig(dimension=32, n_filters=4),
        transformer=TransformerConfig(
            d_model=32, num_heads=4, num_layers=1, dim_feedforward=64, context=50
        ),
        quantizer=QuantizerConfig(dimension=16, n_q=codebooks, bins=bins),
    )


def _corpus() -> list[str]:
    lines: list[str] = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        if path.is_file():
            # ASCII lines only: every character of the corpus needs a piece
            # (character_coverage 1.0), and a doc gaining a symbol must not outgrow a small
            # vocabulary (the micro recipe's 128)
            lines += [
                ln.strip()
                for ln in path.read_text().splitlines()
                if len(ln.strip()) > 20 and ln.isascii()
            ]
    if len(lines) < 50:
        raise RuntimeError("not enough text in README.md and docs/ to train a tokenizer")
    return lines


def train_tokenizer(path: Path, vocab_size: int, sentences: Sequence[str] = ()) -> None:
    """A SentencePiece BPE with the LM's special ids (EPAD 0, unk 1, eos 2, PAD 3), trained on
    ``sentences`` plus the repository's docs (so a small text still fills the vocabulary)."""
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([*sentences, *_corpus()]),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=1.0,
        unk_id=1,
        bos_id=-1,
        eos_id=2,
        pad_id=3,
        user_defined_symbols=["<epad>"],  # id 0 after the pieces below: moshi's end-of-padding
        minloglevel=2,
    )
    path.write_bytes(model.getvalue())


def write_random_checkpoint(
    folder: str | Path, config: LMConfig | None = None, seed: int = 0
) -> Path:
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    config = config or tiny_config()
    torch.manual_seed(seed)
    save_lm(LMModel(config), root)
    mimi = MimiModel(tiny_mimi_config(max(config.dep_q, config.user_q), config.card))
    g = torch.Generator().manual_seed(seed)
    for cb in mimi.quantizer.codebooks():
        cb.embedding_sum.copy_(torch.randn(cb.embedding_sum.shape, generator=g))
    mimi.quantizer.invalidate()
    save_mimi(mimi, root / MIMI_NAME)
    train_tokenizer(root / TOKENIZER_NAME, config.text_card)
    return root
