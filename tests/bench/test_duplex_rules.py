"""The Full-Duplex-Bench rules on hand-made takes with known answers, including the edge
cases of the published rules (no agent speech, speech that began before the user ended,
figures exactly at a threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from antiphon.bench.duplex import report
from antiphon.bench.duplex.metrics import (
    FALSE_STOP_WINDOW_S,
    STOP_GAP_S,
    Observed,
    judge,
    stop_after,
    takes_turn,
)
from antiphon.bench.duplex.segments import Word
from antiphon.bench.duplex.take import Played, Response, Take


def take(category: str, parts: list[Played], duration: float = 12.0) -> Take:
    n = int(duration * 16000)
    return Take(f"{category}-x", category, "", "test", np.zeros(n), np.zeros(n), parts)


def words(*spec: tuple[float, float]) -> list[Word]:
    return [Word(f"w{i}", a, b) for i, (a, b) in enumerate(spec)]


def spread(n: int, start: float, end: float) -> list[Word]:
    """n words evenly over [start, end]."""
    step = (end - start) / n
    return [Word(f"w{i}", start + i * step, start + (i + 1) * step) for i in range(n)]


QUESTION = Played("question", "q", 0.5, [(0.5, 2.0)])


# ---- v1 takeover rule -------------------------------------------------------------------
def test_no_words_is_no_turn() -> None:
    assert takes_turn([]) is False


def test_three_words_under_a_second_is_no_turn() -> None:
    assert takes_turn(spread(3, 1.0, 1.9)) is False


def test_four_words_under_a_second_is_a_turn() -> None:
    assert takes_turn(spread(4, 1.0, 1.5)) is True


def test_exactly_one_second_is_a_turn() -> None:
    assert takes_turn(words((2.0, 2.4), (2.5, 3.0))) is True  # spans 1.000 s exactly
    assert takes_turn(words((2.0, 2.4), (2.5, 2.999))) is False


# ---- smooth turn-taking --------------------------------------------------------------------
def test_turn_taking_latency_is_measured_from_the_speech_onset() -> None:
    obs = Observed([(2.8, 4.5)], spread(6, 2.9, 4.4), [], 7.0)
    v = judge(take("turn_taking", [QUESTION], 7.0), obs)
    assert v["takeover"] is True
    assert v["latency_s"] == pytest.approx(0.8)  # onset of the VAD segment, not the word


def test_turn_taking_without_agent_speech() -> None:
    v = judge(take("turn_taking", [QUESTION], 7.0), Observed([], [], [], 7.0))
    assert v["takeover"] is False and v["latency_s"] is None


def test_agent_speech_before_the_user_ended_is_clamped_to_zero_latency() -> None:
    obs = Observed([(1.7, 3.5)], spread(5, 1.7, 3.4), [], 7.0)
    v = judge(take("turn_taking", [QUESTION], 7.0), obs)
    assert v["takeover"] is True
    assert v["latency_s"] == 0.0 and v["raw_latency_s"] == pytest.approx(-0.3)


def test_a_short_acknowledgement_is_not_taking_the_turn() -> None:
    obs = Observed([(2.5, 2.9)], words((2.5, 2.85)), [], 7.0)  # "Sure."
    assert judge(take("turn_taking", [QUESTION], 7.0), obs)["takeover"] is False


# ---- pause handling -------------------------------------------------------------------------
PAUSED = Played("question", "a ... b", 0.5, [(0.5, 1.5), (2.2, 3.0), (3.6, 4.5)])


def test_speaking_in_a_pause_is_a_takeover() -> None:
    obs = Observed([(2.0, 3.4)], spread(5, 2.0, 3.3), [], 10.0)
    v = judge(take("pause", [PAUSED], 10.0), obs)
    assert v["takeover"] is True and v["takeover_at"] == pytest.approx(2.0)
    assert v["pauses"] == [(1.5, 2.2), (3.0, 3.6)]


def test_answering_after_the_turn_is_not_a_takeover() -> None:
    obs = Observed([(5.3, 8.0)], spread(8, 5.3, 7.9), [], 10.0)
    assert judge(take("pause", [PAUSED], 10.0), obs)["takeover"] is False


def test_pause_takeover_counts_only_words_before_the_user_ends() -> None:
    # the agent starts 0.3 s before the user's end: 2 words there, the rest after
    obs = Observed([(4.2, 6.0)], spread(6, 4.2, 6.0), [], 10.0)
    assert judge(take("pause", [PAUSED], 10.0), obs)["takeover"] is False
    # ... starting 1.0 s before the end, its words there span exactly 1 s: a takeover
    obs = Observed([(3.5, 6.0)], words((3.5, 3.9), (4.0, 4.5), (4.6, 5.5)), [], 10.0)
    assert judge(take("pause", [PAUSED], 10.0), obs)["takeover"] is True


def test_short_agent_utterances_during_the_user_turn_are_backchannels() -> None:
    one = Observed([(1.6, 1.9)], words((1.6, 1.85)), [], 10.0)
    v = judge(take("pause", [PAUSED], 10.0), one)
    assert v["takeover"] is False
    assert v["backchannels"] == 1 and v["backchannel_per_s"] == pytest.approx(1 / 4.0)


def test_two_backchannels_far_apart_span_a_turn_under_the_v1_rule() -> None:
    # v1 measures the output from its first word to its last: two "mm"s 1.5 s apart count
    obs = Observed([(1.6, 1.9), (3.1, 3.4)], words((1.6, 1.85), (3.1, 3.35)), [], 10.0)
    v = judge(take("pause", [PAUSED], 10.0), obs)
    assert v["takeover"] is True and v["backchannels"] == 2


# ---- interruption -----------------------------------------------------------------------------
INTERRUPT = Played("interrupt", "wait", 6.0, [(6.0, 7.5)])


def test_interruption_stop_and_response_latency() -> None:
    obs = Observed(
        [(3.0, 6.2), (8.3, 11.0)],
        spread(10, 3.0, 6.2) + spread(8, 8.3, 10.9),
        [Response("r1", 3.0, 6.2, "cancelled"), Response("r2", 8.3, 11.0, "")],
        12.0,
    )
    v = judge(take("interruption", [QUESTION, INTERRUPT]), obs)
    assert v["valid"] is True and v["stopped"] is True
    assert v["stop_latency_s"] == pytest.approx(0.2)
    assert v["takeover"] is True and v["latency_s"] == pytest.approx(0.8)


def test_interruption_when_the_agent_was_silent_is_not_valid() -> None:
    obs = Observed([(3.0, 5.0), (8.3, 11.0)], spread(8, 8.3, 10.9), [], 12.0)
    v = judge(take("interruption", [QUESTION, INTERRUPT]), obs)
    assert v["valid"] is False and "not answering" in v["why"]
    done = [Response("r1", 3.0, 5.0, "completed"), Response("r2", 8.3, 11.0, "")]
    v = judge(
        take("interruption", [QUESTION, INTERRUPT]), Observed(obs.segments, obs.words, done, 12.0)
    )
    assert v["valid"] is False  # its answer was over


def test_interruption_in_a_pause_of_an_answer_still_going() -> None:
    # the answer paused (its next phrase was late) and never came back: stopped at once
    cut = [Response("r1", 3.0, 5.0, "cancelled"), Response("r2", 8.3, 11.0, "")]
    obs = Observed([(3.0, 5.0), (8.3, 11.0)], spread(8, 8.3, 10.9), cut, 12.0)
    v = judge(take("interruption", [QUESTION, INTERRUPT]), obs)
    assert v["valid"] is True and v["stopped"] is True and v["stop_latency_s"] == 0.0
    # ... or it picked up again 0.3 s after the user began, then stopped at 6.9
    late = [Response("r1", 3.0, 6.9, "cancelled")]
    obs = Observed([(3.0, 5.8), (6.3, 6.9)], [], late, 12.0)
    v = judge(take("interruption", [QUESTION, INTERRUPT]), obs)
    assert v["stopped"] is True and v["stop_latency_s"] == pytest.approx(0.9)


def test_agent_that_talks_on_never_stops_but_takes_the_turn() -> None:
    obs = Observed([(3.0, 12.0)], spread(30, 3.0, 12.0), [Response("r1", 3.0, 12.0)], 12.0)
    v = judge(take("interruption", [QUESTION, INTERRUPT]), obs)
    assert v["stopped"] is False and v["stop_latency_s"] is None
    assert v["takeover"] is True  # v1 counts any speech after the interruption


def test_no_answer_after_the_interruption() -> None:
    obs = Observed(
        [(3.0, 6.3)], spread(10, 3.0, 6.3), [Response("r1", 3.0, 6.3, "cancelled")], 12.0
    )
    v = judge(take("interruption", [QUESTION, INTERRUPT]), obs)
    assert v["stopped"] is True and v["takeover"] is False and v["latency_s"] is None


# ---- stop detection -------------------------------------------------------------------------
def test_a_phrase_gap_shorter_than_the_stop_gap_is_no_stop() -> None:
    gap = STOP_GAP_S - 0.01
    obs = Observed([(3.0, 6.5), (6.5 + gap, 9.0)], [], [], 12.0)
    assert stop_after(6.0, obs) == 9.0


def test_a_silence_of_exactly_the_stop_gap_is_a_stop() -> None:
    obs = Observed([(3.0, 6.5), (6.5 + STOP_GAP_S, 9.0)], [], [], 12.0)
    assert stop_after(6.0, obs) == 6.5


def test_a_late_gap_inside_one_response_is_no_stop() -> None:
    obs = Observed([(3.0, 6.5), (8.0, 9.0)], [], [Response("r1", 3.0, 9.0, "completed")], 12.0)
    assert stop_after(6.0, obs) == 9.0


def test_speech_running_to_the_end_of_the_take_has_no_stop() -> None:
    assert stop_after(6.0, Observed([(3.0, 11.8)], [], [], 12.0)) is None


# ---- overlaps the agent should talk through ---------------------------------------------------
BACKCHANNEL = Played("backchannel", "mm-hmm", 6.0, [(6.0, 6.5)])


def test_backchannel_that_stops_the_agent_is_a_false_stop() -> None:
    obs = Observed([(3.0, 6.6)], [], [Response("r1", 3.0, 6.6, "cancelled")], 12.0)
    v = judge(take("backchannel", [QUESTION, BACKCHANNEL]), obs)
    assert v["valid"] is True and v["stopped"] is True
    assert v["stop_latency_s"] == pytest.approx(0.6)


def test_talking_through_a_backchannel() -> None:
    obs = Observed([(3.0, 11.9)], [], [Response("r1", 3.0, 11.9, "")], 12.0)
    assert judge(take("backchannel", [QUESTION, BACKCHANNEL]), obs)["stopped"] is False


def test_a_completed_answer_ending_during_the_overlap_is_not_a_stop() -> None:
    obs = Observed([(3.0, 6.3)], [], [Response("r1", 3.0, 6.4, "completed")], 12.0)
    assert judge(take("backchannel", [QUESTION, BACKCHANNEL]), obs)["stopped"] is False


def test_without_statuses_an_end_during_the_overlap_counts_as_a_stop() -> None:
    obs = Observed([(3.0, 6.3)], [], [], 12.0)  # a protocol that cannot say (Moshi)
    assert judge(take("backchannel", [QUESTION, BACKCHANNEL]), obs)["stopped"] is True


def test_a_stop_long_after_the_overlap_is_not_caused_by_it() -> None:
    end = 6.5 + FALSE_STOP_WINDOW_S + 0.1
    obs = Observed([(3.0, end)], [], [Response("r1", 3.0, end, "cancelled")], 12.0)
    assert judge(take("backchannel", [QUESTION, BACKCHANNEL]), obs)["stopped"] is False


def test_background_speech_uses_its_own_part() -> None:
    bg = Played("background", "tv", 6.0, [(6.0, 8.0)])
    obs = Observed([(3.0, 8.4)], [], [Response("r1", 3.0, 8.4, "cancelled")], 12.0)
    v = judge(take("background", [QUESTION, bg]), obs)
    assert v["onset"] == 6.0 and v["stopped"] is True


def test_echo_false_stop_anywhere_in_the_listening_window() -> None:
    listen = Played("listen", "", 3.0, [], length_s=6.0)
    talk_on = Observed([(3.1, 11.9)], [], [Response("r1", 3.1, 11.9)], 12.0)
    assert judge(take("echo", [QUESTION, listen]), talk_on)["stopped"] is False
    cut = Observed([(3.1, 7.0)], [], [Response("r1", 3.1, 7.0, "cancelled")], 12.0)
    v = judge(take("echo", [QUESTION, listen]), cut)
    assert v["stopped"] is True and v["stop_latency_s"] == pytest.approx(7.0 - 3.15)


# ---- categories the detectors were not tuned on ------------------------------------------
def test_untuned_categories_use_their_siblings_rules_and_are_reported_apart() -> None:
    soft = Played("interrupt", "pardon me", 6.0, [(6.0, 7.0)])
    stopped = Observed(
        [(3.0, 6.2), (7.6, 9.0)],
        spread(6, 7.6, 9.0),
        [Response("r1", 3.0, 6.2, "cancelled"), Response("r2", 7.6, 9.0, "completed")],
        12.0,
    )
    v = judge(take("soft_interruption", [QUESTION, soft]), stopped)
    assert v["stopped"] is True and v["takeover"] is True
    assert v["stop_latency_s"] == pytest.approx(0.2)
    ignored = Observed([(3.0, 11.9)], spread(20, 3.0, 11.9), [Response("r1", 3.0, 11.9)], 12.0)
    v2 = judge(take("soft_interruption", [QUESTION, soft]), ignored)
    assert v2["stopped"] is False and v2["takeover"] is True  # v1 counts talking on as a turn
    cough = Played("backchannel", "cough", 6.0, [(6.0, 6.3)])
    talk_on = Observed([(3.0, 11.9)], [], [Response("r1", 3.0, 11.9)], 12.0)
    v3 = judge(take("unlisted_backchannel", [QUESTION, cough]), talk_on)
    assert v3["stopped"] is False

    def result(cat: str, variant: str, verdict: dict) -> dict:  # type: ignore[type-arg]
        return {"category": cat, "variant": variant, "verdict": verdict}

    summary = report.summarize(
        [
            result("soft_interruption", "soft", v),
            result("soft_interruption", "soft", v2),
            result("unlisted_backchannel", "noise", v3),
            result("interruption", "pivot", v),
        ]
    )
    assert list(summary) == ["interruption", "soft_interruption", "unlisted_backchannel"]
    assert summary["soft_interruption"]["stop_rate"] == 0.5
    assert summary["unlisted_backchannel"]["false_stop_rate (noise)"] == 0.0
    targets = {(t["category"], t["figure"]): t["met"] for t in report.check_targets(summary)}
    assert targets[("soft_interruption", "takeover_rate")] is True
    assert targets[("unlisted_backchannel", "false_stop_rate")] is True
    rep = {
        "backend": "test", "scenario_version": "v", "seed": 11, "takes": 4, "record_s": 1.0,
        "analyse_s": 1.0, "summary": summary, "targets": report.check_targets(summary),
        "ours": report.ours_row(summary),
    }  # fmt: skip
    md = report.markdown(rep)
    assert "seed 11, held out: not tuned on" in md
    tuned, untuned = md.split("## Categories the detectors were not tuned on")
    assert "| interruption |" in tuned and "| soft_interruption |" not in tuned
    assert "| soft_interruption | 2 | 2 | stop_rate | 0.500 |" in untuned.split("## Targets")[0]
    assert "seed 6, the tuning seed" in report.markdown({**rep, "seed": 6})
