"""``antiphon train tiny``: the whole tiny recipe in one command, stage by stage.

data (synthetic dialogues) -> codec -> encode (LM codes) -> LM -> export (the folder
``E2EStack.load`` reads, with logs) -> eval (report.md/json). Each stage writes its outputs
into the run folder and is recorded in ``recipe.json`` when it has finished, so a re-run
skips finished stages and an interrupted training stage resumes from its checkpoint. Each
training stage also has a wall-clock budget (``Trainer.fit``'s deadline): past it, the
stage ends with the weights it has, so the recipe as a whole never overruns.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from antiphon.data.layout import TimingConfig
from antiphon.train.config import TrainConfig, TrainConfigError, parse_config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "train"
STATE = "recipe.json"
STAGES = ("data", "codec", "encode", "lm", "export", "eval")

# The duplex bench's user voices (antiphon/bench/duplex/voices.py): piper's joe at several
# rates (the per-turn speed 0.85-1.15 covers its 1/1.15-1/0.88 length scales), flite, espeak-ng.
USER_VOICES = (
    "piper:joe",
    "flite:slt",
    "flite:rms",
    "flite:awb",
    "espeak:en-us+f3",
    "espeak:en-us",
)
# Turn-taking a small model can learn: the other party answers only after 1.2-2.0 s of
# silence, and pauses inside a turn (the comma's silence stretched, as in the bench's pause
# scenarios) last 0.35-1.0 s, so silence length alone tells a pause from a turn end (the
# bench's pauses are 0.4-1.0 s). No overlaps, interruptions or backchannels: the agent
# never talks while the user holds the floor, and every user turn gets an answer.
TIMING = TimingConfig(
    gap_median_s=1.5,
    gap_sigma=0.15,
    gap_range_s=(1.2, 2.0),
    p_overlap=0.0,
    p_interrupt=0.0,
    p_backchannel=0.0,
    p_pause=0.5,
    pause_s=(0.35, 1.0),
    pause_style="stretch",
    speed=(0.85, 1.15),
)


@dataclass(frozen=True)
class Scale:
    name: str
    dialogues: int
    heldout_fraction: float
    codec_config: str  # file name in configs/train/
    lm_config: str
    budget_s: dict[str, float]  # wall-clock limit per stage
    codec_utterances: int  # held-out utterances for STOI / WER
    bench_per_category: int  # duplex bench scenarios per category (pause, turn_taking)
    exchanges: int  # held-out user turns the model answers in the report
    max_mb: float = 50.0  # the exported folder's size limit (the repo ships the CPU one)
    # "mel": the mel codec rendered by the pretrained vocoder's student (antiphon.codec.
    # mel_recipe); "seanet": the waveform-decoder codec trained from scratch (codec_config)
    codec_kind: str = "mel"


SCALES = {
    # 600 dialogues: with 150 the LM learnt its 135 by heart (train text words 99.8 % right,
    # held-out 35 % and its held-out loss rising from step 650); with 600, held-out 73-76 %
    # (docs/training.md). The codec still learns from the first 150 (MelStagePlan.dialogues).
    "full": Scale(
        "full", 600, 0.1, "recipe-tiny-codec.toml", "recipe-tiny-lm.toml",
        {"data": 480, "codec": 1700, "encode": 150, "lm": 840, "export": 30, "eval": 400},
        32, 10, 10,
    ),
    # one GPU: 10x the data, the -gpu configs; its model is larger than the shipped one
    "gpu": Scale(
        "gpu", 1500, 0.05, "recipe-tiny-codec-gpu.toml", "recipe-tiny-lm-gpu.toml",
        {"data": 4 * 3600, "codec": 4 * 3600, "encode": 1800, "lm": 4 * 3600, "export": 120,
         "eval": 1800},
        64, 40, 10, 500.0, "seanet",
    ),
    "micro": Scale(
        "micro", 4, 0.25, "recipe-micro-codec.toml", "recipe-micro-lm.toml",
        {"data": 120, "codec": 60, "encode": 30, "lm": 60, "export": 10, "eval": 120},
        2, 1, 2,
    ),
}  # fmt: skip


class RecipeError(RuntimeError):
    """A run folder or setting the recipe cannot use (names the file or option)."""


Log = Callable[[str], None]


class Recipe:
    def __init__(self, out: str | Path, scale: Scale, seed: int = 0, log: Log = print) -> None:
        self.out, self.scale, self.seed, self.log = Path(out), scale, seed, log
        self.out.mkdir(parents=True, exist_ok=True)
        self.state = self._read_state()

    # ---- state ------------------------------------------------------------------------------
    def _read_state(self) -> dict[str, Any]:
        path = self.out / STATE
        if not path.is_file():
            return {"scale": self.scale.name, "seed": self.seed, "stages": {}}
        try:
            state = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RecipeError(f"{path}: not valid JSON ({exc}); delete it to start over") from exc
        if (state.get("scale"), state.get("seed")) != (self.scale.name, self.seed):
            raise RecipeError(
                f"{path}: this folder holds a {state.get('scale')!r} run with seed"
                f" {state.get('seed')}, not {self.scale.name!r} with seed {self.seed};"
                " use another --out"
            )
        return dict(state)

    def _save_state(self) -> None:
        tmp = self.out / (STATE + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=2) + "\n")
        tmp.replace(self.out / STATE)

    def done(self, stage: str) -> bool:
        return bool(self.state["stages"].get(stage, {}).get("done"))

    # ---- paths ------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.out / "data"

    @property
    def codec_file(self) -> Path:
        return self.out / "codec" / "export" / "mimi.safetensors"

    @property
    def model_dir(self) -> Path:
        return self.out / "model"

    # ---- running ----------------------------------------------------------------------------
    def run(
        self, ship: str | Path | None = None, skip_eval: bool = False, until: str | None = None
    ) -> dict[str, Any]:
        steps: dict[str, Callable[[float], dict[str, Any]]] = {
            "data": self.stage_data,
            "codec": self.stage_codec,
            "encode": self.stage_encode,
            "lm": lambda d: self._train("lm", d),
            "export": self.stage_export,
            "eval": self.stage_eval,
        }
        for name in STAGES:
            if name == "eval" and skip_eval:
                continue
            if self.done(name):
                self.log(f"[tiny] {name}: done earlier, skipped")
                if name == until:
                    return self.state
                continue
            budget = self.scale.budget_s[name]
            self.log(f"[tiny] {name}: starting (budget {budget:.0f} s)")
            t0 = time.monotonic()
            info = steps[name](t0 + budget)
            seconds = round(time.monotonic() - t0, 1)
            before = float(self.state["stages"].get(name, {}).get("seconds", 0.0))
            self.state["stages"][name] = {
                "done": True,
                "seconds": round(before + seconds, 1),
                **info,
            }
            self._save_state()
            self.log(f"[tiny] {name}: done in {seconds:.0f} s")
            if name == until:
                return self.state
        if ship is not None:
            self.ship(Path(ship))
        return self.state

    def stage_data(self, deadline: float) -> dict[str, Any]:
        from antiphon.data.synth import SynthConfig, synth_dataset

        cfg = SynthConfig(
            dialogues=self.scale.dialogues,
            seed=self.seed,
            heldout_fraction=self.scale.heldout_fraction,
            alignment="proportional",  # Whisper timing costs minutes; chars are close enough
            user_voices=USER_VOICES,
            timing=TIMING,
        )
        import torch

        # one process per core: synthesis runs one thread per dialogue
        workers = max(1, torch.get_num_threads())
        summary = synth_dataset(self.data_dir, cfg, progress=False, workers=workers)
        return {"hours": summary["hours"], "dialogues": summary["dialogues"]}

    def config(self, kind: str) -> TrainConfig:
        """The scale's config file with this run's paths filled in."""
        name = self.scale.codec_config if kind == "codec" else self.scale.lm_config
        path = CONFIGS / name
        if not path.is_file():
            raise RecipeError(f"recipe config not found: {path}")
        cfg = parse_config(path.read_text(encoding="utf-8"), kind, str(path))  # type: ignore[arg-type]
        data = replace(cfg.data, dataset=str(self.data_dir))
        if kind == "lm":
            data = replace(data, codec=str(self.codec_file))
        run = replace(cfg.run, out_dir=str(self.out / kind), seed=self.seed, progress=False)
        return replace(cfg, data=data, run=run)

    def _train(self, kind: str, deadline: float) -> dict[str, Any]:
        from antiphon.train.run import run_training

        summary = run_training(self.config(kind), self.out / kind, True, None, deadline)
        if summary["export"] is None:
            raise RecipeError(f"{kind} training ended without an export (see {self.out / kind})")
        return {
            "step": summary["step"],
            "timed_out": bool(summary.get("timed_out")),
            "eval": summary["eval"],
        }

    def stage_codec(self, deadline: float) -> dict[str, Any]:
        if self.scale.codec_kind == "seanet":
            return self._train("codec", deadline)
        from antiphon.codec.mel_recipe import MICRO_PLAN, micro_config, run_mel_codec_stage

        micro = self.scale.name == "micro"
        return run_mel_codec_stage(
            self.data_dir,
            self.out / "codec",
            deadline,
            MICRO_PLAN if micro else None,
            micro_config() if micro else None,
            log=self.log,
        )

    def stage_encode(self, deadline: float) -> dict[str, Any]:
        from antiphon.train.lm_data import encode_dataset

        folder, n = encode_dataset(self.data_dir, self.codec_file, "")
        return {"dialogues": n, "cache": str(folder)}

    def stage_export(self, deadline: float) -> dict[str, Any]:
        """The LM export (model, config, tokenizer, codec) + training logs + the recipe's
        settings, in one folder."""
        src = self.out / "lm" / "export"
        if self.model_dir.exists():
            shutil.rmtree(self.model_dir)
        shutil.copytree(src, self.model_dir)
        logs = self.model_dir / "logs"
        logs.mkdir()
        for kind in ("codec", "lm"):
            for part in ("train", "eval"):
                csv = self.out / kind / f"{part}.csv"
                if csv.is_file():
                    shutil.copyfile(csv, logs / f"{kind}-{part}.csv")
            shutil.copyfile(self.out / kind / "config.toml", logs / f"{kind}-config.toml")
        for extra in ("student-train.csv", "finetune-train.csv"):  # the mel codec's vocoder
            if (self.out / "codec" / extra).is_file():
                shutil.copyfile(self.out / "codec" / extra, logs / f"codec-{extra}")
        (logs / "data-summary.json").write_text((self.data_dir / "summary.json").read_text())
        mb = folder_mb(self.model_dir)
        if mb > self.scale.max_mb:
            raise RecipeError(
                f"{self.model_dir} is {mb:.1f} MB, over the {self.scale.max_mb} MB limit"
            )
        return {"megabytes": round(mb, 2)}

    def stage_eval(self, deadline: float) -> dict[str, Any]:
        from antiphon.train.recipe_eval import evaluate

        report = evaluate(self, deadline)
        return {"bar_met": report["bar_met"]}

    def ship(self, dest: Path) -> None:
        """Copy the model folder (with logs and report) to ``dest``, replacing it."""
        if not (self.model_dir / "config.json").is_file():
            raise RecipeError(f"nothing to ship: {self.model_dir} has no model yet")
        (self.model_dir / "logs" / STATE).write_text(json.dumps(self.state, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.model_dir, dest)
        self.log(f"[tiny] shipped {dest} ({folder_mb(dest):.1f} MB)")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def scale_settings(scale: Scale) -> dict[str, Any]:
    return {"scale": asdict(scale), "timing": asdict(TIMING), "user_voices": list(USER_VOICES)}


def check_configs(scale: Scale) -> None:
    """Fail before minutes of data synthesis if a config file does not parse."""
    for kind, name in (("codec", scale.codec_config), ("lm", scale.lm_config)):
        path = CONFIGS / name
        if not path.is_file():
            raise RecipeError(f"recipe config not found: {path}")
        try:
            parse_config(path.read_text(encoding="utf-8"), kind, str(path))  # type: ignore[arg-type]
        except TrainConfigError as exc:
            raise RecipeError(str(exc)) from exc
