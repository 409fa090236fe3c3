"""`antiphon bench tool-judge`: how well the chat model's yes/no judgement separates tool
requests from plain questions and remarks, in text, on one split of the quality data.

For every item it records the judge's P(tool) (agent/tool_judge.py) with the quality
bench's declared tools, then prints, per candidate threshold, the false-call rate on
plain utterances (general knowledge + remarks with tool words) and the recall on tool
requests. The shipped threshold (``ChatLLM.tool_threshold``) is chosen on the tune split
from this table; the test split shows what it does on items it was not chosen on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from antiphon.bench.quality.data import load, tool_set
from antiphon.session.commands import Tool

THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def judge_scores(llm_name: str, split: str, threads: int) -> list[dict[str, object]]:
    from antiphon.cascade.llm import ChatLLM
    from antiphon.models import LLM_MODELS

    llm = ChatLLM(LLM_MODELS[llm_name](), n_threads=threads, n_ctx=2048)
    tools = [Tool(t["name"], t.get("description", ""), t["parameters"]) for t in tool_set().tools]
    rows: list[dict[str, object]] = []
    for kind in ("tools", "plain", "general"):
        for item in load(kind):
            if split != "all" and item.split != split:
                continue
            t0 = time.perf_counter()
            p = llm.tool_probability(item.text, tools)
            rows.append(
                {
                    "id": item.id,
                    "kind": kind,
                    "text": item.text,
                    "p_tool": round(p, 4),
                    "ms": round((time.perf_counter() - t0) * 1000),
                }
            )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    calls = [float(r["p_tool"]) for r in rows if r["kind"] == "tools"]  # type: ignore[arg-type]
    plain = [float(r["p_tool"]) for r in rows if r["kind"] != "tools"]  # type: ignore[arg-type]
    lines = [
        f"{len(calls)} tool requests, {len(plain)} plain utterances",
        "| threshold | tool recall | false calls on plain |",
        "|---|---|---|",
    ]
    for th in THRESHOLDS:
        recall = sum(p >= th for p in calls) / max(1, len(calls))
        false = sum(p >= th for p in plain) / max(1, len(plain))
        lines.append(f"| {th:.2f} | {recall:.3f} | {false:.3f} |")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    rows = judge_scores(args.llm, args.split, args.threads)
    print(table(rows))
    ms = sorted(int(r["ms"]) for r in rows)  # type: ignore[call-overload]
    print(f"judge time per utterance: p50 {ms[len(ms) // 2]} ms (threads={args.threads})")
    worst = sorted(
        rows,
        key=lambda r: -float(r["p_tool"]) if r["kind"] != "tools" else float(r["p_tool"]),  # type: ignore[arg-type]
    )[:8]
    for r in worst:
        print(f"  hardest: {r['kind']:7s} p={r['p_tool']:.2f} {r['text']!r}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    return 0


def register(bench: argparse._SubParsersAction) -> None:
    from antiphon.models import DEFAULT_LLM, LLM_MODELS

    p = bench.add_parser("tool-judge", help="tool-call judgement: recall vs false calls, in text")
    p.add_argument("--llm", choices=list(LLM_MODELS), default=DEFAULT_LLM)
    p.add_argument("--split", choices=["tune", "test", "all"], default="test")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write every item's P(tool) here")
    p.set_defaults(func=main)
