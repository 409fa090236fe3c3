"""`antiphon bench quality --asr-study`: which recognizer for voices other than the agent's.

Every configuration decodes the same clips as the cascade's final decode does (one
utterance, trimmed, 16 kHz): the bench's synthetic user voices speaking the English items
of the split (one voice per item, round-robin, as in the bench), and the human recordings
(human.py). Per voice: word error rate (normalized: case, punctuation, number words) and
decode time p50/p90. Decode times are CPU times on this machine, under whatever else runs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.bench.quality import data, human, voices
from antiphon.bench.quality.score import word_errors


@dataclass(frozen=True)
class AsrConfig:
    name: str
    recognizer: str  # a key of cascade.asr.RECOGNIZERS (the final decode's model counts)
    beam_size: int = 1
    short_window: bool = True
    redecode: bool = True  # unsure short-window decodes are decoded again on the full window
    prompt: str | None = None  # Whisper's previous-text context for every final decode
    rescore: str = "off"  # a chat model rescoring the top hypotheses (transcript_rescorer.py)


GREETING = "Hi, I'm your voice assistant. What can I do for you?"
TOPIC = "A person asks a voice assistant a question or gives it a request."

CONFIGS = {
    c.name: c
    for c in (
        AsrConfig("tiny.en", "tiny.en"),
        AsrConfig("tiny.en-beam5", "tiny.en", beam_size=5),
        AsrConfig("base", "base"),
        AsrConfig("base-beam2", "base", beam_size=2),
        AsrConfig("base-beam3", "base", beam_size=3),
        AsrConfig("base-beam5", "base", beam_size=5),
        AsrConfig("base-30s", "base", short_window=False),
        AsrConfig("base-once", "base", redecode=False),
        AsrConfig("base-beam5-once", "base", beam_size=5, redecode=False),
        # context: what an assistant says before a user's turn, as Whisper's previous text
        AsrConfig("base-beam5-greeting", "base", beam_size=5, redecode=False, prompt=GREETING),
        AsrConfig("base-beam5-topic", "base", beam_size=5, redecode=False, prompt=TOPIC),
        # the top 3 hypotheses rescored by a chat model (0.5B: the default; 1.5B: the reply's)
        AsrConfig("base-beam5-lm0.5b", "base", beam_size=5, redecode=False, rescore="qwen0.5b"),
        AsrConfig("base-beam5-lm1.5b", "base", beam_size=5, redecode=False, rescore="qwen1.5b"),
    )
}


@dataclass(frozen=True)
class Clip:
    id: str
    voice: str  # a synthetic voice name, or "human:SOURCE"
    text: str
    audio: np.ndarray


def clips(
    split: str, voice_names: list[str], limit: int | None, progress: Callable[[str], None]
) -> list[Clip]:
    items = data.select(["general", "tools", "plain"], split, limit)
    out: list[Clip] = []
    for i, (item, voice) in enumerate(
        zip(items, voices.assign(len(items), voice_names), strict=True)
    ):
        if i % 25 == 0:
            progress(f"rendering voices [{i + 1}/{len(items)}]")
        out.append(Clip(item.id, voice, item.text, voices.spoken(item.text, voice)))
    recs = human.recordings(split)
    out += [Clip(r.id, f"human:{r.source}", r.text, r.audio()) for r in recs[: limit and limit * 4]]
    return out


def _load(config: AsrConfig) -> Any:
    from antiphon.cascade.asr import StreamingASR
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.transcript_rescorer import rescorer_for

    asr = StreamingASR(
        language="en",
        recognizer=config.recognizer,
        beam_size=config.beam_size,
        short_window=config.short_window,
        single_decode_under_s=0.0 if config.redecode else 30.0,
        rescorer=rescorer_for(config.rescore, CascadeConfig().asr_rescore_weight, 2),
    )
    asr.transcribe(np.zeros(16000, np.float32))  # warm-up
    return asr


def measure(
    configs: list[AsrConfig], clip_list: list[Clip], progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Each clip decoded by every configuration in turn, so that their decode times are
    taken under the same load (the figures compare side by side, not with other runs)."""
    asrs = [_load(c) for c in configs]
    rows: list[list[dict[str, Any]]] = [[] for _ in configs]
    for i, clip in enumerate(clip_list):
        if i % 20 == 0:
            progress(f"decoding [{i + 1}/{len(clip_list)}] with {len(configs)} configurations")
        for config, asr, out in zip(configs, asrs, rows, strict=True):
            t0 = time.perf_counter()
            heard = asr.transcribe(clip.audio, config.prompt)
            dt = time.perf_counter() - t0
            edits, n = word_errors(clip.text, heard)
            out.append({"id": clip.id, "voice": clip.voice, "text": clip.text, "heard": heard,
                        "edits": edits, "words": n, "decode_ms": dt * 1000})  # fmt: skip
    return [
        {"config": c.__dict__, "rows": r, "per_voice": per_voice(r)}
        for c, r in zip(configs, rows, strict=True)
    ]


