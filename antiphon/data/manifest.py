"""The dataset folder's records: typed, validated on load, written deterministically.

Layout (the contract between data synthesis and training)::

    DIR/manifest.jsonl   one DialogueRecord per line
    DIR/audio/<id>.wav   stereo PCM16, channel 0 = agent, channel 1 = user
    DIR/summary.json     statistics, seed and config

Times are seconds on the dialogue's timeline, rounded to the millisecond when written so the
same seed gives byte-identical manifests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from antiphon.data.jsonl import jsonl_objects

SPEAKERS = ("agent", "user")
KINDS = ("turn", "backchannel", "interruption")
SPLITS = ("train", "heldout")
ALIGNMENTS = ("whisper", "proportional")
SAMPLE_RATE = 24000
MANIFEST = "manifest.jsonl"
SUMMARY = "summary.json"


class ManifestError(ValueError):
    """A manifest line that does not follow the dataset contract."""


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Turn:
    speaker: str  # "agent" | "user"
    text: str
    start: float
    end: float
    kind: str = "turn"  # "turn" | "backchannel" | "interruption"
    alignment: str = "proportional"  # how its word times were found


@dataclass(frozen=True)
class DialogueRecord:
    id: str
    audio: str  # relative to the dataset folder
    num_samples: int
    turns: tuple[Turn, ...]
    words: dict[str, tuple[Word, ...]]  # "agent" and "user"
    voices: dict[str, str] = field(default_factory=dict)
    split: str = "train"
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    def audio_path(self, root: str | Path) -> Path:
        return Path(root) / self.audio

    def to_json(self) -> dict[str, Any]:
        def r(t: float) -> float:
            return round(float(t), 3)

        return {
            "id": self.id,
            "audio": self.audio,
            "sample_rate": self.sample_rate,
            "num_samples": self.num_samples,
            "split": self.split,
            "voices": dict(self.voices),
            "turns": [
                {
                    "speaker": t.speaker,
                    "text": t.text,
                    "start": r(t.start),
                    "end": r(t.end),
                    "kind": t.kind,
                    "alignment": t.alignment,
                }
                for t in self.turns
            ],
            "words": {
                s: [{"word": w.word, "start": r(w.start), "end": r(w.end)} for w in self.words[s]]
                for s in SPEAKERS
            },
        }


# --- reading with validation ---------------------------------------------------------------
def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ManifestError(f"{where}: missing key {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ManifestError(f"{where}: key {key!r} has {type(value).__name__} {value!r}")
    return value


def _choice(value: str, allowed: Sequence[str], where: str, key: str) -> str:
    if value not in allowed:
        raise ManifestError(f"{where}: key {key!r} must be one of {list(allowed)}, got {value!r}")
    return value


def _span(obj: dict[str, Any], where: str) -> tuple[float, float]:
    start = float(_get(obj, "start", (int, float), where))
    end = float(_get(obj, "end", (int, float), where))
    if start < 0 or end < start:
        raise ManifestError(f"{where}: bad time span start={start} end={end}")
    return start, end


def record_from_json(obj: Any, where: str = "record") -> DialogueRecord:
    """One manifest object → DialogueRecord; errors name ``where`` and the key."""
    if not isinstance(obj, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    rate = int(_get(obj, "sample_rate", int, where))
    num = int(_get(obj, "num_samples", int, where))
    if rate <= 0 or num < 0:
        raise ManifestError(f"{where}: bad sample_rate={rate} or num_samples={num}")
    duration = num / rate
    turns = []
    for i, t in enumerate(_get(obj, "turns", list, where)):
        w = f"{where}: turns[{i}]"
        if not isinstance(t, dict):
            raise ManifestError(f"{w}: expected an object")
        start, end = _span(t, w)
        if end > duration + 1e-3:
            raise ManifestError(f"{w}: ends at {end} s, after the audio ({duration:.3f} s)")
        turns.append(
            Turn(
                speaker=_choice(_get(t, "speaker", str, w), SPEAKERS, w, "speaker"),
                text=_get(t, "text", str, w),
                start=start,
                end=end,
                kind=_choice(t.get("kind", "turn"), KINDS, w, "kind"),
                alignment=_choice(t.get("alignment", "proportional"), ALIGNMENTS, w, "alignment"),
            )
        )
    words_obj = _get(obj, "words", dict, where)
    words: dict[str, tuple[Word, ...]] = {}
    for speaker in SPEAKERS:
        items = _get(words_obj, speaker, list, f"{where}: words")
        out = []
        for i, wd in enumerate(items):
            w = f"{where}: words.{speaker}[{i}]"
            if not isinstance(wd, dict):
                raise ManifestError(f"{w}: expected an object")
            start, end = _span(wd, w)
            out.append(Word(_get(wd, "word", str, w), start, end))
        words[speaker] = tuple(out)
    voices = _get(obj, "voices", dict, where) if "voices" in obj else {}
    return DialogueRecord(
        id=_get(obj, "id", str, where),
        audio=_get(obj, "audio", str, where),
        num_samples=num,
        turns=tuple(turns),
        words=words,
        voices={str(k): str(v) for k, v in voices.items()},
        split=_choice(obj.get("split", "train"), SPLITS, where, "split"),
        sample_rate=rate,
    )


def load_manifest(path: str | Path, check_audio: bool = True) -> list[DialogueRecord]:
    """Read ``DIR`` or ``DIR/manifest.jsonl``; ``check_audio`` verifies each WAV's format."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST
    if not p.is_file():
        raise ManifestError(f"{p}: no such manifest")
    records: list[DialogueRecord] = []
    seen: set[str] = set()
    lines = p.read_text(encoding="utf-8").splitlines()
    for _, where, obj in jsonl_objects(p, lines, ManifestError):
        rec = record_from_json(obj, where)
        if rec.id in seen:
            raise ManifestError(f"{where}: duplicate id {rec.id!r}")
        seen.add(rec.id)
        if check_audio:
            _check_audio(rec, p.parent, where)
        records.append(rec)
    return records


