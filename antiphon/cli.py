"""`antiphon` command line. Each subcommand lives in its own module; this file only
builds the parser and dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from antiphon.models import DEFAULT_LLM, LLM_MODELS


def _cascade_args(p: argparse.ArgumentParser, demo_tools: str = "ask") -> None:
    p.add_argument("--llm", choices=list(LLM_MODELS), default=DEFAULT_LLM, help="chat model")
    p.add_argument(
        "--demo-tools",
        choices=["off", "ask", "on"],
        default=demo_tools,
        help="built-in demo tools (time, timers, lights): off; ask = sessions that request "
        "them (the browser page does, Realtime extension x_antiphon.demo_tools); on = every session",
    )
    p.add_argument("--language", choices=["en", "zh"], default="en")
    p.add_argument("--instructions", help="system instructions (persona)")
    p.add_argument(
        "--llm-url",
        help="an OpenAI-compatible chat endpoint for the LLM stage instead of the local model "
        "(e.g. http://127.0.0.1:8080/v1: vLLM, SGLang, llama.cpp's server, Ollama)",
    )
    p.add_argument("--llm-model", default="default", help="the model name sent to --llm-url")
    p.add_argument(
        "--llm-slots",
        type=int,
        help="sessions whose LLM work the local model decodes in shared batched steps "
        "(default: the cascade config's; 1 = one stream at a time)",
    )
    p.add_argument(
        "--asr-beam",
        type=int,
        help="beam of the recognizer's final decode (default: the cascade config's; 1 = greedy)",
    )
    p.add_argument(
        "--asr-rescore",
        help="chat model that rescores the final decode's top hypotheses, or off "
        "(default: the cascade config's; English with a beam only)",
    )


def _lazy(module: str, fn: str = "main") -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), fn)(args) or 0)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="antiphon", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="a headless spoken conversation (barge-in, tool call)")
    _cascade_args(p, demo_tools="on")
    p.add_argument("--out", default="out/demo", help="folder for the WAV files")
    p.add_argument(
        "--fast", action="store_true", help="virtual time: compute is free, latencies not real"
    )
    p.set_defaults(func=_lazy("antiphon.apps.demo"))

    p = sub.add_parser("respond", help="answer the speech in IN.wav, write the reply to OUT.wav")
    _cascade_args(p, demo_tools="on")
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(func=_lazy("antiphon.apps.respond"))

    p = sub.add_parser("chat", help="talk through the microphone and speaker")
    _cascade_args(p, demo_tools="on")
    p.set_defaults(func=_lazy("antiphon.apps.chat"))

    p = sub.add_parser("serve", help="serve the voice chat page and protocols")
    _cascade_args(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--api-key", help="require this key (Bearer or browser subprotocol); or ANTIPHON_API_KEY"
    )
    p.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback --host without a key"
    )
    p.add_argument("--max-message-bytes", type=int, help="larger JSON messages get an error event")
    p.add_argument(
        "--idle-timeout", type=float, help="close a session after this many idle seconds"
    )
    p.add_argument("--max-session", type=float, help="close a session after this many seconds")
    p.add_argument("--max-sessions", type=int, help="refuse connections beyond this many sessions")
    p.add_argument(
        "--drain-timeout",
        type=float,
        help="on SIGTERM, let live sessions finish for up to this many seconds (default 30)",
    )
    p.add_argument(
        "--webrtc-host",
        action="append",
        help="WebRTC host candidates on this address (repeatable; default: 127.0.0.1 for a "
        "loopback --host, every interface otherwise)",
    )
    p.add_argument(
        "--ice-server",
        action="append",
        help="a STUN/TURN URL for WebRTC calls behind NAT (repeatable; none by default)",
    )
    p.add_argument("--ice-username", help="TURN username (or ANTIPHON_ICE_USERNAME)")
    p.add_argument("--ice-credential", help="TURN credential (or ANTIPHON_ICE_CREDENTIAL)")
    p.add_argument(
        "--brain",
        choices=["cascade", "moshi", "tiny"],
        default="cascade",
        help="tiny: the shipped end-to-end model (models/tiny, or $ANTIPHON_TINY_MODEL)",
    )
    p.add_argument("--checkpoint", help="Moshi checkpoint folder (--brain moshi)")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    p.add_argument(
        "--int8",
        action="store_true",
        help="int8 weight rows for the LM and the codec decoder's transformer (--brain moshi)",
    )
    # sampling defaults (None) come from the brain: moshi 0.8/250/0.7/25, tiny (e2e/tiny.py)
    p.add_argument("--temp", type=float, help="audio sampling temperature (moshi: 0.8)")
    p.add_argument("--temp-text", type=float, help="text temperature (moshi: 0.7)")
    p.add_argument("--top-k", type=int, help="audio top-k (moshi: 250)")
    p.add_argument("--top-k-text", type=int, help="text top-k (moshi: 25)")
    p.add_argument("--seed", type=int, help="sampling seed (moshi)")
    p.set_defaults(func=_lazy("antiphon.server.main"))

    p = sub.add_parser(
        "connect", help="talk to a Realtime-protocol server (mic/speaker or WAV files)"
    )
    p.add_argument("url", help="e.g. ws://127.0.0.1:8000/v1/realtime")
    p.add_argument("--input", help="a WAV file to speak instead of the microphone")
    p.add_argument("--output", help="write the reply audio to this WAV file instead of the speaker")
    p.add_argument("--api-key", help="sent as Authorization: Bearer KEY (or OPENAI_API_KEY)")
    p.add_argument("--instructions", help="session instructions")
    p.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    p.set_defaults(func=_lazy("antiphon.apps.connect"))

    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench", required=True)
    p = bench.add_parser("latency", help="voice-to-voice latency of the cascade, in real time")
    _cascade_args(p)
    p.add_argument("--questions", type=int, default=20)
    p.add_argument("--json", help="also write the figures as JSON here")
    p.set_defaults(func=_lazy("antiphon.bench.latency"))
    p = bench.add_parser("load", help="concurrent real-time sessions one machine sustains")
    _cascade_args(p)
    p.add_argument("--levels", default="1,2,4,8,16", help="numbers of sessions to run")
    p.add_argument("--gap", type=float, default=3.0, help="staggered: mean gap between arrivals, s")
    p.add_argument("--disconnects", type=int, default=200, help="abrupt disconnects (0: skip)")
    p.add_argument("--no-flood", action="store_true", help="skip the flooding-client scenario")
    p.add_argument(
        "--compare-slots",
        help="e.g. 1,8: the talker scenarios once per LLM slot count, side by side",
    )
    p.add_argument("--scenarios", default="simultaneous,staggered", help="talker scenarios to run")
    p.add_argument("--timeout", type=float, default=60.0, help="per question, seconds")
    p.add_argument("--json", help="also write the figures as JSON here")
    p.set_defaults(func=_lazy("antiphon.bench.load"))
    p = bench.add_parser("chinese", help="CER of a Chinese TTS → ASR round trip")
    p.add_argument("--llm", choices=list(LLM_MODELS), default="smollm2")
    p.set_defaults(func=_lazy("antiphon.bench.chinese"))
    _register_optional(bench, "antiphon.bench.codec")
    _register_optional(bench, "antiphon.bench.e2e")
    _register_optional(bench, "antiphon.bench.duplex.cli")
    _register_optional(bench, "antiphon.bench.quality.cli")
    _register_optional(bench, "antiphon.bench.tool_judge")
    _register_optional(bench, "antiphon.bench.suite")  # `bench all`
    _register_optional(sub, "antiphon.codec.cli")
    _register_optional(sub, "antiphon.lm.cli")
    _register_optional(sub, "antiphon.data.cli")
    _register_optional(sub, "antiphon.train.cli")
    return parser


def _register_optional(subparsers: argparse._SubParsersAction, module: str) -> None:
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
