"""Lay rendered turns out on two time-aligned channels with natural conversational timing.

Every timing choice is drawn from the dialogue's own seeded numpy Generator:
- gaps between turns: lognormal around ``gap_median_s``;
- overlaps (``p_overlap``): the next speaker starts shortly before the previous one ends,
  and the previous one finishes its turn;
- interruptions (``p_interrupt``): the next speaker starts in the middle of the previous
  turn; the interrupted speaker goes on for ``continue_s`` and is cut there (fade-out),
  and the words that had not ended by the cut are dropped from its word list and text;
- pauses inside turns (``p_pause``): a turn is split at a comma and rendered as two parts
  with ``pause_s`` of silence between them (``pause_style="split"``), or spoken whole and the
  comma's own short silence stretched to ``pause_s`` (``"stretch"``: the words before the
  pause keep the level intonation of a sentence that goes on, as in the duplex bench's pause
  scenarios, while parts spoken apart each end with a final fall, like a turn end);
- backchannels (``p_backchannel``): during a long turn the listener says "uh-huh",
  "yeah", ... where its own channel is free.
A channel holds only one speaker, so each channel's audio is silent outside its turns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import numpy as np

from antiphon.data.manifest import Turn, Word

RATE = 24000
BACKCHANNELS = ("uh-huh", "yeah", "mm-hmm", "right", "okay", "I see")
# (audio, words relative to the audio's start, "whisper" | "proportional")
Render = Callable[[str, str, float], tuple[np.ndarray, list[Word], str]]


PAUSE_STYLES = ("split", "stretch")


@dataclass(frozen=True)
class TimingConfig:
    gap_median_s: float = 0.35
    gap_sigma: float = 0.5  # of log(gap)
    gap_range_s: tuple[float, float] = (0.05, 2.0)
    p_overlap: float = 0.15
    overlap_s: tuple[float, float] = (0.1, 0.5)
    p_interrupt: float = 0.1
    interrupt_at: tuple[float, float] = (0.4, 0.75)  # fraction of the interrupted turn
    continue_s: tuple[float, float] = (0.15, 0.5)
    p_backchannel: float = 0.5
    backchannel_min_turn_s: float = 2.0
    p_pause: float = 0.3
    pause_s: tuple[float, float] = (0.3, 0.9)
    pause_style: str = "split"  # or "stretch" (see the module docstring)
    speed: tuple[float, float] = (0.9, 1.1)
    lead_s: tuple[float, float] = (0.3, 0.8)
    tail_s: tuple[float, float] = (0.5, 1.0)


def parse_timing(spec: str, base: TimingConfig | None = None) -> TimingConfig:
    """``"p_overlap=0.3,pause_s=0.2:0.6"`` → TimingConfig (ranges written ``LO:HI``)."""
    base = base or TimingConfig()
    changes: dict[str, str | float | tuple[float, float]] = {}
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not hasattr(base, key):
            known = ", ".join(f.name for f in fields(TimingConfig))
            raise ValueError(f"--timing: unknown or malformed {item!r} (keys: {known})")
        current = getattr(base, key)
        if isinstance(current, str):
            if value not in PAUSE_STYLES:
                raise ValueError(
                    f"--timing: {key} must be one of {list(PAUSE_STYLES)}, got {value!r}"
                )
            changes[key] = value
            continue
        is_range = isinstance(current, tuple)
        try:
            if is_range:
                lo, hi = (float(v) for v in value.split(":"))
                if lo > hi:
                    raise ValueError
                changes[key] = (lo, hi)
            else:
                changes[key] = float(value)
        except ValueError:
            form = "LO:HI with LO <= HI" if is_range else "a number"
            raise ValueError(f"--timing: {key} must be {form}, got {value!r}") from None
        if key.startswith("p_") and not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"--timing: {key} is a probability, got {value}")
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Placed:
    speaker: str
    text: str
    start: float
    audio: np.ndarray
    words: tuple[Word, ...]  # relative to start
    kind: str
    alignment: str
    pauses: int = 0

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / RATE


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def _clause_split(text: str, rng: np.random.Generator) -> tuple[str, str] | None:
    """Split at a comma (or ``;``) with at least two words on each side."""
    cuts = [m.end() for m in re.finditer(r"[,;]\s", text)]
    cuts = [c for c in cuts if len(text[:c].split()) >= 2 and len(text[c:].split()) >= 2]
    if not cuts:
        return None
    c = cuts[int(rng.integers(len(cuts)))]
    return text[:c].strip(), text[c:].strip()


def render_turn(
    speaker: str, text: str, render: Render, cfg: TimingConfig, rng: np.random.Generator
) -> tuple[np.ndarray, list[Word], str, int]:
    """A turn's audio and words, with a pause inside it when drawn."""
    speed = _uniform(rng, cfg.speed)
    split = _clause_split(text, rng) if rng.random() < cfg.p_pause else None
    if split and cfg.pause_style == "stretch":
        return _stretched(speaker, split, render, speed, _uniform(rng, cfg.pause_s))
    parts = list(split) if split else [text]
    audio: list[np.ndarray] = []
    words: list[Word] = []
    methods = set()
    offset = 0
    for i, part in enumerate(parts):
        if i:
            gap = np.zeros(int(_uniform(rng, cfg.pause_s) * RATE), np.float32)
            audio.append(gap)
            offset += gap.size
        a, ws, method = render(speaker, part, speed)
        words += [Word(w.word, w.start + offset / RATE, w.end + offset / RATE) for w in ws]
        audio.append(a)
        offset += a.size
        methods.add(method)
    method = "whisper" if methods == {"whisper"} else "proportional"
    return np.concatenate(audio), words, method, len(parts) - 1


