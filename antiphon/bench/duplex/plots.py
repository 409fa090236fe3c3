"""Pictures for the report: one timeline per take (who speaks when, and what the rules
saw), latency histograms, and our figures beside the published ones."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from antiphon.bench.duplex.published import COLUMNS, PUBLISHED  # noqa: E402

Result = dict[str, object]
ROLE_COLORS = {
    "question": "#3b7dd8",
    "interrupt": "#d84b3b",
    "backchannel": "#e0a030",
    "side_talk": "#9a6fc0",
    "background": "#8c8c8c",
    "listen": "#cfcfcf",
}
AGENT = "#2a9d5c"


def _envelope(
    audio: np.ndarray, rate: int = 16000, hop_s: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    hop = int(rate * hop_s)
    n = len(audio) // hop
    if n == 0:
        return np.zeros(0), np.zeros(0)
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1))
    db = np.clip(20 * np.log10(rms + 1e-9) + 60, 0, 60) / 60  # 0..1 over a 60 dB range
    return np.arange(n) * hop_s, db


def timeline(
    result: Result, path: Path, user: np.ndarray | None = None, agent: np.ndarray | None = None
) -> None:
    v: dict = result["verdict"]  # type: ignore[assignment]
    fig, ax = plt.subplots(figsize=(10, 2.1), dpi=72)
    dur = float(result["duration_s"])  # type: ignore[arg-type]
    for lane, audio, color in ((1.0, user, "#9bb8e0"), (0.0, agent, "#9fd3b4")):
        if audio is not None:
            t, env = _envelope(audio)
            ax.fill_between(t, lane - 0.35 * env, lane + 0.35 * env, color=color, lw=0)
    for p in result["parts"]:  # type: ignore[attr-defined]
        for a, b in p["speech"]:
            ax.broken_barh([(a, b - a)], (1.25, 0.12), color=ROLE_COLORS.get(p["role"], "k"))
        if p["speech"]:
            ax.text(
                p["speech"][0][0],
                1.42,
                p["role"],
                fontsize=7,
                color=ROLE_COLORS.get(p["role"], "k"),
            )
    for a, b in result["agent_segments"]:  # type: ignore[attr-defined]
        ax.broken_barh([(a, b - a)], (-0.37, 0.12), color=AGENT)
    for w in result["agent_words"][:60]:  # type: ignore[index]
        ax.text(w["start"], -0.55, w["text"], fontsize=6, rotation=30, color="#1d6b40")
    marks = [
        ("user_end", "user ends", "#3b7dd8"),
        ("takeover_at", "takeover", "#d84b3b"),
        ("onset", "overlap", "#d84b3b"),
        ("stop_at", "agent stops", "#000000"),
    ]
    for key, label, color in marks:
        at = v.get(key)
        if isinstance(at, int | float):
            ax.axvline(at, color=color, ls="--", lw=0.8)
            ax.text(at, 1.62, label, fontsize=7, color=color)
    ax.set_xlim(0, max(dur, 1.0))
    ax.set_ylim(-0.8, 1.8)
    ax.set_yticks([0, 1], ["agent", "user"])
    ax.set_xlabel("s", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(
        f"{result['scenario']} · {result['variant']} · {_verdict_text(v)}", fontsize=8, loc="left"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _verdict_text(v: dict) -> str:
    if v.get("valid") is False:
        return "not valid: " + str(v.get("why", ""))
    bits = []
    if "takeover" in v:
        bits.append(f"takeover {'yes' if v['takeover'] else 'no'}")
    if v.get("latency_s") is not None:
        bits.append(f"latency {v['latency_s']:.2f} s")
    if "stopped" in v:
        bits.append("stopped" if v["stopped"] else "kept talking")
    if v.get("stop_latency_s") is not None:
        bits.append(f"stop latency {v['stop_latency_s']:.2f} s")
    return ", ".join(bits)


def histograms(results: list[Result], path: Path) -> None:
    series = [
        ("turn_taking", "latency_s", "smooth turn-taking latency"),
        ("interruption", "stop_latency_s", "interruption stop latency"),
        ("interruption", "latency_s", "interruption response latency"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), dpi=80)
    for ax, (cat, key, title) in zip(axes, series, strict=True):
        vals = [
            float(r["verdict"][key])  # type: ignore[index]
            for r in results
            if r["category"] == cat and r["verdict"].get(key) is not None  # type: ignore[attr-defined]
        ]
        if vals:
            ax.hist(vals, bins=np.arange(0, max(vals) + 0.2, 0.1), color=AGENT)
            ax.axvline(float(np.median(vals)), color="k", ls="--", lw=0.8)
            ax.set_title(f"{title}\np50 {np.median(vals):.2f} s, n={len(vals)}", fontsize=9)
        else:
            ax.set_title(f"{title}\n(no data)", fontsize=9)
        ax.set_xlabel("s", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def versus_published(ours: dict[str, float | None], path: Path) -> None:
    keys = [
        k
        for k in (
            "pause_synthetic_tor",
            "turn_tor",
            "turn_latency",
            "interrupt_tor",
            "interrupt_latency",
        )
        if ours.get(k) is not None
    ]
    names = ["antiphon", *PUBLISHED]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(2.3 * max(1, len(keys)), 2.8), dpi=80)
    axes = np.atleast_1d(axes)
    for ax, key in zip(axes, keys, strict=False):
        vals = [ours[key]] + [PUBLISHED[n][key] for n in PUBLISHED]
        colors = [AGENT] + ["#b0b0b0"] * len(PUBLISHED)
        ax.bar(range(len(names)), [float(v or 0) for v in vals], color=colors)
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
        ax.set_title(COLUMNS[key][0], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
