"""`antiphon bench all [--quick]`: every benchmark in one go, one report.

Runs the latency, duplex, codec and (when its module exists) e2e benchmarks through the
same command line a person would type, captures what each prints, and writes
``report.md`` and ``report.json`` in ``--out``. A benchmark that fails is reported as such
and the others still run."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import io
import json
import sys
import time
import traceback
from pathlib import Path


def register(bench_subparsers: argparse._SubParsersAction) -> None:
    p = bench_subparsers.add_parser("all", help="run every benchmark and write one report")
    p.add_argument("--quick", action="store_true", help="small sizes (minutes, not hours)")
    p.add_argument("--out", default="out/bench-all", help="report folder")
    p.set_defaults(func=main)


def plan(out: Path, quick: bool) -> list[tuple[str, list[str] | None]]:
    """(name, command line after `antiphon`); None when the benchmark is not available."""
    have_e2e = importlib.util.find_spec("antiphon.bench.e2e") is not None
    q = ["--quick"] if quick else []
    return [
        ("latency", ["bench", "latency", "--questions", "4" if quick else "20",
                     "--json", str(out / "latency.json")]),
        ("duplex", ["bench", "duplex", "--per-category", "2" if quick else "40",
                    "--out", str(out / "duplex"), "--html"]),
        ("codec", ["bench", "codec", *q]),
        ("e2e", ["bench", "e2e", *q] if have_e2e else None),
    ]  # fmt: skip


class _Tee(io.TextIOBase):
    """Print as usual and keep a copy for the report."""

    def __init__(self, stream: object) -> None:
        self.stream, self.buf = stream, io.StringIO()

    def write(self, s: str) -> int:
        self.stream.write(s)  # type: ignore[attr-defined]
        return self.buf.write(s)

    def flush(self) -> None:
        self.stream.flush()  # type: ignore[attr-defined]


def run_one(argv: list[str]) -> tuple[int, str]:
    from antiphon.cli import build_parser

    tee = _Tee(sys.stdout)
    try:
        with contextlib.redirect_stdout(tee):  # type: ignore[type-var]
            args = _parse(build_parser(), argv)
            rc = int(args.func(args) or 0)
    except SystemExit as exc:  # argparse: the command line was not accepted
        rc = int(exc.code or 2)
    except Exception:  # one benchmark failing must not stop the others
        tee.write(traceback.format_exc())
        rc = 1
    return rc, tee.buf.getvalue()


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    if argv[:2] == ["bench", "e2e"]:
        try:
            return parser.parse_args(argv)
        except SystemExit:  # the module exists but registers no subcommand: call its main
            mod = importlib.import_module("antiphon.bench.e2e")
            return argparse.Namespace(func=mod.main, quick="--quick" in argv, json=None)
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, object]] = {}
    for name, argv in plan(out, args.quick):
        if argv is None:
            results[name] = {"status": "not available", "rc": None, "seconds": 0.0, "output": ""}
            continue
        print(f"\n=== antiphon {' '.join(argv)}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        rc, text = run_one(argv)
        results[name] = {
            "command": "antiphon " + " ".join(argv),
            "status": "ok" if rc == 0 else f"failed (exit {rc})",
            "rc": rc,
            "seconds": round(time.monotonic() - t0, 1),
            "output": text,
        }
    for name, path in (
        ("latency", out / "latency.json"),
        ("duplex", out / "duplex" / "report.json"),
    ):
        if path.is_file() and results[name]["rc"] == 0:
            data = json.loads(path.read_text())
            results[name]["figures"] = data.get("summary", data)
    (out / "report.json").write_text(
        json.dumps({"quick": args.quick, "benchmarks": results}, indent=1)
    )
    (out / "report.md").write_text(markdown(results, args.quick))
    print(f"\nreport: {out / 'report.md'}")
    return 0 if all(r["rc"] in (0, None) for r in results.values()) else 1


def markdown(results: dict[str, dict[str, object]], quick: bool) -> str:
    lines = [
        f"# antiphon benchmarks{' (quick)' if quick else ''}",
        "",
        "| benchmark | status | seconds |",
        "|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['status']} | {r['seconds']} |")
    for name, r in results.items():
        lines += ["", f"## {name}", ""]
        if r.get("command"):
            lines += [f"`{r['command']}`", ""]
        if name == "duplex" and r["rc"] == 0:
            lines += ["Full report with pictures: `duplex/report.md`, `duplex/report.html`.", ""]
        lines += ["```", str(r["output"]).strip() or "(no output)", "```"]
    return "\n".join(lines) + "\n"
