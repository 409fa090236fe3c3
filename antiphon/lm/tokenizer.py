"""The inner monologue's SentencePiece tokenizer, checked against the LM's text vocabulary."""

from __future__ import annotations

from pathlib import Path

import sentencepiece

from antiphon.lm.config import LMConfig
from antiphon.nn.checkpoint import CheckpointError


class TextTokenizer:
    """Turns sampled text tokens into words: padding tokens are silent, ``▁`` marks a space."""

    def __init__(self, path: str | Path, config: LMConfig) -> None:
        self.path = Path(path)
        sp = sentencepiece.SentencePieceProcessor()
        try:
            sp.Load(str(self.path))
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"{self.path} is not a SentencePiece model: {exc}") from exc
        if sp.GetPieceSize() != config.text_card:
            raise CheckpointError(
                f"wrong tokenizer {self.path.name}: it has {sp.GetPieceSize()} pieces but the LM's"
                f" text vocabulary has {config.text_card}"
            )
        self.sp = sp
        self.silent = {config.text_padding_id, config.text_end_padding_id}

    def is_word(self, token: int) -> bool:
        return 0 <= token < self.sp.GetPieceSize() and token not in self.silent

    def piece(self, token: int) -> str:
        """The text of one token ("" for padding), with SentencePiece's ``▁`` as a space."""
        if not self.is_word(token):
            return ""
        return str(self.sp.IdToPiece(token)).replace("\u2581", " ")

    def encode(self, text: str) -> list[int]:
        return [int(t) for t in self.sp.EncodeAsIds(text)]
