"""How each category's scenarios are made (Full-Duplex-Bench v1 and v1.5 designs, with
offline voices). Every random choice comes from the scenario's own generator."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from antiphon.bench.duplex import noises, texts
from antiphon.bench.duplex.effects import USER_LEVEL_DBFS, at_level, echo_ir, far_field
from antiphon.bench.duplex.scenarios import RATE, EchoPath, Part, Scenario, voiced_intervals
from antiphon.bench.duplex.voices import AGENT_VOICE, USER_VOICES, VoiceError, synthesize

LEAD_S = 0.5  # silence before the user's first word
RESPONSE_WINDOW_S = 5.0  # "a complete question followed by 5 s of silence"
AGENT_OFFSET_S = (1.5, 3.0)  # overlaps start this far into the agent's answer
SOFT_DB = (-12.0, -8.0)  # a soft interruption's level relative to the user's normal speech


def _user(text: str, voice: str) -> np.ndarray:
    if voice.partition(":")[0] == AGENT_VOICE:
        raise VoiceError(f"user voice {voice!r} is the agent's own voice")
    return at_level(synthesize(text, voice, RATE), USER_LEVEL_DBFS)


def _part(role: str, text: str, voice: str, audio: np.ndarray, when: str, start: float,
          speech: tuple[tuple[float, float], ...] | None = None, level: float = 0.0) -> Part:  # fmt: skip
    return Part(
        role, text, voice, f"{role}.wav", when, round(start, 3),  # type: ignore[arg-type]
        round(len(audio) / RATE, 3), speech if speech is not None else voiced_intervals(audio),
        round(level, 2),
    )  # fmt: skip


def _pick(items: list, i: int, seed: int, key: str):
    """Scenario i of a category takes item i of a seeded shuffle of the material, so every
    item is used before any repeats, whatever the number of scenarios."""
    order = np.random.default_rng([seed, zlib.crc32(key.encode())]).permutation(len(items))
    return items[int(order[i % len(items)])]


def _question(text: str, voice: str) -> tuple[Part, np.ndarray]:
    audio = _user(text, voice)
    return _part("question", text, voice, audio, "start", LEAD_S), audio


def build_scenario(
    category: str, i: int, rng: np.random.Generator, seed: int
) -> tuple[Scenario, dict[str, np.ndarray]]:
    def pick(items: list, key: str):
        return _pick(items, i, seed, f"{category}/{key}")

    voice = USER_VOICES[i % len(USER_VOICES)]
    sid = f"{category}-{i:03d}"
    if category == "pause":
        return _pause(sid, pick(texts.PAUSED, "paused"), voice, rng)
    if category == "turn_taking":
        q, qa = _question(pick(texts.QUESTIONS, "questions"), voice)
        return Scenario(sid, category, "question", (q,), RESPONSE_WINDOW_S), {q.wav: qa}
    q, qa = _question(pick(texts.LONG, "long"), voice)
    offset = float(rng.uniform(*AGENT_OFFSET_S))
    if category == "interruption":
        text = pick(texts.INTERRUPTS, "interrupts")
        p = _part("interrupt", text, voice, _user(text, voice), "agent", offset)
        files = {q.wav: qa, p.wav: _user(text, voice)}
        return Scenario(sid, category, "pivot", (q, p), RESPONSE_WINDOW_S), files
    if category == "backchannel":
        label, override, say = texts.BACKCHANNELS[i % len(texts.BACKCHANNELS)]
        bvoice = override or voice
        level = float(rng.uniform(-3.0, 0.0))
        ba = at_level(synthesize(say, bvoice, RATE), USER_LEVEL_DBFS + level)
        p = _part("backchannel", label, bvoice, ba, "agent", offset, level=level)
        return Scenario(sid, category, label, (q, p), 3.0), {q.wav: qa, p.wav: ba}
    if category == "soft_interruption":
        text = pick(texts.SOFT_INTERRUPTS, "soft")
        level = float(rng.uniform(*SOFT_DB))
        sa = at_level(synthesize(text, voice, RATE), USER_LEVEL_DBFS + level)
        p = _part("interrupt", text, voice, sa, "agent", offset, level=level)
        return Scenario(sid, category, "soft", (q, p), RESPONSE_WINDOW_S), {q.wav: qa, p.wav: sa}
    if category == "unlisted_backchannel":
        return _unlisted(sid, i, pick, voice, q, qa, offset, rng)
    if category == "background":
        text = pick(texts.SIDE_TALK if i % 2 == 0 else texts.BACKGROUND, f"bg{i % 2}")
        return _background(sid, i, text, voice, q, qa, offset, rng)
    if category == "echo":
        delay, gain = float(rng.uniform(60, 200)), float(rng.uniform(-12.0, -6.0))
        listen = np.zeros(int(6.0 * RATE), np.float32)
        p = _part("listen", "", "", listen, "agent", 0.0, speech=())
        ir = echo_ir(rng, RATE, delay, gain)
        path = EchoPath(round(delay, 1), round(gain, 2), "echo_ir.wav")
        files = {q.wav: qa, p.wav: listen, "echo_ir.wav": ir}
        return Scenario(sid, category, "own voice", (q, p), 1.0, path), files
    raise ValueError(f"no builder for category {category!r}")


def _unlisted(
    sid: str,
    i: int,
    pick: Callable[..., str],
    voice: str,
    q: Part,
    qa: np.ndarray,
    offset: float,
    rng: np.random.Generator,
) -> tuple[Scenario, dict[str, np.ndarray]]:
    """An acknowledgement outside the agent's backchannel list, or a noise (cough, laugh,
    knock), at the user's level or up to 3 dB below: the agent should keep talking. Every
    third scenario is a noise."""
    level = float(rng.uniform(-3.0, 0.0))
    if i % 3 == 2:
        label, variant, v = noises.NOISES[(i // 3) % len(noises.NOISES)], "noise", "numpy"
        raw = noises.make(label, rng, RATE)
    else:
        label, variant, v = pick(texts.UNLISTED_BACKCHANNELS, "unlisted"), "words", voice
        raw = synthesize(label, voice, RATE)
    ba = at_level(raw, USER_LEVEL_DBFS + level)
    p = _part("backchannel", label, v, ba, "agent", offset, level=level)
    return Scenario(sid, "unlisted_backchannel", variant, (q, p), 3.0), {q.wav: qa, p.wav: ba}


def _pause(
    sid: str, sentence: str, voice: str, rng: np.random.Generator
) -> tuple[Scenario, dict[str, np.ndarray]]:
    """A user turn with one or two mid-clause pauses of 0.4-1.0 s, then silence.

    The sentence is spoken whole with a comma where each pause goes, so the words before
    a pause keep the level, unfinished intonation of a sentence that goes on (pieces
    synthesized apart would each end with a final fall, which is a turn end), and the
    comma's short silence is then stretched to the pause's length."""
    chunks = [c.strip() for c in sentence.split("|")]
    if rng.random() < 0.5:  # one pause only: join two of the chunks
        j = int(rng.integers(len(chunks) - 1))
        chunks = chunks[:j] + [chunks[j] + " " + chunks[j + 1]] + chunks[j + 2 :]
    full = synthesize(", ".join(chunks), voice, RATE)
    alone = [len(synthesize(c, voice, RATE)) for c in chunks]
    squeeze = len(full) / sum(alone)  # pieces spoken alone end slower (final lengthening)
    gaps = _gaps(full)
    pieces: list[np.ndarray] = []
    fade = np.linspace(0.0, 1.0, RATE // 200, dtype=np.float32)  # 5 ms, no clicks
    pos = 0
    for k in range(1, len(chunks)):
        est = sum(alone[:k]) * squeeze  # where piece k begins, roughly (samples)
        later = [g for g in gaps if g[0] > pos + RATE // 10] or [(int(est), int(est))]
        a, b = min(later, key=lambda g: abs((g[0] + g[1]) / 2 - est))
        piece = full[pos:a].copy()
        piece[-len(fade) :] *= fade[::-1]
        pieces += [piece, np.zeros(int(float(rng.uniform(0.4, 1.0)) * RATE), np.float32)]
        pos = b
    last = full[pos:].copy()
    last[: len(fade)] *= fade
    pieces.append(last)
    audio = at_level(np.concatenate(pieces), USER_LEVEL_DBFS)
    # a pause is where we put silence: gaps in the voiced intervals shorter than 0.3 s are
    # the voice's own (stop consonants), not pauses
    speech = voiced_intervals(audio, min_gap_s=0.3)
    q = _part("question", " ... ".join(chunks), voice, audio, "start", LEAD_S, speech=speech)
    variant = f"{len(chunks) - 1} pause{'s' if len(chunks) > 2 else ''}"
    return Scenario(sid, "pause", variant, (q,), RESPONSE_WINDOW_S), {q.wav: audio}


def _gaps(audio: np.ndarray) -> list[tuple[int, int]]:
    """Silent stretches between words (samples): gaps of 40 ms or more in the voiced
    intervals, 30 dB below the peak."""
    spans = voiced_intervals(audio, floor_db=-30.0, min_gap_s=0.04)
    return [(int(a[1] * RATE), int(b[0] * RATE)) for a, b in zip(spans, spans[1:], strict=False)]


def _background(
    sid: str,
    i: int,
    text: str,
    voice: str,
    q: Part,
    qa: np.ndarray,
    offset: float,
    rng: np.random.Generator,
) -> tuple[Scenario, dict[str, np.ndarray]]:
    """v1.5 "talking to others" (the user's own voice, turned away) and "background speech"
    (another voice across the room): lower level, band-limited, reverberant."""
    rt60 = float(rng.uniform(0.3, 0.6))
    if i % 2 == 0:
        role, v = "side_talk", voice
        level = float(rng.uniform(-16.0, -10.0))
    else:
        role = "background"
        v = USER_VOICES[(i + 3) % len(USER_VOICES)]
        level = float(rng.uniform(-20.0, -14.0))
    dry = synthesize(text, v, RATE)
    wet = far_field(dry, RATE, rng, USER_LEVEL_DBFS + level, rt60)
    p = _part(role, text, v, wet, "agent", offset, speech=voiced_intervals(dry), level=level)
    variant = "talking to others" if role == "side_talk" else "background speech"
    return Scenario(sid, "background", variant, (q, p), 3.0), {q.wav: qa, p.wav: wet}