def per_voice(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["voice"], []).append(r)
        kind = "all human" if r["voice"].startswith("human:") else "all synthetic"
        groups.setdefault(kind, []).append(r)
    out = {}
    for voice, rs in sorted(groups.items()):
        words = sum(r["words"] for r in rs)
        ms = [r["decode_ms"] for r in rs]
        out[voice] = {
            "clips": len(rs),
            "wer": sum(r["edits"] for r in rs) / words if words else float("nan"),
            "decode_ms_p50": float(np.percentile(ms, 50)),
            "decode_ms_p90": float(np.percentile(ms, 90)),
        }
    return out


def table(results: list[dict[str, Any]]) -> str:
    voice_names = list(results[0]["per_voice"])
    head = "| voice | clips | " + " | ".join(r["config"]["name"] for r in results) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(results)]
    for v in voice_names:
        cells = []
        for r in results:
            s = r["per_voice"].get(v)
            cells.append(
                "–"
                if s is None
                else f"{100 * s['wer']:.1f} % · {s['decode_ms_p50']:.0f}/{s['decode_ms_p90']:.0f} ms"
            )
        lines.append(f"| {v} | {results[0]['per_voice'][v]['clips']} | " + " | ".join(cells) + " |")
    return (
        "\n".join(lines)
        + "\n\ncells: WER · decode time p50/p90 (final decode of the whole utterance)"
    )


def run(
    names: list[str],
    split: str,
    voice_names: list[str],
    limit: int | None,
    out: Path,
    progress: Callable[[str], None],
) -> str:
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise data.DataError(f"unknown ASR configurations {unknown}; use some of {list(CONFIGS)}")
    clip_list = clips(split, voice_names, limit, progress)
    results = measure([CONFIGS[n] for n in names], clip_list, progress)
    out.mkdir(parents=True, exist_ok=True)
    (out / "asr-study.json").write_text(json.dumps({"split": split, "results": results}, indent=1))
    text = f"ASR study, {split} split, {len(clip_list)} clips\n\n" + table(results)
    (out / "asr-study.md").write_text(text + "\n")
    return text


def human_wer(
    transcribe: Callable[[np.ndarray], str], split: str, only: set[str] | None = None
) -> dict[str, dict[str, Any]]:
    """WER per human source with a loaded recognizer (the in-process stack's final decode);
    ``only``: these recording ids."""
    recs = [r for r in human.recordings(split) if only is None or r.id in only]
    return human_wer_of([(rec, transcribe(rec.audio())) for rec in recs])


def human_wer_of(heard: Sequence[tuple[human.Recording, str]]) -> dict[str, dict[str, Any]]:
    """WER per human source (and "all human") of recordings and what was heard of them."""
    rows: dict[str, list[tuple[int, int]]] = {}
    for rec, text in heard:
        edits, n = word_errors(rec.text, text)
        rows.setdefault(rec.source, []).append((edits, n))
        rows.setdefault("all human", []).append((edits, n))
    return {
        src: {"clips": len(r), "wer": round(sum(e for e, _ in r) / max(1, sum(n for _, n in r)), 4)}
        for src, r in rows.items()
    }
