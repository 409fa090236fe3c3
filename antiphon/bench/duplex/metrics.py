"""Per-take verdicts with the published Full-Duplex-Bench rules (v1: takeover, latency;
v1.5: stop latency), computed from the agent's speech segments and words and the take's
ground truth. Deviations from the published rules are listed in docs/bench-duplex.md."""

from __future__ import annotations

from dataclasses import dataclass

from antiphon.bench.duplex.segments import Span, Word
from antiphon.bench.duplex.take import Played, Response, Take

TURN_S = 1.0  # v1: the agent took the turn when its words span >= 1 s ...
TURN_WORDS = 3  # ... or it said more than 3 words
STOP_GAP_S = 0.5  # the agent has stopped when it is silent this long
FALSE_STOP_WINDOW_S = 1.5  # a stop this soon after an overlap ends was caused by it
BACKCHANNEL_MAX_S = 1.0  # v1: agent speech shorter than this with <= 2 words is a backchannel
BACKCHANNEL_MAX_WORDS = 2
NATURAL_END_S = 0.5  # a stop this close to the end of a completed response is its end


@dataclass
class Observed:
    """The agent side of a take, as the analysis read it."""

    segments: list[Span]
    words: list[Word]
    responses: list[Response]
    duration_s: float  # length of the take


def takes_turn(words: list[Word]) -> bool:
    """v1 rule: no words, no turn; words spanning >= 1 s, or more than 3 words, is a turn."""
    if not words:
        return False
    return bool(words[-1].end - words[0].start >= TURN_S or len(words) > TURN_WORDS)


def onset(word: Word, segments: list[Span]) -> float:
    """Where the speech that carries ``word`` begins (the VAD segment's start)."""
    seg = next((s for s in segments if s[0] <= word.start <= s[1]), None)
    return seg[0] if seg is not None else word.start


def turns(obs: Observed) -> list[Span]:
    """The agent's speech joined into turns: segments closer than STOP_GAP_S, or farther
    apart inside one response that goes on afterwards (its audio arrived late), belong to
    the same turn."""
    out: list[Span] = []
    for a, b in obs.segments:
        if out and (a - out[-1][1] < STOP_GAP_S or _same_response(out[-1][1], a, obs.responses)):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def turn_at(t: float, obs: Observed) -> Span | None:
    return next((s for s in turns(obs) if s[0] <= t < s[1]), None)


def stop_after(t: float, obs: Observed) -> float | None:
    """When the agent's turn going on at ``t`` stops (the start of its first silence of at
    least STOP_GAP_S). ``t`` when no turn is going on; None when it is still speaking where
    the take ends."""
    turn = turn_at(t, obs)
    if turn is None:
        return t
    return turn[1] if obs.duration_s - turn[1] >= STOP_GAP_S else None


def _same_response(gap_start: float, gap_end: float, responses: list[Response]) -> bool:
    return any(r.first_s < gap_start and r.last_s > gap_end for r in responses)


def natural_end(t_stop: float, responses: list[Response]) -> bool:
    """The speech stopped because a response was complete (per the server), not cut off."""
    return any(
        r.status == "completed" and abs(r.last_s - t_stop) <= NATURAL_END_S for r in responses
    )


def _latency(words: list[Word], after: float, segments: list[Span]) -> tuple[float, float]:
    """(published latency clamped at 0 as in v1, raw latency) of the first word."""
    raw = onset(words[0], segments) - after
    return max(0.0, raw), raw


def pause(take: Take, obs: Observed) -> dict[str, object]:
    """v1 pause handling: the agent must not take the turn before the user's turn is over
    (the output is cut where the user's input ends, as in v1's time-synchronous output)."""
    q = _part(take, "question")
    user_start, user_end = q.speech[0][0], q.end_s
    early = [w for w in obs.words if w.start < user_end]
    bcs = backchannels(obs, user_start, user_end)
    return {
        "takeover": takes_turn(early),
        "takeover_at": onset(early[0], obs.segments) if takes_turn(early) else None,
        "pauses": [(a[1], b[0]) for a, b in zip(q.speech, q.speech[1:], strict=False)],
        "backchannels": len(bcs),
        "backchannel_per_s": len(bcs) / max(user_end - user_start, 1e-9),
        "user_end": user_end,
    }


def backchannels(obs: Observed, start: float, end: float) -> list[Span]:
    """v1 backchannel detection: agent segments starting while the user holds the floor that
    are shorter than 1 s and carry at most 2 words."""
    out = []
    for a, b in obs.segments:
        if start <= a < end and b - a < BACKCHANNEL_MAX_S:
            n = sum(1 for w in obs.words if a <= w.start <= b)
            if n <= BACKCHANNEL_MAX_WORDS:
                out.append((a, b))
    return out


