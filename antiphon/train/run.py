"""One training run from a config: join the process group (under torchrun), build the task,
train, export. Used by the CLI and by tests in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from antiphon.train.config import TrainConfig
from antiphon.train.distributed import init_distributed, shutdown


def run_training(
    cfg: TrainConfig,
    out_dir: str | Path | None = None,
    resume: bool = True,
    stop_at: int | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Train ``cfg`` (kind "codec" or "lm") into ``out_dir`` (default ``run.out_dir``);
    ``deadline``: see ``Trainer.fit``."""
    from antiphon.train.trainer import Trainer

    env = init_distributed(cfg.run.device)
    out = Path(out_dir or cfg.run.out_dir)
    try:
        task: Any
        if cfg.kind == "codec":
            from antiphon.train.codec_task import CodecTask

            task = CodecTask(cfg)
        else:
            from antiphon.train.lm_task import LMTask

            task = LMTask(cfg, env, out)
        summary = Trainer(cfg, task, env, out).fit(
            resume=resume, stop_at=stop_at, deadline=deadline
        )
        summary["rank"] = env.rank
        return summary
    finally:
        shutdown()
