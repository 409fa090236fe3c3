"""A tiny real run of `antiphon bench quality`: the fast chat model (smollm2), real ASR and
TTS, real time, one item of each English kind, in process and against a Realtime server.
It checks the report's shape and that its figures are computed from this run's rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from antiphon.cli import build_parser

pytestmark = [pytest.mark.models, pytest.mark.slow]
WAIT = "40"  # generous: shared CI cores can be slow; an idle box replies within ~1 s


def _check_figures(backend: dict) -> None:
    rows, s = backend["rows"], backend["summary"]
    assert s["items"] == len(rows)
    general = [r for r in rows if r["kind"] == "general"]
    assert s["answer_accuracy"] == pytest.approx(np.mean([bool(r["correct"]) for r in general]))
    tools = [r for r in rows if r["kind"] == "tools"]
    assert s["tool_right_rate"] == pytest.approx(np.mean([bool(r["tool_right"]) for r in tools]))
    plain = [r for r in rows if r["kind"] == "plain"]
    if plain:
        got = s["false_call_rate_plain"]
        assert got == pytest.approx(np.mean([bool(r["calls"]) for r in plain]))
    else:
        assert "false_call_rate_plain" not in s
    words = sum(r["asr_words"] for r in rows)
    assert s["wer_synthetic"] == pytest.approx(sum(r["asr_edits"] for r in rows) / words, abs=1e-4)
    v2v = [r["voice_to_voice_ms"] for r in rows if r["voice_to_voice_ms"] is not None]
    assert v2v, "at least one reply was heard"
    assert s["v2v_p50_ms"] == pytest.approx(np.percentile(v2v, 50), abs=0.1)
    for r in rows:
        assert r["heard"], f"{r['id']}: the user's words were transcribed"
    out = [r["stages"]["first_audio_out_ms"] for r in rows if "first_audio_out_ms" in r["stages"]]
    assert out, "the server's own stage marks came with the replies"
    assert s["stage_first_audio_out_ms"] == pytest.approx(np.percentile(out, 50), abs=0.1)
    assert {t["figure"] for t in backend["targets"]} >= {"answer_accuracy", "tool_right_rate"}
    assert set(backend["per_voice"]) == {r["voice"] for r in rows}


def test_in_process_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "q"
    args = build_parser().parse_args(
        ["bench", "quality", "--llm", "smollm2", "--limit", "1", "--split", "tune",
         "--voices", "flite:slt,festival:slt_hts", "--out", str(out), "--html", "--wait", WAIT]
    )  # fmt: skip
    assert args.func(args) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["split"] == "tune" and rep["kinds"] == ["general", "tools", "plain"]
    ((name, backend),) = rep["backends"].items()
    assert name.startswith("smollm2")
    assert [r["kind"] for r in backend["rows"]] == ["general", "tools", "plain"]
    assert [r["voice"] for r in backend["rows"]] == ["flite:slt", "festival:slt_hts", "flite:slt"]
    _check_figures(backend)
    assert backend["human_asr"]["all human"]["clips"] == 1  # --limit 1
    assert backend["summary"]["wer_human"] == backend["human_asr"]["all human"]["wer"]
    md = (out / "report.md").read_text()
    assert "answer accuracy (general)" in md and "ASR on human recordings" in md
    assert "<table>" in (out / "report.html").read_text()
    assert "report.md" in capsys.readouterr().out


@pytest.fixture(scope="module")
def small_server() -> Iterator[str]:
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.stack import CascadeStack
    from antiphon.server.config import ServerConfig
    from antiphon.server.context import cascade_context
    from antiphon.server.runner import BackgroundServer

    stack = CascadeStack(CascadeConfig(llm="smollm2", max_tokens=40))
    with BackgroundServer(cascade_context(stack, ServerConfig())) as srv:
        yield srv.ws_url + "/v1/realtime"


def test_realtime_url_run(small_server: str, tmp_path: Path) -> None:
    out = tmp_path / "q"
    args = build_parser().parse_args(
        ["bench", "quality", "--url", small_server + "?x_antiphon=1", "--kinds", "general,tools", "--limit", "1",
         "--voices", "flite:awb", "--out", str(out), "--wait", WAIT]
    )  # fmt: skip
    assert args.func(args) == 0
    rep = json.loads((out / "report.json").read_text())
    ((name, backend),) = rep["backends"].items()
    assert name == small_server + "?x_antiphon=1" and len(backend["rows"]) == 2
    _check_figures(backend)
    # the human recording went through the server's own recognizer (manual commit)
    assert backend["human_asr"]["all human"]["clips"] == 1
    assert backend["summary"]["wer_human"] < 1.0  # the words came back, not an empty transcript
    assert {t["figure"] for t in backend["targets"]} >= {"wer_human"}


def test_bad_arguments_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["--kinds", "general,weather"], "unknown kinds ['weather']"),
        (["--voices", "piper"], "the agent's own voice"),
        (["--language", "zh", "--kinds", "general"], "--language zh runs the zh kind"),
        (["--llm", "gpt5", "--limit", "1"], "unknown --llm 'gpt5'"),
    ):
        args = build_parser().parse_args(["bench", "quality", "--out", str(tmp_path), *argv])
        assert args.func(args) == 2
        assert message in capsys.readouterr().err
