"""`antiphon bench quality`: right answers and right tool calls, on voices the agent never
heard, through the pipeline users get (in process, or any Realtime server with --url)."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from antiphon.bench.duplex.link import LinkError
from antiphon.bench.duplex.voices import VoiceError
from antiphon.bench.quality import data, human, voices
from antiphon.bench.quality.data import DataError, Kind
from antiphon.bench.quality.links import QualityLink
from antiphon.models import DEFAULT_LLM, LLM_MODELS

PREVIOUS_DEFAULT_LLM = "qwen0.5b"  # the default before issue 14: reported beside the new one
MAX_TOKENS = 80  # per reply, in process


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser(
        "quality", help="answer accuracy, tool calls and ASR on voices other than the agent's"
    )
    p.add_argument(
        "--url",
        help="benchmark Realtime servers instead: ws://HOST:PORT/v1/realtime "
        "(comma-separated: several, side by side in one report; add ?x_antiphon=1 for an "
        "antiphon server's own stage times)",
    )
    p.add_argument("--api-key", help="Bearer key for --url (or OPENAI_API_KEY)")
    default_llms = ",".join(dict.fromkeys([DEFAULT_LLM, PREVIOUS_DEFAULT_LLM]))
    p.add_argument(
        "--llm",
        default=default_llms,
        help=f"in-process chat models, run side by side (comma-separated from "
        f"{','.join(LLM_MODELS)}; default {default_llms}: the default and the previous one)",
    )
    p.add_argument("--language", choices=["en", "zh"], default="en")
    p.add_argument(
        "--kinds",
        help="comma-separated subset of general,tools,plain (English) or zh "
        "(default: all English kinds, or zh with --language zh)",
    )
    p.add_argument("--split", choices=list(data.SPLITS), default="test")
    p.add_argument(
        "--limit", type=int, help="at most this many items per kind (and human recordings)"
    )
    p.add_argument("--voices", help="comma-separated user voices (default: all of the language)")
    p.add_argument("--recognizer", help="in-process ASR (see cascade/asr.py RECOGNIZERS)")
    p.add_argument(
        "--wait", type=float, default=12.0, help="seconds to wait for a reply before giving up"
    )
    p.add_argument("--out", default="out/bench-quality", help="report folder")
    p.add_argument("--html", action="store_true", help="also write a self-contained page")
    p.add_argument(
        "--no-human",
        action="store_true",
        help="skip the human recordings' WER (through each server or the in-process recognizer)",
    )
    p.add_argument(
        "--asr-study",
        metavar="CONFIGS",
        help="instead: compare recognizers on the split's clips (e.g. tiny.en,base,base-beam5)",
    )
    p.set_defaults(func=main)


def _progress(msg: str) -> None:
    print(f"[quality] {msg}", file=sys.stderr, flush=True)


def _kinds(args: argparse.Namespace) -> list[Kind]:
    if args.kinds:
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    else:
        kinds = ["zh"] if args.language == "zh" else ["general", "tools", "plain"]
    bad = [k for k in kinds if k not in data.KINDS]
    if bad:
        raise DataError(f"unknown kinds {bad}; use some of {', '.join(data.KINDS)}")
    if args.language == "zh" and kinds != ["zh"] or args.language == "en" and "zh" in kinds:
        raise DataError("--language zh runs the zh kind; English runs general, tools, plain")
    return kinds


def _voices(args: argparse.Namespace) -> list[str]:
    names = [v.strip() for v in args.voices.split(",")] if args.voices else None
    chosen = names or list(voices.ZH_VOICES if args.language == "zh" else voices.EN_VOICES)
    voices.check_voices(chosen)
    return chosen


def _cascade(name: str, args: argparse.Namespace) -> tuple[Any, Callable[[], QualityLink]]:
    import dataclasses

    from antiphon.apps.factory import progress
    from antiphon.bench.quality.links import cascade_quality_link
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.stack import CascadeStack

    if name not in LLM_MODELS:
        raise DataError(f"unknown --llm {name!r}; use some of {', '.join(LLM_MODELS)}")
    fields = {f.name for f in dataclasses.fields(CascadeConfig)}
    extra = {"asr": args.recognizer} if args.recognizer and "asr" in fields else {}
    # spoken answers are short; the cap only bounds the time a rambling reply keeps an item
    config = CascadeConfig(llm=name, language=args.language, max_tokens=MAX_TOKENS, **extra)
    stack = CascadeStack(config, progress)
    if args.recognizer and args.language == "en" and stack.asr.recognizer != args.recognizer:
        from antiphon.cascade.asr import StreamingASR

        # a stack that does not read CascadeConfig.asr yet: swap the recognizer in
        stack.asr = StreamingASR(recognizer=args.recognizer, cpu_threads=stack.config.asr_threads)
    return stack, lambda: cascade_quality_link(stack, args.language)


def main(args: argparse.Namespace) -> int:
    from antiphon.bench.quality import asr_study, bench, report

    out = Path(args.out)
    try:
        chosen = _voices(args)
        if args.asr_study:
            names = [n.strip() for n in args.asr_study.split(",")]
            print(asr_study.run(names, args.split, chosen, args.limit, out, _progress))
            return 0
        kinds = _kinds(args)
        items = data.select(kinds, args.split, args.limit)
        spoken = bench.prepare(items, chosen, _progress)
        tools = data.tool_set()
        by_backend: dict[str, list[dict[str, Any]]] = {}
        # WER on the human recordings per backend: their speech through the same recognizer
        human_asr: dict[str, dict[str, Any]] = {}
        human_errors: dict[str, str] = {}
        recordings = human.recordings(args.split, args.limit) if args.language == "en" else []
        if args.url:
            from antiphon.bench.quality import remote_asr
            from antiphon.bench.quality.links import QualityRealtimeLink

            key = args.api_key or os.environ.get("OPENAI_API_KEY")
            # several servers (e.g. the default model and the previous one) side by side
            for url in dict.fromkeys(u.strip() for u in args.url.split(",") if u.strip()):
                by_backend[url] = bench.run_backend(
                    url,
                    functools.partial(QualityRealtimeLink, url, key),
                    spoken,
                    tools,
                    _progress,
                    args.wait,
                )
                if recordings and not args.no_human:
                    _progress(f"{len(recordings)} human recordings through {url}")
                    try:
                        heard = asyncio.run(remote_asr.transcripts(url, key, recordings, _progress))
                    except LinkError as exc:  # the run's other figures are still reported
                        _progress(f"no human-recording WER for {url}: {exc}")
                        human_errors[url] = str(exc)
                        continue
                    human_asr[url] = asr_study.human_wer_of(
                        list(zip(recordings, heard, strict=True))
                    )
        else:
            shared: dict[str, Any] | None = None
            for name in dict.fromkeys(n.strip() for n in args.llm.split(",")):
                stack, factory = _cascade(name, args)
                label = f"{name} (asr {stack.asr.recognizer})"
                by_backend[label] = bench.run_backend(
                    label, factory, spoken, tools, _progress, args.wait
                )
                if recordings and not args.no_human:
                    if shared is None:  # the recognizer does not change with --llm
                        _progress("human recordings through the same recognizer")
                        pairs = [(r, stack.transcribe(r.audio())) for r in recordings]
                        shared = asr_study.human_wer_of(pairs)
                    human_asr[label] = shared
                del stack, factory
                gc.collect()  # the next model needs the memory
        meta = {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "split": args.split,
            "kinds": kinds,
            "voices": chosen,
            "limit": args.limit,
            "language": args.language,
            "machine": f"{os.cpu_count()} CPUs",
        }
        rep = report.build(meta, by_backend, human_asr)
        if human_errors:
            rep["human_errors"] = human_errors
        if human.missing_sources():
            rep["human_missing"] = human.missing_sources()
        report.save(rep, out, args.html)
    except (DataError, LinkError, VoiceError, FileNotFoundError) as exc:
        print(f"antiphon bench quality: {exc}", file=sys.stderr)
        return 2
    print(report.markdown(rep))
    print(
        f"report: {out / 'report.md'}, {out / 'report.json'}"
        + (f", {out / 'report.html'}" if args.html else "")
    )
    return 0