def _silent_gaps(
    audio: np.ndarray, floor_db: float = -30.0, min_s: float = 0.04
) -> list[tuple[int, int]]:
    """Silent stretches between words (samples): 10 ms frames ``floor_db`` below the peak,
    at least ``min_s`` long, not at the edges."""
    hop = RATE // 100
    n = len(audio) // hop
    if n < 3:
        return []
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / (rms.max() + 1e-12)) > floor_db)
    gaps = [
        (int(a + 1), int(b))
        for a, b in zip(loud, loud[1:], strict=False)
        if b - a - 1 >= min_s * 100
    ]
    return [(a * hop, b * hop) for a, b in gaps]


def _stretched(
    speaker: str, parts: tuple[str, str], render: Render, speed: float, pause: float
) -> tuple[np.ndarray, list[Word], str, int]:
    """The turn spoken whole (comma kept), the silence nearest the comma stretched to
    ``pause`` seconds; words after it move by the inserted time."""
    audio, words, method = render(speaker, f"{parts[0]} {parts[1]}", speed)
    k = len(parts[0].split())  # words before the pause
    est = int((words[k - 1].end if 0 < k <= len(words) else len(audio) / RATE / 2) * RATE)
    gaps = _silent_gaps(audio)
    if not gaps:  # no silence found: insert one at the estimate
        gaps = [(est, est)]
    a, b = min(gaps, key=lambda g: abs((g[0] + g[1]) / 2 - est))
    silence = np.zeros(int(pause * RATE), np.float32)
    out = np.concatenate([audio[:a], silence, audio[b:]])
    shift = (len(silence) - (b - a)) / RATE
    moved = words[:k] + [Word(w.word, w.start + shift, w.end + shift) for w in words[k:]]
    return out, moved, method, 1


def _cut(p: Placed, at: float) -> Placed | None:
    """``p`` stopped at absolute time ``at``; None if no word would be left."""
    rel = at - p.start
    kept = tuple(w for w in p.words if w.end <= rel)
    if not kept:
        return None
    audio = p.audio[: int(round(rel * RATE))].copy()
    fade = min(int(0.01 * RATE), audio.size)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return replace(p, audio=audio, words=kept, text=" ".join(w.word for w in kept))


