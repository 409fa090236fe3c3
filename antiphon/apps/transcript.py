"""Human-readable lines for a session's events (demo, chat, respond)."""

from __future__ import annotations

from antiphon.session.events import (
    ErrorEvent,
    Event,
    Metrics,
    ResponseDone,
    StyleChanged,
    ToolCall,
    ToolResultSpoken,
    UserSpeechStarted,
    UserTranscriptFinal,
)


def describe(t: float, ev: Event) -> str | None:
    stamp = f"[{t:6.2f}s]"
    if isinstance(ev, UserSpeechStarted):
        return f"{stamp} (user starts speaking)"
    if isinstance(ev, UserTranscriptFinal):
        return f"{stamp} USER : {ev.text or '(nothing recognised)'}"
    if isinstance(ev, ToolCall):
        return f"{stamp} TOOL : {ev.name}({ev.arguments})"
    if isinstance(ev, ToolResultSpoken):
        return f"{stamp}      → {ev.output}"
    if isinstance(ev, ResponseDone):
        if ev.status == "cancelled":
            return f"{stamp} AGENT: {ev.text}…  [cut off by {ev.reason} after {ev.heard_ms} ms of audio]"
        return f"{stamp} AGENT: {ev.text}  [{ev.status}]"
    if isinstance(ev, StyleChanged):
        return (
            f"{stamp} STYLE: speed {ev.speed:.2f}, volume {ev.volume:.2f}, pitch {ev.pitch:+.1f} st"
        )
    if isinstance(ev, ErrorEvent):
        return f"{stamp} ERROR: {ev.code}: {ev.message}"
    if isinstance(ev, Metrics):
        parts = ", ".join(f"{k.removesuffix('_ms')} {v:.0f} ms" for k, v in ev.values.items())
        return f"{stamp}        stages after end of speech: {parts}" if parts else None
    return None
