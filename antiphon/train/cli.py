"""``antiphon train codec|lm CONFIG.toml`` (also under ``torchrun``) and
``antiphon train encode DATASET --codec CKPT`` (precompute the LM's codes)."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train the Mimi codec or the speech LM")
    sub = p.add_subparsers(dest="train_command", required=True)
    for kind, text in (("codec", "train a Mimi codec"), ("lm", "train a Moshi-family LM")):
        q = sub.add_parser(kind, help=f"{text} from a TOML config (see configs/train/)")
        q.add_argument("config", help="TOML file")
        q.add_argument("--out", help="run folder (default: run.out_dir of the config)")
        q.add_argument(
            "--no-resume", action="store_true", help="ignore checkpoints already in the run folder"
        )
        q.add_argument(
            "--stop-at", type=int, metavar="STEP",
            help="stop after this step with a checkpoint (run again to continue)",
        )  # fmt: skip
        q.set_defaults(func=_train, kind=kind)
    from antiphon.train.recipe_cli import add_tiny_parser

    add_tiny_parser(sub)
    q = sub.add_parser("encode", help="encode a dataset's dialogues into cached codec codes")
    q.add_argument("dataset", help="dataset folder (manifest.jsonl + audio/)")
    q.add_argument("--codec", required=True, help="Mimi checkpoint (.safetensors)")
    q.add_argument("--cache-dir", default="", help="default: DATASET/.codes")
    q.add_argument("--device", default="cpu")
    q.set_defaults(func=_encode)


def _errors() -> tuple[type[BaseException], ...]:
    from antiphon.data.manifest import ManifestError
    from antiphon.nn.checkpoint import CheckpointError
    from antiphon.train.config import TrainConfigError

    return (TrainConfigError, ManifestError, CheckpointError, FileNotFoundError, ValueError)


def _train(args: argparse.Namespace) -> int:
    from antiphon.train.config import load_config
    from antiphon.train.run import run_training

    try:
        cfg = load_config(args.config, args.kind)
        summary = run_training(cfg, args.out, not args.no_resume, args.stop_at)
    except _errors() as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    if summary.get("rank", 0) == 0:
        print(
            json.dumps({k: summary[k] for k in ("step", "eval", "export")}, default=str, indent=2)
        )
    return 0


def _encode(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from antiphon.train.lm_data import encode_dataset

    try:
        folder, n = encode_dataset(
            args.dataset, args.codec, args.cache_dir, device=args.device,
            progress=lambda items: tqdm(items, desc="encode", file=sys.stderr),
        )  # fmt: skip
    except _errors() as exc:
        print(f"train encode: {exc}", file=sys.stderr)
        return 2
    print(f"{n} dialogues encoded; codes in {folder}")
    return 0
