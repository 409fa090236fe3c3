"""`antiphon lm random DIR`: a Moshi checkpoint folder with random weights (released layout),
to try `antiphon serve --brain moshi --checkpoint DIR` before training or downloading one."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    lm = subparsers.add_parser("lm", help="Moshi-family speech-text LM tools")
    sub = lm.add_subparsers(dest="lm_command", required=True)
    p = sub.add_parser("random", help="write a tiny random checkpoint folder (released layout)")
    p.add_argument("folder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_random)


def _random(args: argparse.Namespace) -> int:
    from antiphon.e2e.random_checkpoint import write_random_checkpoint

    folder = write_random_checkpoint(args.folder, seed=args.seed)
    print(f"wrote {folder}: serve it with  antiphon serve --brain moshi --checkpoint {folder}")
    return 0
