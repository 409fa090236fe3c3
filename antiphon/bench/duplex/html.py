"""`--html`: one self-contained page (pictures inlined as data URIs, no external files)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from antiphon.bench.duplex.published import COLUMNS, PUBLISHED, SOURCE
from antiphon.bench.duplex.report import _fmt

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.ok{color:#1a7f37;font-weight:600}.miss{color:#c0392b;font-weight:600}img{max-width:100%}
figure{margin:.8em 0}figcaption{font-size:12px;color:#555}details{margin:.5em 0}"""


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def page(report: dict, out: Path) -> Path:
    e = html.escape
    parts = [
        f"<!doctype html><meta charset=utf-8><title>Full-duplex benchmark</title><style>{CSS}</style>"
    ]
    parts.append(f"<h1>Full-duplex benchmark: {e(str(report['backend']))}</h1>")
    parts.append(
        f"<p>Scenario set {e(str(report['scenario_version']))}, seed {report['seed']}, "
        f"{report['takes']} takes. Rules: Full-Duplex-Bench v1/v1.5 (see docs/bench-duplex.md).</p>"
    )
    parts.append(
        "<h2>Targets</h2><table><tr><th>category</th><th>figure</th><th>target</th><th>value</th><th>met</th></tr>"
    )
    for t in report["targets"]:
        cls = "ok" if t["met"] else "miss"
        parts.append(
            f"<tr><td>{e(t['category'])}</td><td>{e(t['figure'])}</td><td>{e(t['target'])}</td>"
            f"<td>{_fmt(t['value'])}</td><td class={cls}>{_fmt(t['met'])}</td></tr>"
        )
    parts.append("</table><h2>Beside the published scores</h2><table><tr><th>model</th>")
    parts += [f"<th>{e(label)}</th>" for label, _ in COLUMNS.values()]
    parts.append("</tr>")
    for name, row in {"antiphon (this run)": report["ours"], **PUBLISHED}.items():
        cells = "".join(f"<td>{_fmt(row.get(c))}</td>" for c in COLUMNS)
        parts.append(f"<tr><td>{e(name)}</td>{cells}</tr>")
    parts.append(f"</table><p><small>{e(SOURCE)}; ‘–’: no comparable figure.</small></p>")
    figs = out / "figures"
    for name, alt in (
        ("versus_published.png", "our figures beside the published ones"),
        ("latency.png", "latency histograms"),
    ):
        if (figs / name).is_file():
            parts.append(f"<figure>{_img(figs / name, alt)}</figure>")
    parts.append("<h2>Per category</h2>")
    for cat, s in report["summary"].items():
        rows = "".join(f"<tr><td>{e(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in s.items())
        parts.append(f"<h3>{e(cat)}</h3><table>{rows}</table><details><summary>timelines</summary>")
        for r in report["results"]:
            if r["category"] != cat:
                continue
            png = figs / "timelines" / f"{r['scenario']}.png"
            if png.is_file():
                cap = f"{r['scenario']}: agent said “{r['agent_text'][:160]}”"
                parts.append(
                    f"<figure>{_img(png, r['scenario'])}<figcaption>{e(cap)}</figcaption></figure>"
                )
        parts.append("</details>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path
