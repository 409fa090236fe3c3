"""`antiphon bench duplex`: the command line (backends, scenario selection, output)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from antiphon.bench.duplex.link import Link, LinkError
from antiphon.bench.duplex.scenarios import CATEGORIES, DEFAULT_SEED, ScenarioError, load_set
from antiphon.models import DEFAULT_LLM, LLM_MODELS
from antiphon.nn.checkpoint import CheckpointError


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser(
        "duplex", help="full-duplex conversation benchmark (Full-Duplex-Bench rules)"
    )
    p.add_argument(
        "--url",
        help="benchmark a running server instead of the in-process cascade: "
        "ws://HOST:PORT/v1/realtime (OpenAI Realtime) or ws://HOST:PORT/api/chat (Moshi)",
    )
    p.add_argument("--protocol", choices=["realtime", "moshi"], help="default: from the URL path")
    p.add_argument("--api-key", help="Bearer key for --url (or OPENAI_API_KEY)")
    p.add_argument("--per-category", type=int, default=40, help="scenarios per category")
    p.add_argument(
        "--categories", help=f"comma-separated subset of: {','.join(CATEGORIES)} (default all)"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="scenario set seed")
    p.add_argument("--out", default="out/bench-duplex", help="report folder")
    p.add_argument("--html", action="store_true", help="also write a self-contained report page")
    p.add_argument("--analyse-only", action="store_true", help="re-read the takes already in --out")
    p.add_argument("--llm", choices=list(LLM_MODELS), default=DEFAULT_LLM, help="in-process LLM")
    p.add_argument("--language", choices=["en"], default="en", help="in-process language")
    p.add_argument("--instructions", help="in-process system instructions")
    p.add_argument(
        "--brain",
        choices=["cascade", "moshi", "tiny"],
        default="cascade",
        help="in-process brain (tiny: the shipped models/tiny or $ANTIPHON_TINY_MODEL)",
    )
    p.add_argument("--checkpoint", help="Moshi checkpoint folder for --brain moshi")
    p.add_argument("--int8", action="store_true", help="int8 LM linears for --brain moshi")
    p.set_defaults(func=main)


def protocol_of(url: str, protocol: str | None) -> str:
    if protocol:
        return protocol
    return "moshi" if url.rstrip("/").endswith("/api/chat") else "realtime"


def make_link_factory(args: argparse.Namespace) -> Callable[[], Link]:
    if args.url:
        if protocol_of(args.url, args.protocol) == "moshi":
            from antiphon.bench.duplex.link_moshi import MoshiLink

            return lambda: MoshiLink(args.url)
        from antiphon.bench.duplex.link_realtime import RealtimeLink

        key = args.api_key or os.environ.get("OPENAI_API_KEY")
        return lambda: RealtimeLink(args.url, key)
    if getattr(args, "brain", "cascade") == "tiny":
        from antiphon.bench.duplex.link import e2e_link
        from antiphon.e2e.stack import E2EStack
        from antiphon.e2e.tiny import TINY_SAMPLING, tiny_model_dir

        tiny = E2EStack.load(tiny_model_dir(), int8=args.int8, params=TINY_SAMPLING)
        return lambda: e2e_link(tiny)
    if getattr(args, "brain", "cascade") == "moshi":
        from antiphon.bench.duplex.link import e2e_link
        from antiphon.e2e.stack import E2EStack

        if not args.checkpoint:
            raise LinkError("--brain moshi needs --checkpoint DIR")
        e2e = E2EStack.load(args.checkpoint, int8=args.int8)
        return lambda: e2e_link(e2e)
    from antiphon.apps.factory import load_stack
    from antiphon.bench.duplex.link import cascade_link

    stack = load_stack(args)
    return lambda: cascade_link(stack, args.instructions)


def _progress(msg: str) -> None:
    print(f"[duplex] {msg}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from antiphon.bench.duplex import bench
    from antiphon.bench.duplex.report import markdown

    out = Path(args.out)
    try:
        if args.analyse_only:
            rep = bench.reanalyse(out, args.seed, args.html, _progress)
        else:
            cats = [c.strip() for c in args.categories.split(",")] if args.categories else None
            scenarios = load_set(args.per_category, cats, args.seed, progress=_progress)
            factory = make_link_factory(args)
            if args.url:
                _probe(factory)
            rep = bench.run(factory, scenarios, out, args.seed, args.html, _progress)
    except (ScenarioError, LinkError, FileNotFoundError, CheckpointError) as exc:
        print(f"antiphon bench duplex: {exc}", file=sys.stderr)
        return 2
    print(markdown(rep))
    print(
        f"report: {out / 'report.md'}, {out / 'report.json'}, pictures in {out / 'figures'}"
        + (f", page {out / 'report.html'}" if args.html else "")
    )
    return 0


def _probe(factory: Callable[[], Link]) -> None:
    """Fail before the first take when the server cannot be reached."""
    import asyncio

    async def probe() -> None:
        link = factory()
        await link.open()
        await link.close()

    asyncio.run(probe())
