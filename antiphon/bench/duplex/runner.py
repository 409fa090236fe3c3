"""Run a scenario set against a backend, then read every take: record all first (so the
analysis's CPU does not disturb the real-time runs), then segment, transcribe, judge."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from antiphon.bench.duplex.driver import record
from antiphon.bench.duplex.link import Link
from antiphon.bench.duplex.metrics import Observed, judge
from antiphon.bench.duplex.scenarios import Scenario
from antiphon.bench.duplex.segments import WordTimer, speech_segments
from antiphon.bench.duplex.take import Take

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


async def record_all(
    make_link: Callable[[], Link],
    scenarios: list[Scenario],
    out: Path,
    progress: Progress = _quiet,
) -> list[Take]:
    takes = []
    for i, sc in enumerate(scenarios):
        progress(f"[{i + 1}/{len(scenarios)}] {sc.id} ({sc.variant})")
        take = await record(make_link(), sc)
        take.save(out / "takes" / sc.id)
        takes.append(take)
    return takes


def analyse(takes: list[Take], out: Path, progress: Progress = _quiet) -> list[dict[str, object]]:
    """Per take: the agent's speech segments and words, and the category's verdict."""
    from antiphon.cascade.vad import SileroVAD

    vad, timer = SileroVAD(), WordTimer()
    results = []
    for i, take in enumerate(takes):
        progress(f"analysing [{i + 1}/{len(takes)}] {take.scenario}")
        segments = speech_segments(take.agent, vad)
        words = timer.words(take.agent, segments)
        obs = Observed(segments, words, take.responses, take.duration_s)
        result: dict[str, object] = {
            "scenario": take.scenario,
            "category": take.category,
            "variant": take.variant,
            "backend": take.backend,
            "duration_s": round(take.duration_s, 3),
            "max_lag_s": round(take.max_lag_s, 3),
            "parts": [asdict(p) for p in take.parts],
            "agent_segments": segments,
            "agent_words": [asdict(w) for w in words],
            "agent_text": " ".join(w.text for w in words),
            "responses": [asdict(r) for r in take.responses],
            "events": take.events,
            "verdict": _rounded(judge(take, obs)),
        }
        (out / "takes" / take.scenario).mkdir(parents=True, exist_ok=True)
        (out / "takes" / take.scenario / "analysis.json").write_text(json.dumps(result, indent=1))
        results.append(result)
    return results


def load_takes(folder: Path) -> list[Take]:
    """Takes recorded earlier (``--analyse-only``), in scenario order."""
    root = folder / "takes"
    dirs = sorted(d for d in root.iterdir() if (d / "take.json").is_file()) if root.is_dir() else []
    if not dirs:
        raise FileNotFoundError(f"no recorded takes under {folder / 'takes'}")
    return [Take.load(d) for d in dirs]


def _rounded(d: dict[str, object]) -> dict[str, object]:
    def r(v: object) -> object:
        if isinstance(v, float):
            return round(v, 3)
        if isinstance(v, list | tuple):
            return [r(x) for x in v]
        return v

    return {k: r(v) for k, v in d.items()}
