"""LM training data: each dialogue as undelayed codes ``[1 + n_q, F]`` =
[agent text, agent q0..q(dep_q-1), user q0..q(user_q-1)] at the codec's frame rate.

Audio codes come from a Mimi checkpoint and are cached on disk, one safetensors file per
dialogue under ``CACHE/<codec hash>/``: a new codec (other bytes, other hash) re-encodes. The
text stream is rebuilt from the manifest's agent words at load time (cheap), so a new
tokenizer needs no re-encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from safetensors.torch import load_file, save_file

from antiphon.audio.io import resample
from antiphon.codec.checkpoint import load_mimi
from antiphon.codec.model import MimiModel
from antiphon.data.manifest import DialogueRecord, load_manifest
from antiphon.data.text_stream import text_stream
from antiphon.lm.config import LMConfig
from antiphon.lm.layers import ZERO_TOKEN
from antiphon.lm.tokenizer import TextTokenizer
from antiphon.train.sampling import ItemRef


def file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def cache_folder(dataset: str | Path, codec: str | Path, cache_dir: str = "") -> Path:
    root = Path(cache_dir) if cache_dir else Path(dataset) / ".codes"
    return root / file_hash(codec)


@torch.no_grad()
def encode_dialogue(model: MimiModel, root: Path, rec: DialogueRecord) -> dict[str, torch.Tensor]:
    """Both channels through the codec: ``{"agent": [K, F], "user": [K, F]}`` (int32)."""
    data, rate = sf.read(str(rec.audio_path(root)), dtype="float32", always_2d=True)
    if data.shape[1] != 2:
        raise ValueError(f"{rec.audio_path(root)}: expected stereo, got {data.shape[1]} channels")
    chans = [resample(np.ascontiguousarray(data[:, c]), rate, model.sample_rate) for c in (0, 1)]
    x = torch.from_numpy(np.stack(chans)).unsqueeze(1)
    device = next(model.parameters()).device
    codes = model.encode(x.to(device)).to(torch.int32).cpu()
    return {"agent": codes[0].contiguous(), "user": codes[1].contiguous()}


def encode_dataset(
    dataset: str | Path,
    codec: str | Path,
    cache_dir: str = "",
    records: Iterable[DialogueRecord] | None = None,
    device: str | torch.device = "cpu",
    progress: Callable[[Iterable[DialogueRecord]], Iterable[DialogueRecord]] | None = None,
) -> tuple[Path, int]:
    """Encode every dialogue not cached yet; returns (cache folder, number newly encoded)."""
    root = Path(dataset)
    folder = cache_folder(root, codec, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    todo = [
        r
        for r in (load_manifest(root) if records is None else records)
        if not (folder / f"{r.id}.safetensors").is_file()
    ]
    if not todo:
        return folder, 0
    model = load_mimi(codec, device=device)
    for rec in progress(todo) if progress else todo:
        tmp = folder / f"{rec.id}.safetensors.tmp"
        save_file(encode_dialogue(model, root, rec), str(tmp), metadata={"codec": str(codec)})
        tmp.replace(folder / f"{rec.id}.safetensors")  # atomic: a crash leaves no half file
    return folder, len(todo)


def dataset_sentences(records: Iterable[DialogueRecord]) -> list[str]:
    return [t.text.strip() for r in records for t in r.turns if t.text.strip()]


def train_tokenizer(path: Path, vocab_size: int, sentences: list[str]) -> Path:
    """The LM's SentencePiece BPE trained on the dataset's transcripts plus the docs."""
    from antiphon.e2e.random_checkpoint import train_tokenizer as train_spm

    path.parent.mkdir(parents=True, exist_ok=True)
    train_spm(path, vocab_size, sentences)
    return path


def assemble(codes: dict[str, torch.Tensor], text: list[int], config: LMConfig) -> torch.Tensor:
    """``[1 + n_q, F]`` int64: text, the agent's dep_q codebooks, the user's user_q."""
    agent, user = codes["agent"].long(), codes["user"].long()
    for name, c, need in (("agent", agent, config.dep_q), ("user", user, config.user_q)):
        if c.shape[0] < need:
            raise ValueError(
                f"the codec gives {c.shape[0]} codebooks, the LM's {name} needs {need}"
            )
    t = torch.tensor(text, dtype=torch.long).view(1, -1)
    return torch.cat([t, agent[: config.dep_q], user[: config.user_q]], dim=0)


class LMData:
    """All dialogues of one split as assembled code tensors, held in memory."""

    def __init__(
        self,
        records: list[DialogueRecord],
        folder: Path,
        tokenizer: TextTokenizer,
        config: LMConfig,
        frame_rate: float,
    ) -> None:
        self.config = config
        self.items: list[torch.Tensor] = []
        for rec in records:
            codes = load_file(str(folder / f"{rec.id}.safetensors"))
            frames = codes["agent"].shape[-1]
            text = text_stream(
                rec.words["agent"],
                tokenizer,
                frames,
                frame_rate,
                padding_id=config.text_padding_id,
                end_padding_id=config.text_end_padding_id,
                on_overflow="truncate",
            )
            self.items.append(assemble(codes, text, config))

    def __len__(self) -> int:
        return len(self.items)

    def crop(self, index: int, frames: int, start: int) -> torch.Tensor:
        """``[K, frames]`` from ``start``; past the dialogue's end: ZERO_TOKEN (no loss)."""
        codes = self.items[index]
        out = torch.full((codes.shape[0], frames), ZERO_TOKEN, dtype=torch.long)
        part = codes[:, start : start + frames]
        out[:, : part.shape[1]] = part
        return out

    def random_crop(self, ref: ItemRef, frames: int) -> torch.Tensor:
        total = self.items[ref.index].shape[1]
        start = int(ref.rng().integers(0, max(total - frames, 0) + 1))
        return self.crop(ref.index, frames, start)
