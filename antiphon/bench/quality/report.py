"""Figures from the scored items, the issue's targets, and the JSON / markdown / HTML reports.
Every figure is computed from the rows of this run; nothing is carried over from elsewhere."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

Row = dict[str, Any]

# (figure, comparison, target) -- issue 14, test half, 2 cores, default models
TARGETS = [
    ("answer_accuracy", ">=", 0.90),
    ("tool_right_rate", ">=", 0.90),
    ("false_call_rate_plain", "<=", 0.02),
    ("wer_synthetic", "<=", 0.08),
    ("wer_human", "<=", 0.15),
    ("v2v_p50_ms", "<=", 800.0),
    ("v2v_p90_ms", "<=", 1200.0),
]
# the server's own marks, ms after the end of speech it detected (cascade/response.py)
STAGES = {
    "eot_ms": "end of turn decided",
    "asr_final_ms": "final transcript",
    "llm_first_token_ms": "first reply token",
    "tts_first_audio_ms": "first phrase synthesized",
    "first_audio_out_ms": "first audio out",
}
LABELS = {
    "items": "items",
    "answer_accuracy": "answer accuracy (general)",
    "answer_accuracy_zh": "answer accuracy (Chinese)",
    "tool_right_rate": "right tool with right arguments",
    "tool_recall": "tool recall (right tool named)",
    "tool_precision": "tool precision (calls that were the right tool)",
    "argument_accuracy": "argument accuracy (of right-tool calls)",
    "calls_schema_valid": "calls whose arguments fit the schema",
    "false_call_rate_plain": "false tool calls, plain utterances",
    "false_call_rate_general": "tool calls on general questions",
    "wer_synthetic": "ASR WER, synthetic voices",
    "wer_human": "ASR WER, human recordings",
    "v2v_p50_ms": "voice-to-voice p50 (ms)",
    "v2v_p90_ms": "voice-to-voice p90 (ms)",
    "no_reply": "items without a reply",
    **{f"stage_{k}": f"server stage p50: {label} (ms)" for k, label in STAGES.items()},
}


def _rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _wer(rows: list[Row]) -> float | None:
    words = sum(r["asr_words"] for r in rows)
    return round(sum(r["asr_edits"] for r in rows) / words, 4) if words else None


def summarize(rows: list[Row]) -> dict[str, Any]:
    general = [r for r in rows if r["kind"] == "general"]
    zh = [r for r in rows if r["kind"] == "zh"]
    tools = [r for r in rows if r["kind"] == "tools"]
    plain = [r for r in rows if r["kind"] == "plain"]
    all_calls = [(r, c) for r in rows for c in r["calls"]]
    right_named = [r for r in tools if r["tool_named"]]
    # a call is a true positive when it is made on a tool request and names its tool
    tp = sum(1 for r in tools for c in r["calls"] if c["name"] == r["tool"])
    v2v = [float(r["voice_to_voice_ms"]) for r in rows if r["voice_to_voice_ms"] is not None]
    s: dict[str, Any] = {
        "items": len(rows),
        "answer_accuracy": _rate([bool(r["correct"]) for r in general]),
        "answer_accuracy_zh": _rate([bool(r["correct"]) for r in zh]),
        "tool_right_rate": _rate([bool(r["tool_right"]) for r in tools]),
        "tool_recall": _rate([bool(r["tool_named"]) for r in tools]),
        "tool_precision": round(tp / len(all_calls), 4) if all_calls else None,
        "argument_accuracy": _rate([bool(r["tool_right"]) for r in right_named]),
        "calls_schema_valid": _rate([v for r in rows for v in r["calls_valid"]]),
        "false_call_rate_plain": _rate([bool(r["calls"]) for r in plain]),
        "false_call_rate_general": _rate([bool(r["calls"]) for r in general]),
        "wer_synthetic": _wer(rows),
        "v2v_p50_ms": _pct(v2v, 50),
        "v2v_p90_ms": _pct(v2v, 90),
        "no_reply": sum(1 for r in rows if r["voice_to_voice_ms"] is None),
    }
    for k in STAGES:
        s[f"stage_{k}"] = _pct([r["stages"][k] for r in rows if k in r.get("stages", {})], 50)
    return {k: v for k, v in s.items() if v is not None or k in ("answer_accuracy",)}


def per_voice(rows: list[Row]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for voice in sorted({r["voice"] for r in rows}):
        rs = [r for r in rows if r["voice"] == voice]
        v2v = [float(r["voice_to_voice_ms"]) for r in rs if r["voice_to_voice_ms"] is not None]
        graded = [r["correct"] if r["correct"] is not None else r["tool_right"] for r in rs]
        out[voice] = {
            "items": len(rs),
            "wer": _wer(rs),
            "right": _rate([bool(g) for g in graded if g is not None]),
            "v2v_p50_ms": _pct(v2v, 50),
            "v2v_p90_ms": _pct(v2v, 90),
        }
    return out


def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for fig, op, want in TARGETS:
        value = summary.get(fig)
        met = None if value is None else (value >= want if op == ">=" else value <= want)
        out.append({"figure": fig, "target": f"{op} {want:g}", "value": value, "met": met})
    return out


def build(
    meta: dict[str, Any],
    by_backend: dict[str, list[Row]],
    human: dict[str, dict[str, Any]] | None = None,
) -> dict:
    """``human``: per backend, the human recordings' WER per source ("all human" too)."""
    backends = {}
    for name, rows in by_backend.items():
        summary = summarize(rows)
        per_source = (human or {}).get(name)
        if per_source and "all human" in per_source:
            summary["wer_human"] = per_source["all human"]["wer"]
        backends[name] = {
            "summary": summary,
            "targets": targets(summary),
            "per_voice": per_voice(rows),
            "human_asr": per_source,
            "rows": rows,
        }
    return {**meta, "backends": backends}


