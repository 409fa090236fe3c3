"""Training logs: CSV files always (``train.csv``, ``eval.csv``), TensorBoard event files when
the ``tensorboard`` package is importable, a tqdm progress bar. Only process 0 writes."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm


class TrainLogger:
    def __init__(
        self, out_dir: Path, enabled: bool, total: int, initial: int, progress: bool
    ) -> None:
        self.out_dir, self.enabled = out_dir, enabled
        self._files: dict[str, tuple[Any, csv.DictWriter]] = {}
        self.tb: Any = None
        if enabled and importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out_dir / "tb"), purge_step=initial or None)
        self.bar = tqdm(
            total=total,
            initial=initial,
            disable=not (enabled and progress),
            desc="train",
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def _writer(self, split: str, keys: list[str]) -> csv.DictWriter:
        if split not in self._files:
            path = self.out_dir / f"{split}.csv"
            header: list[str] | None = None
            if path.is_file() and path.stat().st_size:
                with path.open(newline="") as f:
                    header = next(csv.reader(f), None)
            f = path.open("a", newline="")
            fieldnames = header or ["step", *keys]
            writer = csv.DictWriter(f, fieldnames=fieldnames, restval="", extrasaction="ignore")
            if header is None:
                writer.writeheader()
            self._files[split] = (f, writer)
        return self._files[split][1]

    def log(self, split: str, step: int, values: dict[str, float]) -> None:
        if not self.enabled or not values:
            return
        keys = sorted(values)
        writer = self._writer(split, keys)
        writer.writerow({"step": step, **{k: f"{values[k]:.6g}" for k in keys}})
        self._files[split][0].flush()
        if self.tb is not None:
            for k in keys:
                self.tb.add_scalar(f"{split}/{k}", values[k], step)
        if split == "train" and "loss" in values:
            self.bar.set_postfix(loss=f"{values['loss']:.4g}", refresh=False)
        elif split == "eval":
            summary = ", ".join(f"{k}={values[k]:.4g}" for k in keys[:6])
            self.bar.write(f"eval @ {step}: {summary}")

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
        for f, _ in self._files.values():
            f.close()
        if self.tb is not None:
            self.tb.close()
