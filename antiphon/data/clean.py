"""``antiphon data clean``: transcripts for real recordings, kept by multi-ASR agreement.

Each recording is transcribed by several independent recognisers (Whisper tiny.en,
Whisper base, pocketsphinx), the hypotheses are normalised (lower case, no punctuation,
digits as words), and fused ROVER-style: the hypothesis closest to all others (lowest mean
normalised edit distance) is the backbone, every other hypothesis is aligned to it and each
backbone word is replaced or deleted when the majority of systems says so. The confidence
is the fused transcript's mean agreement with the systems (1 − normalised edit distance);
an empty fused transcript (nothing any majority recognised: silence, noise) has confidence 0.
Utterances below ``--min-confidence`` are marked (or, with ``--drop``, left out).

Output: OUT_DIR/transcripts.jsonl (one object per recording) and OUT_DIR/summary.json.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.audio.io import read_wav
from antiphon.data.jsonl import jsonl_objects
from antiphon.data.normalize import align_words, normalize_text, normalize_words, wer, word_errors

RATE = 16000
SYSTEMS = ("whisper-tiny.en", "whisper-base", "pocketsphinx")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class CleanError(ValueError):
    """Input that cannot be cleaned (no audio found, bad manifest line)."""


Recognizer = Callable[[np.ndarray], str]


def make_recognizer(name: str) -> Recognizer:
    if name in ("whisper-tiny.en", "whisper-base"):
        from antiphon.cascade.asr import StreamingASR
        from antiphon.models import whisper_base, whisper_tiny_en

        # the cascade's recogniser already drops Whisper's hallucinations on noise/silence
        model = whisper_tiny_en() if name == "whisper-tiny.en" else whisper_base()
        asr = StreamingASR(language="en", model_dir=model, cpu_threads=1, short_window=False)
        return asr.transcribe
    if name == "pocketsphinx":
        from pocketsphinx import Decoder

        decoder = Decoder(loglevel="FATAL")  # the en-us model shipped in the package

        def sphinx(audio: np.ndarray) -> str:
            pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            return str(hyp.hypstr) if hyp is not None else ""

        return sphinx
    raise CleanError(f"unknown ASR system {name!r}; choose from {', '.join(SYSTEMS)}")


def _distance(a: list[str], b: list[str]) -> float:
    """Edit distance normalised to [0, 1] (0: identical; an empty vs a non-empty: 1)."""
    return word_errors(a, b) / max(len(a), len(b), 1)


def fuse(hyps: Sequence[list[str]]) -> tuple[list[str], float, int, list[float]]:
    """(fused words, confidence, index of the backbone hypothesis, each fused word's share
    of the systems' votes)."""
    n = len(hyps)
    if n == 0:
        return [], 0.0, -1, []
    mean_d = [sum(_distance(h, o) for o in hyps) / max(n - 1, 1) for h in hyps]
    backbone = int(np.argmin(mean_d))  # ties: the earliest system
    votes: list[Counter[str | None]] = [Counter({w: 1}) for w in hyps[backbone]]
    for k, other in enumerate(hyps):
        if k == backbone:
            continue
        j = 0
        for ref, hyp in align_words(hyps[backbone], other):
            if ref is None:
                continue  # words only this system heard: a minority by construction
            votes[j][hyp] += 1
            j += 1
    fused: list[str] = []
    agreement: list[float] = []
    for j, counter in enumerate(votes):
        best = max(counter.values())
        winner = hyps[backbone][j] if counter[hyps[backbone][j]] == best else None
        if winner is None:  # the majority disagrees with the backbone
            winner = next(w for w, c in counter.most_common() if c == best)
        if winner is not None:
            fused.append(winner)
            agreement.append(counter[winner] / n)
    if not fused:
        return [], 0.0, backbone, []
    confidence = 1.0 - sum(_distance(fused, h) for h in hyps) / n
    return fused, confidence, backbone, agreement


def find_inputs(source: str | Path) -> list[tuple[str, Path, str | None]]:
    """(id, audio path, reference text or None) from a folder or a JSONL manifest."""
    src = Path(source)
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise CleanError(f"{src}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
        return [(str(p.relative_to(src).with_suffix("")), p, None) for p in files]
    if not src.is_file():
        raise CleanError(f"{src}: no such folder or manifest")
    items: list[tuple[str, Path, str | None]] = []
    lines = src.read_text(encoding="utf-8").splitlines()
    for _, where, obj in jsonl_objects(src, lines, CleanError):
        if not isinstance(obj, dict) or not isinstance(obj.get("audio"), str):
            raise CleanError(f"{where}: expected an object with a string key 'audio'")
        path = Path(obj["audio"])
        path = path if path.is_absolute() else src.parent / path
        if not path.is_file():
            raise CleanError(f"{where}: key 'audio': no such file {path}")
        ref = obj.get("text")
        items.append((str(obj.get("id", path.stem)), path, ref if isinstance(ref, str) else None))
    if not items:
        raise CleanError(f"{src}: the manifest lists no recordings")
    return items


def clean_recordings(
    source: str | Path,
    out_dir: str | Path,
    systems: Sequence[str] = SYSTEMS,
    min_confidence: float = 0.5,
    drop: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    from tqdm import tqdm

    if len(systems) < 2:
        raise CleanError(f"agreement needs at least 2 ASR systems, got {list(systems)}")
    if not 0.0 <= min_confidence <= 1.0:
        raise CleanError(f"--min-confidence must be in [0, 1], got {min_confidence}")
    items = find_inputs(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "transcripts.jsonl"
    target.write_text("")  # fail now if the folder is not writable
    recognizers = {name: make_recognizer(name) for name in systems}
    lines, kept, confidences, wers = [], 0, [], []
    for uid, path, ref in tqdm(items, desc="recordings", disable=not progress):
        audio, _ = read_wav(path, RATE)
        raw = {name: rec(audio).strip() for name, rec in recognizers.items()}
        words = [normalize_words(raw[name]) for name in systems]
        fused, confidence, backbone, agreement = fuse(words)
        keep = confidence >= min_confidence
        confidences.append(confidence)
        kept += keep
        record: dict[str, Any] = {
            "id": uid,
            "audio": str(path),
            "duration": round(len(audio) / RATE, 3),
            "text": " ".join(fused),
            "confidence": round(confidence, 3),
            "kept": keep,
            "backbone": systems[backbone] if backbone >= 0 else None,
            "word_agreement": [round(a, 3) for a in agreement],
            "hypotheses": raw,
            "normalized": {name: " ".join(w) for name, w in zip(systems, words, strict=True)},
        }
        if ref is not None:
            record["reference"] = ref
            record["wer"] = round(wer(normalize_text(ref), record["text"]), 3)
            wers.append(record["wer"])
        if keep or not drop:
            lines.append(json.dumps(record, ensure_ascii=False))
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    summary = {
        "recordings": len(items),
        "kept": kept,
        "min_confidence": min_confidence,
        "mean_confidence": round(float(np.mean(confidences)), 3),
        "systems": list(systems),
        "dropped": drop,
        "mean_wer_vs_reference": round(float(np.mean(wers)), 3) if wers else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def format_clean_summary(s: dict[str, Any]) -> str:
    text = (
        f"{s['recordings']} recordings, {s['kept']} at confidence >= {s['min_confidence']} "
        f"(mean confidence {s['mean_confidence']:.2f}; systems {', '.join(s['systems'])})"
    )
    if s["mean_wer_vs_reference"] is not None:
        text += f"; mean WER vs reference {100 * s['mean_wer_vs_reference']:.1f}%"
    return text
