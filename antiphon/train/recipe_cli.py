"""``antiphon train tiny``: data -> codec -> encode -> LM -> export -> eval in one command
(``make train-tiny``)."""

from __future__ import annotations

import argparse
import json
import sys


def add_tiny_parser(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser(
        "tiny",
        help="the tiny recipe: synthetic data, codec, LM, export, evaluation (<= 60 min on 2 CPUs)",
    )
    q.add_argument("--out", default="runs/tiny", help="run folder (default runs/tiny)")
    q.add_argument(
        "--micro", action="store_true", help="the same pipeline at toy scale (minutes; CI)"
    )
    q.add_argument(
        "--gpu", action="store_true", help="the scaled-up recipe for one GPU (-gpu configs)"
    )
    q.add_argument("--ship", metavar="DIR", help="copy the finished model folder here")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: all cores)")
    q.add_argument("--no-eval", action="store_true", help="stop after the export")
    q.add_argument(
        "--until",
        choices=["data", "codec", "encode", "lm", "export", "eval"],
        help="stop after this stage (run again without it to go on)",
    )
    q.set_defaults(func=_tiny)


def _tiny(args: argparse.Namespace) -> int:
    import os

    import torch

    from antiphon.data.manifest import ManifestError
    from antiphon.data.voices import VoiceError
    from antiphon.models import ModelNotFound
    from antiphon.nn.checkpoint import CheckpointError
    from antiphon.train.config import TrainConfigError
    from antiphon.train.recipe import SCALES, Recipe, RecipeError, check_configs

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.micro and args.gpu:
        print("train tiny: --micro and --gpu exclude each other", file=sys.stderr)
        return 2
    scale = SCALES["micro" if args.micro else "gpu" if args.gpu else "full"]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        check_configs(scale)
        recipe = Recipe(args.out, scale, args.seed, log)
        state = recipe.run(args.ship, skip_eval=args.no_eval, until=args.until)
    except (
        RecipeError,
        TrainConfigError,
        ManifestError,
        CheckpointError,
        VoiceError,
        ModelNotFound,
    ) as exc:
        print(f"train tiny: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"train tiny: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: v.get("seconds") for k, v in state["stages"].items()}, indent=2))
    report = recipe.out / "eval" / "report.md"
    if report.is_file():
        print(report.read_text())
    return 0
