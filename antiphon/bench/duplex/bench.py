"""One benchmark run end to end: record every scenario, read the takes, write the report
(JSON, markdown, pictures, and optionally a self-contained HTML page)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

from antiphon.bench.duplex import plots, report
from antiphon.bench.duplex.link import Link
from antiphon.bench.duplex.runner import Progress, analyse, load_takes, record_all
from antiphon.bench.duplex.scenarios import VERSION, Scenario
from antiphon.bench.duplex.take import Take


def run(
    make_link: Callable[[], Link],
    scenarios: list[Scenario],
    out: Path,
    seed: int,
    html: bool = False,
    progress: Progress = print,
) -> dict[str, object]:
    t0 = time.monotonic()
    takes = asyncio.run(record_all(make_link, scenarios, out, progress))
    return finish(takes, out, seed, time.monotonic() - t0, html, progress)


def reanalyse(
    out: Path, seed: int, html: bool = False, progress: Progress = print
) -> dict[str, object]:
    """Analyse takes recorded earlier in ``out`` again (after a change to the rules)."""
    takes = load_takes(out)
    previous = out / "report.json"
    record_s = json.loads(previous.read_text()).get("record_s", 0.0) if previous.is_file() else 0.0
    return finish(takes, out, seed, float(record_s), html, progress)


def finish(
    takes: list[Take], out: Path, seed: int, record_s: float, html: bool, progress: Progress
) -> dict[str, object]:
    t0 = time.monotonic()
    results = analyse(takes, out, progress)
    summary = report.summarize(results)
    rep: dict[str, object] = {
        "backend": takes[0].backend if takes else "",
        "scenario_version": VERSION,
        "seed": seed,
        "takes": len(takes),
        "record_s": round(record_s, 1),
        "analyse_s": 0.0,
        "summary": summary,
        "targets": report.check_targets(summary),
        "ours": report.ours_row(summary),
        "results": results,
    }
    progress("drawing pictures")
    figs = out / "figures"
    (figs / "timelines").mkdir(parents=True, exist_ok=True)
    for take, res in zip(takes, results, strict=True):
        plots.timeline(res, figs / "timelines" / f"{take.scenario}.png", take.user, take.agent)
    plots.histograms(results, figs / "latency.png")
    plots.versus_published(rep["ours"], figs / "versus_published.png")  # type: ignore[arg-type]
    rep["analyse_s"] = round(time.monotonic() - t0, 1)
    report.write(rep, out)
    if html:
        from antiphon.bench.duplex.html import page

        page(rep, out)
    return rep
