"""`antiphon` command line. Each subcommand lives in its own module; this file only
builds the parser and dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def _cascade_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", choices=["qwen", "smollm2"], default="qwen", help="language model")
    p.add_argument("--language", choices=["en", "zh"], default="en")
    p.add_argument("--instructions", help="system instructions (persona)")


def _lazy(module: str, fn: str = "main") -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), fn)(args) or 0)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="antiphon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="a headless spoken conversation (barge-in, tool call)")
    _cascade_args(p)
    p.add_argument("--out", default="out/demo", help="folder for the WAV files")
    p.add_argument(
        "--fast", action="store_true", help="virtual time: compute is free, latencies not real"
    )
    p.set_defaults(func=_lazy("antiphon.apps.demo"))

    p = sub.add_parser("respond", help="answer the speech in IN.wav, write the reply to OUT.wav")
    _cascade_args(p)
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(func=_lazy("antiphon.apps.respond"))

    p = sub.add_parser("chat", help="talk through the microphone and speaker")
    _cascade_args(p)
    p.set_defaults(func=_lazy("antiphon.apps.chat"))

    p = sub.add_parser("serve", help="serve the voice chat page and protocols")
    _cascade_args(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_lazy("antiphon.server.main"))

    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench", required=True)
    p = bench.add_parser("latency", help="voice-to-voice latency of the cascade, in real time")
    _cascade_args(p)
    p.add_argument("--questions", type=int, default=20)
    p.add_argument("--json", help="also write the figures as JSON here")
    p.set_defaults(func=_lazy("antiphon.bench.latency"))
    _register_optional(bench, "antiphon.bench.codec")
    _register_optional(sub, "antiphon.codec.cli")
    return parser


def _register_optional(subparsers: argparse._SubParsersAction, module: str) -> None:  # type: ignore[type-arg]
    """Subcommands contributed by a subsystem (codec) register themselves."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        importlib.import_module(module).register(subparsers)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
