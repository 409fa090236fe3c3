"""`antiphon bench all`: the plan (e2e only when its module exists), one failing benchmark
does not stop the report, and the report lists every benchmark."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from antiphon.bench.suite import markdown, plan, run_one


def test_plan_runs_every_benchmark_at_quick_size(tmp_path: Path) -> None:
    steps = dict(plan(tmp_path, quick=True))
    assert steps["latency"] == [
        "bench",
        "latency",
        "--questions",
        "4",
        "--json",
        str(tmp_path / "latency.json"),
    ]
    assert steps["duplex"][:4] == ["bench", "duplex", "--per-category", "2"]
    assert steps["codec"] == ["bench", "codec", "--quick"]
    has_e2e = importlib.util.find_spec("antiphon.bench.e2e") is not None
    assert (steps["e2e"] is not None) == has_e2e


def test_a_failing_benchmark_is_reported_not_raised(capsys) -> None:  # type: ignore[no-untyped-def]
    rc, _ = run_one(
        [
            "bench",
            "duplex",
            "--per-category",
            "0",
            "--categories",
            "pause",
            "--url",
            "ws://127.0.0.1:9/",
        ]
    )
    assert rc == 2
    assert "at least 1" in capsys.readouterr().err


def test_report_lists_each_benchmark() -> None:
    results = {
        "latency": {
            "status": "ok",
            "rc": 0,
            "seconds": 1.0,
            "output": "p50 900 ms",
            "command": "antiphon bench latency",
        },
        "e2e": {"status": "not available", "rc": None, "seconds": 0.0, "output": ""},
    }
    md = markdown(results, quick=True)
    assert "| latency | ok | 1.0 |" in md and "| e2e | not available | 0.0 |" in md
    assert "p50 900 ms" in md