def turn_taking(take: Take, obs: Observed) -> dict[str, object]:
    """v1 smooth turn-taking: the agent takes the turn; latency = its first word's onset -
    the end of the user's turn (negative clamped to 0, as published)."""
    user_end = _part(take, "question").end_s
    took = bool(takes_turn(obs.words))
    lat, raw = _latency(obs.words, user_end, obs.segments) if took else (None, None)
    return {"takeover": took, "latency_s": lat, "raw_latency_s": raw, "user_end": user_end}


def interruption(take: Take, obs: Observed) -> dict[str, object]:
    """v1 user interruption (takeover and response latency after the interruption ends) and
    v1.5 stop latency (interruption onset → the agent stops)."""
    ip = _part(take, "interrupt")
    t_on, t_off = ip.speech[0][0], ip.end_s
    after = [w for w in obs.words if w.start >= t_off]
    took = takes_turn(after)
    lat, raw = _latency(after, t_off, obs.segments) if took else (None, None)
    out: dict[str, object] = {
        "takeover": took,
        "latency_s": lat,
        "raw_latency_s": raw,
        "onset": t_on,
        "end": t_off,
        **_overlap(obs, t_on, t_off),
    }
    return out


def false_stop(take: Take, obs: Observed, role: str) -> dict[str, object]:
    """v1.5 overlaps the agent should talk through (backchannel, talking to others,
    background speech): a false stop is a stop within 1.5 s after the overlap ends that is
    not the natural end of a completed response."""
    d = _part(take, role)
    t_on, t_off = d.speech[0][0], d.end_s
    return {"onset": t_on, "end": t_off, **_overlap(obs, t_on, t_off)}


def echo(take: Take, obs: Observed) -> dict[str, object]:
    """The agent's own voice comes back through the room while it talks: it must not stop
    during the listening window (a part of silence that starts with the agent's voice)."""
    p = _part(take, "listen")
    first = next((a for a, b in obs.segments if b > p.start_s), p.start_s)
    t_on = max(p.start_s, first) + 0.05  # the listening window opens with the agent's voice
    t_off = p.start_s + p.length_s
    return {"onset": t_on, "end": t_off, **_overlap(obs, t_on, t_off)}


def answering_at(t: float, obs: Observed) -> bool:
    """The agent holds the floor at ``t``: it is speaking, or it has paused inside an
    answer that was not over (its audio ran late; the server ended it as anything but
    completed). Without statuses (a protocol that cannot say), a pause shorter than
    STOP_GAP_S."""
    if turn_at(t, obs) is not None:
        return True
    before = [s for s in turns(obs) if s[1] <= t]
    if not before:
        return False
    end = before[-1][1]
    if not obs.responses:
        return t - end < STOP_GAP_S
    last = [r for r in obs.responses if r.first_s <= end + 0.1 and r.last_s >= end - 0.3]
    return bool(last) and last[-1].status != "completed"


def _overlap(obs: Observed, t_on: float, t_off: float) -> dict[str, object]:
    if not answering_at(t_on, obs):
        return {"valid": False, "why": "the agent was not answering when the overlap began"}
    t_stop = stop_after(t_on, obs)
    if turn_at(t_on, obs) is None:  # it was in a pause: did it pick up again right after?
        again = next((s for s in turns(obs) if t_on < s[0] < t_on + STOP_GAP_S), None)
        t_stop = stop_after(again[0], obs) if again is not None else t_on
    if t_stop is not None and natural_end(t_stop, obs.responses):
        stopped = False  # it finished its answer
    else:
        stopped = t_stop is not None and t_stop <= t_off + FALSE_STOP_WINDOW_S
    return {
        "valid": True,
        "stopped": stopped,
        "stop_at": t_stop,
        "stop_latency_s": (t_stop - t_on) if stopped and t_stop is not None else None,
    }


def _part(take: Take, role: str) -> Played:
    p = take.part(role)
    if p is None:
        raise ValueError(f"take {take.scenario} has no {role!r} part")
    return p


RULES = {
    "pause": pause,
    "turn_taking": turn_taking,
    "interruption": interruption,
    "backchannel": lambda t, o: false_stop(t, o, "backchannel"),
    "background": lambda t, o: false_stop(t, o, _background_role(t)),
    "echo": echo,
    # untuned categories: the same rules as their tuned siblings
    "soft_interruption": interruption,
    "unlisted_backchannel": lambda t, o: false_stop(t, o, "backchannel"),
}


def _background_role(take: Take) -> str:
    return "side_talk" if take.part("side_talk") is not None else "background"


def judge(take: Take, obs: Observed) -> dict[str, object]:
    return RULES[take.category](take, obs)
