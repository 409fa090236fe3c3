"""The duplex benchmark runs unchanged against the end-to-end brain (tiny random model):
in process through the session interface, one turn-taking and one interruption scenario."""

from __future__ import annotations

import json
from pathlib import Path

from antiphon.bench.duplex import bench
from antiphon.bench.duplex.link import e2e_link
from antiphon.bench.duplex.scenarios import load_set


def test_bench_duplex_in_process_on_the_e2e_brain(tiny_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scenarios = load_set(1, ["turn_taking", "interruption"], seed=6, root=tmp_path / "cache")
    rep = bench.run(
        lambda: e2e_link(tiny_stack),
        scenarios,
        tmp_path / "out",
        seed=6,
        html=False,
        progress=lambda _m: None,
    )
    assert rep["takes"] == 2
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(saved["summary"]) == ["turn_taking", "interruption"]
    agent = tmp_path / "out" / "takes" / "turn_taking-000" / "agent.wav"
    assert agent.is_file() and agent.stat().st_size > 16000  # the model spoke (>0.5 s at 16 kHz)