def lay_out(
    script: tuple[tuple[str, str], ...],
    render: Render,
    cfg: TimingConfig,
    rng: np.random.Generator,
    max_seconds: float | None = None,
) -> list[Placed]:
    """Main turns (with gaps, overlaps, interruptions), then backchannels."""
    placed: list[Placed] = []
    free_at = {"agent": 0.0, "user": 0.0}  # when each channel is free again
    t = _uniform(rng, cfg.lead_s)
    for speaker, text in script:
        audio, words, method, pauses = render_turn(speaker, text, render, cfg, rng)
        kind, start = "turn", t
        prev = placed[-1] if placed else None
        if prev is not None:
            r = rng.random()
            gap = float(np.exp(rng.normal(np.log(cfg.gap_median_s), cfg.gap_sigma)))
            start = prev.end + float(np.clip(gap, *cfg.gap_range_s))
            if prev.speaker != speaker and r < cfg.p_interrupt:
                at = prev.start + _uniform(rng, cfg.interrupt_at) * (prev.end - prev.start)
                at = max(at, prev.start + prev.words[0].end + 0.05) if prev.words else at
                at = round(at, 3)
                cut = _cut(prev, at + _uniform(rng, cfg.continue_s))
                if cut is not None and cut.end < prev.end and at >= free_at[speaker] + 0.1:
                    placed[-1], kind, start = cut, "interruption", at
                    free_at[prev.speaker] = cut.end
            elif prev.speaker != speaker and r < cfg.p_interrupt + cfg.p_overlap:
                start = max(prev.start + 0.2, prev.end - _uniform(rng, cfg.overlap_s))
        start = round(max(start, free_at[speaker] + (0.1 if placed else 0.0)), 3)
        if max_seconds is not None and len(placed) >= 2 and start + len(audio) / RATE > max_seconds:
            break
        placed.append(Placed(speaker, text, start, audio, tuple(words), kind, method, pauses))
        free_at[speaker] = placed[-1].end
        t = placed[-1].end
    return placed + _backchannels(placed, render, cfg, rng)


def _backchannels(
    placed: list[Placed], render: Render, cfg: TimingConfig, rng: np.random.Generator
) -> list[Placed]:
    out: list[Placed] = []
    for p in list(placed):
        if p.end - p.start < cfg.backchannel_min_turn_s or rng.random() >= cfg.p_backchannel:
            continue
        listener = "user" if p.speaker == "agent" else "agent"
        text = BACKCHANNELS[int(rng.integers(len(BACKCHANNELS)))]
        at = round(p.start + _uniform(rng, (0.35, 0.7)) * (p.end - p.start), 3)
        audio, words, method = render(listener, text, _uniform(rng, cfg.speed))
        end = at + len(audio) / RATE
        busy = [q for q in placed + out if q.speaker == listener]
        if any(q.start - 0.15 < end and at < q.end + 0.15 for q in busy):
            continue  # the listener's channel is not free there
        out.append(Placed(listener, text, at, audio, tuple(words), "backchannel", method))
    return out


def mix(placed: list[Placed], tail_s: float) -> np.ndarray:
    """(samples, 2) float32: channel 0 agent, channel 1 user."""
    end = max((p.end for p in placed), default=0.0) + tail_s
    out = np.zeros((int(np.ceil(end * RATE)), 2), np.float32)
    for p in placed:
        i = int(round(p.start * RATE))
        out[i : i + len(p.audio), 0 if p.speaker == "agent" else 1] += p.audio
    return out


def turns_and_words(placed: list[Placed]) -> tuple[list[Turn], dict[str, list[Word]]]:
    ordered = sorted(placed, key=lambda p: (p.start, p.speaker))
    turns = [Turn(p.speaker, p.text, p.start, p.end, p.kind, p.alignment) for p in ordered]
    words: dict[str, list[Word]] = {"agent": [], "user": []}
    for p in ordered:
        words[p.speaker] += [Word(w.word, p.start + w.start, p.start + w.end) for w in p.words]
    for ws in words.values():
        ws.sort(key=lambda w: w.start)
    return turns, words
