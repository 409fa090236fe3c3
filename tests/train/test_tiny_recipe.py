"""The tiny recipe end to end at toy scale (``antiphon train tiny --micro``): every stage
runs, the exported folder serves as the end-to-end brain, the report has every figure of
the quality bar, and a second run skips the finished stages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from antiphon.cli import main
from antiphon.train.recipe import STAGES, STATE
from antiphon.train.recipe_eval import BAR


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny")
    out, ship = root / "run", root / "ship"
    argv = ["train", "tiny", "--micro", "--threads", "1", "--out", str(out), "--ship", str(ship)]
    assert main(argv) == 0
    return out, ship


def test_micro_recipe_stages_and_report(micro_run: tuple[Path, Path]) -> None:
    out, ship = micro_run
    state = json.loads((out / STATE).read_text())
    assert [s for s in STAGES if state["stages"][s]["done"]] == list(STAGES)
    report = json.loads((ship / "report.json").read_text())
    assert set(report["figures"]) == set(BAR)
    for key in ("codec_stoi", "codec_wer", "pause_takeover", "turn_taking_takeover"):
        value = report["figures"][key]
        assert value is not None and 0.0 <= value <= 5.0, key
    assert np.isfinite(report["figures"]["text_ce_gain_nats"])
    assert report["text"]["tokens"] > 0 and report["codec"]["utterances"] > 0
    assert report["duplex"]["per_category"] >= 1
    ex = report["exchanges"]  # held-out user turns, answered by the model, judged
    assert ex["exchanges"] >= 1 and all(r["user"] for r in ex["rows"])
    assert all(isinstance(r["fits"], bool) for r in ex["rows"])
    for name in ("codec-student-train.csv", "codec-finetune-train.csv"):
        assert (ship / "logs" / name).is_file(), name
    assert (ship / "report.md").read_text().startswith("# Tiny model")
    for name in ("codec-train.csv", "lm-train.csv", "lm-eval.csv", "recipe.json"):
        assert (ship / "logs" / name).is_file(), name
    lm_log = (ship / "logs" / "lm-train.csv").read_text().splitlines()
    assert lm_log[0].startswith("step,") and len(lm_log) > 2
    assert report["model_mb"] < 50


def test_micro_export_runs_as_the_e2e_brain(micro_run: tuple[Path, Path]) -> None:
    import torch

    from antiphon.e2e.stack import E2EStack, FrameEngine

    torch.manual_seed(0)
    stack = E2EStack.load(micro_run[1])
    engine = FrameEngine(stack)
    rng = np.random.default_rng(0)
    outs = [
        engine.step((0.1 * rng.standard_normal(stack.frame_size)).astype(np.float32))
        for _ in range(12)
    ]
    assert all(o.audio.shape == (stack.frame_size,) for o in outs)
    tokens = [o.text_token for o in outs if o.text_token >= 0]
    assert tokens and all(t < stack.lm.config.text_card for t in tokens)
    assert all(isinstance(stack.tokenizer.piece(t), str) for t in tokens)
    assert any(float(np.abs(o.audio).max()) > 0 for o in outs[-4:])


def test_rerun_skips_finished_stages(micro_run: tuple[Path, Path], capsys) -> None:
    out, ship = micro_run
    before = json.loads((out / STATE).read_text())
    argv = ["train", "tiny", "--micro", "--threads", "1", "--out", str(out), "--no-eval"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert all(f"[tiny] {s}: done earlier, skipped" in err for s in STAGES if s != "eval")
    assert json.loads((out / STATE).read_text())["stages"] == before["stages"]


def test_other_scale_in_the_same_folder_is_refused(micro_run: tuple[Path, Path], capsys) -> None:
    out, _ = micro_run
    assert main(["train", "tiny", "--out", str(out), "--no-eval"]) == 2
    assert "holds a 'micro' run" in capsys.readouterr().err


def test_brain_tiny_resolves_the_env_folder(
    micro_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from antiphon.cli import build_parser
    from antiphon.e2e.tiny import TINY_SAMPLING, tiny_model_dir
    from antiphon.server.main import _e2e, config_from_args

    monkeypatch.setenv("ANTIPHON_TINY_MODEL", str(micro_run[1]))
    assert tiny_model_dir() == micro_run[1]
    args = build_parser().parse_args(["serve", "--brain", "tiny", "--top-k", "7"])
    ctx = _e2e(args, config_from_args(args))
    assert ctx is not None and ctx.model_name == "antiphon-tiny"
    brain = ctx.new_session().brain
    params = brain.stack.params  # type: ignore[attr-defined]
    assert (params.top_k, params.temp) == (7, TINY_SAMPLING.temp)


def test_brain_tiny_missing_folder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("ANTIPHON_TINY_MODEL", str(tmp_path / "nowhere"))
    assert main(["serve", "--brain", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "ANTIPHON_TINY_MODEL" in err and "make train-tiny" in err
