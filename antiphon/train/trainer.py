"""The training loop shared by codec and LM training.

A task (``CodecTask``, ``LMTask``) supplies modules, optimiser groups, batches, the loss, the
evaluation and the export; this loop does the rest: seeding, device placement, DDP/FSDP,
AdamW with warmup + cosine, gradient accumulation, clipping, mixed precision (autocast, and
a GradScaler for fp16) on CUDA, eval and checkpoint intervals, logs, exact resume and the
final export. Checkpoints hold the modules, optimisers, schedulers, scaler, step, data
position and every process's RNG state, so a resumed run takes the same steps as an
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from antiphon.train import distributed as D
from antiphon.train.config import OptimConfig, TrainConfig
from antiphon.train.logs import TrainLogger
from antiphon.train.sampling import ItemRef, ShardedSampler


class Task(Protocol):
    kind: str
    optimizer_groups: dict[str, list[str]]

    @property
    def num_examples(self) -> int: ...
    def build(self, device: torch.device) -> dict[str, nn.Module]: ...
    def batch(self, refs: list[ItemRef], device: torch.device) -> Any: ...
    def loss(
        self, modules: dict[str, nn.Module], batch: Any, env: Any = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...
    def evaluate(self, modules: dict[str, nn.Module], device: torch.device) -> dict[str, float]: ...
    def export(self, states: dict[str, dict[str, Any]], folder: Path) -> Path: ...


def lr_factor(step: int, total: int, o: OptimConfig, at_least: float = 0.0) -> float:
    """Linear warmup to 1, then cosine to ``min_lr_ratio`` (or constant). ``at_least``: a
    floor on the cosine's progress (the wall clock's, when a deadline comes before ``total``)."""
    if o.warmup_steps and step < o.warmup_steps:
        return (step + 1) / o.warmup_steps
    if o.schedule == "constant":
        return 1.0
    progress = min(1.0, (step - o.warmup_steps) / max(1, total - o.warmup_steps))
    progress = max(progress, min(1.0, at_least))
    return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class DeadlineClock:
    """How far a run with a wall-clock deadline is through its post-warmup time, so that the
    cosine reaches its floor when time runs out even if ``run.steps`` would not (a run cut at
    3990 of 5200 steps had annealed to only 18 % of its peak rate, not to the floor). A small
    share of the span is kept for the final evaluation, checkpoint and export."""

    RESERVE = 0.03

    def __init__(self, deadline: float, warmup_steps: int) -> None:
        self.deadline, self.warmup_steps = deadline, warmup_steps
        self.start: float | None = None  # when warmup ended (or this fit began past it)

    def read(self, step: int) -> tuple[bool, float]:
        """(past the deadline, schedule progress) on this process's clock."""
        now = time.monotonic()
        return now >= self.deadline, self.progress(now, step)

    def progress(self, now: float, step: int) -> float:
        if step < self.warmup_steps:
            return 0.0
        if self.start is None:
            self.start = now
        span = (self.deadline - self.start) * (1 - self.RESERVE)
        return 1.0 if span <= 0 else (now - self.start) / span


