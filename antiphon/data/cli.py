"""``antiphon data synth|clean``: make a training dataset, or clean real recordings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from antiphon.models import DEFAULT_LLM, LLM_MODELS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="training data: synthetic dialogues, cleaning")
    sub = p.add_subparsers(dest="data_command", required=True)

    s = sub.add_parser("synth", help="synthetic two-party full-duplex dialogues")
    s.add_argument("out_dir", metavar="OUT_DIR")
    s.add_argument("--dialogues", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)
    src = s.add_mutually_exclusive_group()
    src.add_argument("--scripts", metavar="FILE", help=".txt (user:/agent: lines) or .jsonl")
    src.add_argument("--llm-scripts", action="store_true", help="write scripts with the local LLM")
    s.add_argument("--llm", choices=list(LLM_MODELS), default=DEFAULT_LLM, help="for --llm-scripts")
    s.add_argument("--heldout-fraction", type=float, default=0.1)
    s.add_argument("--max-seconds", type=float, default=None, help="cap each dialogue's length")
    s.add_argument("--max-turns", type=int, default=None, help="first N turns of each script")
    s.add_argument(
        "--alignment",
        choices=["whisper", "proportional"],
        default="whisper",
        help="word timing: Whisper word timestamps, or by character count only (fast)",
    )
    s.add_argument(
        "--timing",
        metavar="KEY=VALUE,...",
        default="",
        help="change timing distributions, e.g. p_overlap=0.3,gap_median_s=0.5,pause_s=0.2:0.6 "
        "(fields of antiphon.data.layout.TimingConfig; ranges as LO:HI)",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_synth)

    w = sub.add_parser(
        "scripts", help="write dialogue scripts with the local LLM to a .jsonl (for --scripts)"
    )
    w.add_argument("out", metavar="OUT.jsonl", help="appended to: a second run adds dialogues")
    w.add_argument("--dialogues", type=int, default=100, help="how many the file should hold")
    w.add_argument("--llm", choices=list(LLM_MODELS), default=DEFAULT_LLM)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    w.set_defaults(func=_scripts)

    c = sub.add_parser("clean", help="transcribe recordings with 3 ASR systems, keep by agreement")
    c.add_argument("input", metavar="IN_DIR_OR_MANIFEST")
    c.add_argument("out_dir", metavar="OUT_DIR")
    c.add_argument("--min-confidence", type=float, default=0.5)
    c.add_argument("--drop", action="store_true", help="leave out (not just mark) low ones")
    c.add_argument("--systems", default="whisper-tiny.en,whisper-base,pocketsphinx")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_clean)


def _fail(msg: str) -> int:
    print(f"data: {msg}", file=sys.stderr)
    return 2


def _scripts(args: argparse.Namespace) -> int:
    """Append LLM-written dialogues to ``out`` until it holds ``--dialogues`` of them. A
    resumed run draws from seed + the count already written, so it adds new dialogues."""
    import json

    import numpy as np

    from antiphon.data.scripts import ScriptError, llm_scripts, read_scripts, script_record
    from antiphon.models import ModelNotFound

    out = Path(args.out)
    if out.suffix != ".jsonl":
        return _fail(f"{out}: the scripts file must end in .jsonl")
    try:
        have = len(read_scripts(out)) if out.is_file() and out.stat().st_size else 0
    except ScriptError as exc:
        return _fail(f"{exc} (not appending to a file that does not read back)")
    seed = args.seed + have
    try:
        model = LLM_MODELS[args.llm]()
        with out.open("a", encoding="utf-8") as f:
            rng = np.random.default_rng([seed, 1 << 30])
            scripts = llm_scripts(rng, model, seed, threads=args.threads)
            for i in range(have, args.dialogues):
                script = next(scripts)
                f.write(json.dumps(script_record(script)) + "\n")
                f.flush()  # an interrupted run keeps every finished dialogue
                n = len(script.turns)
                print(f"[{i + 1}/{args.dialogues}] {script.source}: {n} turns", flush=True)
    except ModelNotFound as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write to {out}: {exc.strerror or exc}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from antiphon.data.layout import parse_timing
    from antiphon.data.manifest import ManifestError
    from antiphon.data.scripts import ScriptError
    from antiphon.data.synth import SynthConfig, format_summary, synth_dataset
    from antiphon.data.voices import VoiceError
    from antiphon.models import ModelNotFound

    try:
        timing = parse_timing(args.timing)
    except ValueError as exc:
        return _fail(str(exc))
    cfg = SynthConfig(
        dialogues=args.dialogues,
        seed=args.seed,
        scripts_file=args.scripts,
        llm_scripts=args.llm_scripts,
        llm_model=args.llm,
        heldout_fraction=args.heldout_fraction,
        max_seconds=args.max_seconds,
        max_turns=args.max_turns,
        alignment=args.alignment,
        timing=timing,
    )
    try:
        summary = synth_dataset(args.out_dir, cfg, progress=not args.quiet)
    except (ScriptError, ManifestError, VoiceError, ModelNotFound, ValueError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write to {args.out_dir}: {exc.strerror or exc}")
    print(format_summary(summary))
    print(f"wrote {Path(args.out_dir) / 'manifest.jsonl'}")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from antiphon.audio.io import AudioFormatError
    from antiphon.data.clean import CleanError, clean_recordings, format_clean_summary
    from antiphon.models import ModelNotFound

    try:
        summary = clean_recordings(
            args.input,
            args.out_dir,
            systems=[s.strip() for s in args.systems.split(",") if s.strip()],
            min_confidence=args.min_confidence,
            drop=args.drop,
            progress=not args.quiet,
        )
    except (CleanError, AudioFormatError, ModelNotFound, ValueError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write to {args.out_dir}: {exc.strerror or exc}")
    print(format_clean_summary(summary))
    return 0