def _fmt(v: Any, key: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and (key.endswith("_ms")):
        return f"{v:.0f}"
    if isinstance(v, float):
        return f"{100 * v:.1f} %"
    return str(v)


def markdown(rep: dict[str, Any]) -> str:
    names = list(rep["backends"])
    lines = [
        f"# bench quality — split {rep['split']}, kinds {', '.join(rep['kinds'])}",
        "",
        f"{rep['date']}; backend(s): {', '.join(names)}; voices: {', '.join(rep['voices'])}.",
        "",
        "| figure | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    keys = [k for k in LABELS if any(k in rep["backends"][n]["summary"] for n in names)]
    for k in keys:
        cells = [_fmt(rep["backends"][n]["summary"].get(k), k) for n in names]
        lines.append(f"| {LABELS[k]} | " + " | ".join(cells) + " |")
    for n in names:
        b = rep["backends"][n]
        met = ", ".join(
            f"{t['figure']} {_fmt(t['value'], t['figure'])} ({'met' if t['met'] else 'missed'})"
            for t in b["targets"]
            if t["value"] is not None
        )
        lines += ["", f"## {n}", "", f"targets: {met}", ""]
        lines += [
            "| voice | items | ASR WER | right | v2v p50 | v2v p90 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for v, s in b["per_voice"].items():
            lines.append(
                f"| {v} | {s['items']} | {_fmt(s['wer'])} | {_fmt(s['right'])} | "
                f"{_fmt(s['v2v_p50_ms'], '_ms')} | {_fmt(s['v2v_p90_ms'], '_ms')} |"
            )
        wrong = [r for r in b["rows"] if r["correct"] is False or r["tool_right"] is False
                 or (r["kind"] == "plain" and r["calls"])]  # fmt: skip
        if wrong:
            lines += ["", "<details><summary>misses</summary>", ""]
            for r in wrong:
                calls = "; ".join(f"{c['name']}({c['arguments']})" for c in r["calls"])
                lines.append(
                    f"- {r['id']} [{r['voice']}] “{r['text']}” → heard “{r['heard']}” → "
                    f"said “{r['said'][:120]}”" + (f" calls: {calls}" if calls else "")
                )
            lines += ["", "</details>"]
    heard = {n: rep["backends"][n].get("human_asr") or {} for n in names}
    sources = list(dict.fromkeys(src for per in heard.values() for src in per))
    if sources:
        lines += ["", "## ASR on human recordings (each backend's final decode)", ""]
        lines += [
            "| source | clips | " + " | ".join(names) + " |",
            "|---|---:|" + "---:|" * len(names),
        ]
        for src in sources:
            clips = next(per[src]["clips"] for per in heard.values() if src in per)
            cells = [_fmt(heard[n][src]["wer"]) if src in heard[n] else "–" for n in names]
            lines.append(f"| {src} | {clips} | " + " | ".join(cells) + " |")
    for name, error in rep.get("human_errors", {}).items():
        lines += ["", f"No human-recording WER for {name}: {error}"]
    return "\n".join(lines) + "\n"


CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"""


def page(rep: dict[str, Any], out: Path) -> Path:
    """A self-contained HTML page of the markdown's tables (like bench duplex --html)."""
    e = html.escape
    parts = [f"<!doctype html><meta charset=utf-8><title>bench quality</title><style>{CSS}</style>"]
    in_table = False
    for line in markdown(rep).splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-:"):
                continue
            if not in_table:
                parts.append("<table>")
                in_table = True
                parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in cells) + "</tr>")
            else:
                parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            parts.append("</table>")
            in_table = False
        if line.startswith("## "):
            parts.append(f"<h2>{e(line[3:])}</h2>")
        elif line.startswith("# "):
            parts.append(f"<h1>{e(line[2:])}</h1>")
        elif line.startswith("- "):
            parts.append(f"<p>{e(line[2:])}</p>")
        elif line.startswith("<details") or line.startswith("</details"):
            parts.append(line)
        elif line:
            parts.append(f"<p>{e(line)}</p>")
    if in_table:
        parts.append("</table>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path


def save(rep: dict[str, Any], out: Path, with_html: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(rep, indent=1, ensure_ascii=False))
    (out / "report.md").write_text(markdown(rep))
    if with_html:
        page(rep, out)