def _adamw(params: list[nn.Parameter], o: OptimConfig) -> torch.optim.AdamW:
    # no weight decay on gains, biases and other 1-d parameters (the usual transformer recipe)
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": o.weight_decay}]
    if rest:
        groups.append({"params": rest, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, eps=o.eps)


class Trainer:
    def __init__(self, cfg: TrainConfig, task: Task, env: D.DistEnv, out_dir: Path) -> None:
        self.cfg, self.task, self.env, self.out = cfg, task, env, out_dir
        self.mode = cfg.run.distributed if env.enabled else "none"
        if self.mode == "fsdp" and task.kind != "lm":
            raise ValueError("run.distributed='fsdp' is for LM training; train the codec with ddp")
        self.device = env.device
        self.amp_dtype: torch.dtype | None = None
        if cfg.run.precision != "fp32":
            if self.device.type == "cuda":
                self.amp_dtype = torch.bfloat16 if cfg.run.precision == "bf16" else torch.float16
            elif env.is_main:
                print(
                    f"train: precision={cfg.run.precision} needs CUDA; using fp32 on CPU",
                    file=sys.stderr,
                )
        torch.manual_seed(cfg.run.seed)  # same initial weights in every process
        modules = {k: m.to(self.device) for k, m in task.build(self.device).items()}
        self.modules = {k: D.wrap(m, env, self.mode) for k, m in modules.items()}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.params: dict[str, list[nn.Parameter]] = {}
        for name, members in task.optimizer_groups.items():
            params = [
                p
                for m in members
                if m in self.modules
                for p in self.modules[m].parameters()
                if p.requires_grad  # frozen parts (a frozen text backbone) stay out
            ]
            if params:
                self.params[name] = params
                self.optimizers[name] = _adamw(params, cfg.optim)

        self.clock_progress = 0.0  # set by fit() when it has a deadline

        def factor(step: int) -> float:
            return lr_factor(step, cfg.run.steps, cfg.optim, self.clock_progress)

        self.schedulers = {
            k: torch.optim.lr_scheduler.LambdaLR(o, factor) for k, o in self.optimizers.items()
        }
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.amp_dtype == torch.float16 and self.device.type == "cuda"
        )
        self.sampler = ShardedSampler(task.num_examples, cfg.run.seed, env.rank, env.world)
        torch.manual_seed(cfg.run.seed + 7919 * env.rank)  # per-process stream from here on
        self.step = 0
        self.position = 0  # items of the stream consumed (all processes together)

    # ---- checkpoints ------------------------------------------------------------------------
    @property
    def ckpt_dir(self) -> Path:
        return self.out / "checkpoints"

    def _rng_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def save_checkpoint(self) -> Path | None:
        rngs = D.all_gather_objects(self.env, self._rng_state())
        state = {
            "kind": self.task.kind,
            "step": self.step,
            "position": self.position,
            "world": self.env.world,
            "config": self.cfg.text,
            "modules": {
                k: D.full_state_dict(m, self.env, self.mode) for k, m in self.modules.items()
            },
            "optimizers": {
                k: D.optimizer_state(self._owner(k), o, self.env, self.mode)
                for k, o in self.optimizers.items()
            },
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "rng": rngs,
        }
        path = None
        if self.env.is_main:
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
            path = self.ckpt_dir / f"step_{self.step:08d}.pt"
            tmp = path.with_suffix(".tmp")
            torch.save(state, tmp)
            tmp.replace(path)
            (self.ckpt_dir / "latest").write_text(path.name + "\n")
            for old in sorted(self.ckpt_dir.glob("step_*.pt"))[: -self.cfg.run.keep_checkpoints]:
                old.unlink()
        D.barrier(self.env)
        return path

    def _owner(self, group: str) -> nn.Module:
        """The module an optimiser group trains (FSDP state dicts need it; one per group)."""
        members = [m for m in self.task.optimizer_groups[group] if m in self.modules]
        return self.modules[members[0]]

    def latest_checkpoint(self) -> Path | None:
        marker = self.ckpt_dir / "latest"
        if not marker.is_file():
            return None
        path = self.ckpt_dir / marker.read_text().strip()
        return path if path.is_file() else None

    def load_checkpoint(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("kind") != self.task.kind:
            raise ValueError(f"{path} is a {state.get('kind')} checkpoint, not {self.task.kind}")
        for k, m in self.modules.items():
            D.load_full_state_dict(m, state["modules"][k], self.env, self.mode)
        for k, o in self.optimizers.items():
            D.load_optimizer_state(self._owner(k), o, state["optimizers"][k], self.env, self.mode)
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.position = int(state["step"]), int(state["position"])
        rngs = state["rng"]
        if state["world"] == self.env.world:  # another world size: fresh per-process streams
            torch.set_rng_state(rngs[self.env.rank]["torch"])
            if "cuda" in rngs[self.env.rank] and self.device.type == "cuda":
                torch.cuda.set_rng_state(rngs[self.env.rank]["cuda"], self.device)

    # ---- the loop ---------------------------------------------------------------------------
    def _no_sync(self, last: bool) -> contextlib.ExitStack:
        """Skip gradient all-reduce on all but the last micro-batch of an accumulation."""
        stack = contextlib.ExitStack()
        for m in self.modules.values():
            if isinstance(m, nn.parallel.DistributedDataParallel) and not last:
                stack.enter_context(m.no_sync())
            elif self.mode == "fsdp":
                from torch.distributed.fsdp import FSDPModule  # seconds to import: only here

                if isinstance(m, FSDPModule):
                    m.set_requires_gradient_sync(last)
        return stack

    def train_step(self) -> dict[str, float]:
        r = self.cfg.run
        for m in self.modules.values():
            m.train()
        sums: dict[str, float] = {}
        for micro in range(r.grad_accum):
            refs = self.sampler.local_items(self.position, r.batch_size)
            self.position += r.batch_size
            batch = self.task.batch(refs, self.device)
            with self._no_sync(micro == r.grad_accum - 1):
                with torch.autocast(
                    self.device.type,
                    dtype=self.amp_dtype or torch.float32,
                    enabled=self.amp_dtype is not None,
                ):
                    loss, logs = self.task.loss(self.modules, batch, self.env)
                self.scaler.scale(loss / r.grad_accum).backward()
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + float(v) / r.grad_accum
        for name, opt in self.optimizers.items():
            self.scaler.unscale_(opt)
            if self.cfg.optim.grad_clip > 0:
                norm = torch.nn.utils.clip_grad_norm_(self.params[name], self.cfg.optim.grad_clip)
                if self.mode == "fsdp":  # the norm of sharded gradients is a DTensor
                    from torch.distributed.tensor import DTensor

                    if isinstance(norm, DTensor):
                        norm = norm.full_tensor()
                sums[f"grad_norm_{name}"] = float(norm)
            self.scaler.step(opt)
        self.scaler.update()
        for name, opt in self.optimizers.items():
            opt.zero_grad(set_to_none=True)
            sums[f"lr_{name}"] = float(self.schedulers[name].get_last_lr()[0])
            self.schedulers[name].step()
        self.step += 1
        return sums

    def _mean_logs(self, logs: dict[str, float]) -> dict[str, float]:
        gathered = D.all_gather_objects(self.env, logs)
        return {k: sum(g[k] for g in gathered) / len(gathered) for k in logs}

    def evaluate(self) -> dict[str, float]:
        if self.mode == "fsdp":  # sharded weights: every process takes part
            return self.task.evaluate(self.modules, self.device)
        result: dict[str, float] = {}
        if self.env.is_main:
            plain = {k: D.unwrap(m) for k, m in self.modules.items()}
            result = self.task.evaluate(plain, self.device)
        return result

    def fit(
        self, resume: bool = True, stop_at: int | None = None, deadline: float | None = None
    ) -> dict[str, Any]:
        """Train to ``run.steps`` (continuing from the run folder's latest checkpoint when
        ``resume``), then export. ``stop_at``: leave after that step with a checkpoint and
        no export, as an interrupted run would (the same call resumes it). ``deadline``
        (``time.monotonic()`` value): a wall-clock guard; past it the run ends early with a
        checkpoint, an evaluation and an export of the weights it has; the learning-rate cosine
        follows the clock when the deadline would come first (``DeadlineClock``)."""
        r = self.cfg.run
        end = r.steps if stop_at is None else min(stop_at, r.steps)
        timed_out = False
        if self.env.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.toml").write_text(self.cfg.text)
        latest = self.latest_checkpoint() if resume else None
        if latest is not None:
            self.load_checkpoint(latest)
        log = TrainLogger(self.out, self.env.is_main, r.steps, self.step, r.progress)
        last_train: dict[str, float] = {}
        last_eval: dict[str, float] = {}
        clock = None if deadline is None else DeadlineClock(deadline, self.cfg.optim.warmup_steps)
        try:
            while self.step < end:
                logs = self.train_step()
                log.advance()
                # Rank 0's clock decides, so every process stops at the same step (a process
                # that stopped alone would leave the others waiting in a collective) and
                # uses the same learning rate; each host's clock is read against its own
                # deadline (monotonic clocks of different hosts do not compare).
                if clock is not None:
                    timed_out, self.clock_progress = D.broadcast_object(
                        self.env, clock.read(self.step)
                    )
                final = self.step == end or timed_out
                if self.step % r.log_every == 0 or final or self.step == 1:
                    last_train = self._mean_logs(logs)
                    log.log("train", self.step, last_train)
                if (
                    (r.eval_every and self.step % r.eval_every == 0)
                    or self.step == r.steps
                    or timed_out
                ):
                    last_eval = self.evaluate()
                    log.log("eval", self.step, last_eval)
                if (r.checkpoint_every and self.step % r.checkpoint_every == 0) or final:
                    self.save_checkpoint()
                if timed_out:
                    break
        finally:
            log.close()
        export = self.export() if self.step == r.steps or timed_out else None
        return {
            "step": self.step,
            "train": last_train,
            "eval": last_eval,
            "export": export,
            "timed_out": timed_out,
        }

    def export(self) -> Path | None:
        states = {k: D.full_state_dict(m, self.env, self.mode) for k, m in self.modules.items()}
        path = None
        if self.env.is_main:
            folder = self.out / "export"
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            path = self.task.export(states, folder)
        D.barrier(self.env)
        return path
