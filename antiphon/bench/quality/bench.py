"""Run the spoken items against one or more backends and score every conversation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from antiphon.bench.quality import data, voices
from antiphon.bench.quality.data import Item, ToolSet
from antiphon.bench.quality.links import QualityLink
from antiphon.bench.quality.runner import WAIT_S, Outcome, converse
from antiphon.bench.quality.score import answer_found, call_matches, parse_arguments, word_errors

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Spoken:
    item: Item
    voice: str
    audio: np.ndarray


def prepare(items: list[Item], voice_names: list[str], progress: Progress) -> list[Spoken]:
    """Every item with its voice (round-robin in item order) and its cached audio."""
    out = []
    for i, (item, voice) in enumerate(
        zip(items, voices.assign(len(items), voice_names), strict=True)
    ):
        if i % 25 == 0:
            progress(f"voices [{i + 1}/{len(items)}]")
        out.append(Spoken(item, voice, voices.spoken(item.text, voice)))
    return out


def score(sp: Spoken, got: Outcome, tools: ToolSet) -> dict[str, Any]:
    """One item's verdicts (None where a verdict does not apply to its kind)."""
    item = sp.item
    edits, n = word_errors(item.text, got.heard)
    valid = [
        not data.schema_errors(tools.schema(c.name), parse_arguments(c.arguments))
        if any(t["name"] == c.name for t in tools.tools)
        else False
        for c in got.calls
    ]
    row: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "split": item.split,
        "voice": sp.voice,
        "text": item.text,
        "tool": item.tool,
        "heard": got.heard,
        "said": got.said,
        "calls": [{"name": c.name, "arguments": c.arguments} for c in got.calls],
        "calls_valid": valid,
        "voice_to_voice_ms": got.voice_to_voice_ms,
        "stages": {k: round(v, 1) for k, v in got.stages.items()},
        "timed_out": got.timed_out,
        "asr_edits": edits,
        "asr_words": n,
        "correct": None,
        "tool_right": None,
        "tool_named": None,
    }
    if item.kind in ("general", "zh"):
        row["correct"] = answer_found(got.said, item.accept)
    if item.kind == "tools":
        assert item.tool is not None
        optional = tools.optional_extras.get(item.tool, [])
        row["tool_named"] = any(c.name == item.tool for c in got.calls)
        row["tool_right"] = any(
            call_matches(item.tool, item.expect, c.name, c.arguments, optional) for c in got.calls
        )
    return row


def run_backend(
    name: str,
    make_link: Callable[[], QualityLink],
    spoken: list[Spoken],
    tools: ToolSet,
    progress: Progress,
    wait_s: float = WAIT_S,
) -> list[dict[str, Any]]:
    """Each item is a fresh conversation; English items declare the tool set."""
    rows = []
    t_start = time.monotonic()
    for i, sp in enumerate(spoken):
        declared = list(tools.tools) if sp.item.language == "en" else []
        got = asyncio.run(converse(make_link(), sp.audio, declared, wait_s=wait_s))
        row = score(sp, got, tools)
        rows.append(row)
        verdict = {True: "ok", False: "WRONG", None: ""}[
            row["correct"] if row["correct"] is not None else row["tool_right"]
        ]
        if sp.item.kind == "plain":
            verdict = "CALLED" if got.calls else "ok"
        v2v = got.voice_to_voice_ms
        elapsed = time.monotonic() - t_start
        eta = elapsed / (i + 1) * (len(spoken) - i - 1)
        progress(
            f"{name} [{i + 1}/{len(spoken)}] {sp.item.id} {sp.voice} "
            f"v2v={'-' if v2v is None else f'{v2v:.0f}ms'} {verdict}  "
            f"heard={got.heard[:50]!r} said={got.said[:60]!r} (eta {eta / 60:.1f} min)"
        )
    return rows