def _check_audio(rec: DialogueRecord, root: Path, where: str) -> None:
    audio = rec.audio_path(root)
    try:
        info = sf.info(str(audio))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ManifestError(f"{where}: key 'audio': cannot read {audio}: {exc}") from exc
    got = (info.samplerate, info.channels, info.frames)
    want = (rec.sample_rate, 2, rec.num_samples)
    if got != want:
        raise ManifestError(
            f"{where}: {audio} has (rate, channels, samples) {got}, manifest says {want}"
        )


def read_dialogue_audio(root: str | Path, record: DialogueRecord) -> np.ndarray:
    """(num_samples, 2) float32: channel 0 agent, channel 1 user."""
    audio, rate = sf.read(str(record.audio_path(root)), dtype="float32", always_2d=True)
    if rate != record.sample_rate or audio.shape != (record.num_samples, 2):
        raise ManifestError(
            f"{record.audio_path(root)}: {audio.shape} at {rate} Hz, manifest says "
            f"({record.num_samples}, 2) at {record.sample_rate} Hz"
        )
    return audio


# --- writing ------------------------------------------------------------------------------
def write_dialogue_audio(root: str | Path, record: DialogueRecord, stereo: np.ndarray) -> Path:
    """Write (samples, 2) float audio as PCM16 at the record's rate and path."""
    a = np.asarray(stereo, dtype=np.float32)
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] != record.num_samples:
        raise ValueError(f"{record.id}: audio shape {a.shape}, expected ({record.num_samples}, 2)")
    path = record.audio_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(a, -1.0, 1.0), record.sample_rate, subtype="PCM_16")
    return path


def manifest_line(record: DialogueRecord) -> str:
    return json.dumps(record.to_json(), ensure_ascii=False)


def write_manifest(root: str | Path, records: Iterable[DialogueRecord]) -> Path:
    path = Path(root) / MANIFEST
    path.write_text("".join(manifest_line(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_dataset(
    root: str | Path,
    items: Sequence[tuple[DialogueRecord, np.ndarray]],
    summary: dict[str, Any] | None = None,
) -> Path:
    """A complete dataset folder from records and their stereo audio (also for test fixtures)."""
    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    for record, stereo in items:
        write_dialogue_audio(out, record, stereo)
    write_manifest(out, [r for r, _ in items])
    if summary is not None:
        (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return out
