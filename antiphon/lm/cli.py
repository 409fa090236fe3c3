"""`antiphon lm random DIR`: a Moshi checkpoint folder with random weights (released layout),
to try `antiphon serve --brain moshi --checkpoint DIR` before training or downloading one.

`antiphon lm init-from-gguf DIR`: a new LM whose temporal transformer is a pretrained text
LLM read from a GGUF file (Qwen2.5 by default), optionally frozen with added speech layers
and/or dual resolution; the weights (with their config in the header) go to
DIR/model.safetensors, loadable by `antiphon.lm.checkpoint.load_lm`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    lm = subparsers.add_parser("lm", help="Moshi-family speech-text LM tools")
    sub = lm.add_subparsers(dest="lm_command", required=True)
    p = sub.add_parser("random", help="write a tiny random checkpoint folder (released layout)")
    p.add_argument("folder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_random)

    p = sub.add_parser("init-from-gguf", help="a new LM on a text LLM's layers (GGUF)")
    p.add_argument("folder")
    p.add_argument("--gguf", help="the LLM file (default: the local Qwen2.5-Coder-0.5B)")
    p.add_argument(
        "--base",
        default="small",
        help="streams/depth transformer: tiny, small, moshi, or an LMConfig JSON file",
    )
    p.add_argument("--freeze", action="store_true", help="the LLM layers get no gradient")
    p.add_argument("--speech-layers", type=int, default=0, help="trainable layers after them")
    p.add_argument("--frames-per-step", type=int, default=1, help="dual resolution group size")
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    p.add_argument("--seed", type=int, default=0, help="seed of the parts not from the LLM")
    p.set_defaults(func=_init_from_gguf)


def _random(args: argparse.Namespace) -> int:
    from antiphon.e2e.random_checkpoint import write_random_checkpoint

    folder = write_random_checkpoint(args.folder, seed=args.seed)
    print(f"wrote {folder}: serve it with  antiphon serve --brain moshi --checkpoint {folder}")
    return 0


def _init_from_gguf(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import torch

    from antiphon.lm.checkpoint import save_lm
    from antiphon.lm.config import ConfigError, LMConfig, small_config, tiny_config
    from antiphon.lm.gguf_init import GGUFError, init_from_gguf

    bases: dict[str, Callable[[], LMConfig]] = {
        "tiny": tiny_config,
        "small": small_config,
        "moshi": LMConfig,
    }
    try:
        if args.base in bases:
            base = bases[args.base]()
        else:
            path = Path(args.base)
            if not path.is_file():
                raise ConfigError(f"--base {args.base}: not tiny/small/moshi nor a file")
            base = LMConfig.from_json(path.read_text())
        base = replace(base, frames_per_step=args.frames_per_step)
        if args.gguf is None:
            from antiphon.models import qwen_gguf

            args.gguf = qwen_gguf()
        torch.manual_seed(args.seed)
        model = init_from_gguf(args.gguf, base, args.speech_layers, args.freeze)
    except (ConfigError, GGUFError, TypeError, ValueError) as exc:
        print(f"lm init-from-gguf: {exc}", file=sys.stderr)
        return 2
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    path = save_lm(model, args.folder, dtype=dtype)
    c = model.config
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(
        f"wrote {path}: {c.num_layers} LLM layers (dim {c.dim}, {c.num_heads} heads,"
        f" kv_repeat {c.kv_repeat}) + {c.speech_layers} speech layers,"
        f" frames_per_step {c.frames_per_step}; {total / 1e6:.1f} M parameters,"
        f" {trainable / 1e6:.1f} M trainable"
    )
    return 0
