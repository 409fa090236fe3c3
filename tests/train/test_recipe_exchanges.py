"""The tiny model's report judges its replies with the local chat model's likelihood,
calibrated on tuning pairs: fitting answers pass, off-topic replies and made-up words do not
(a real model's judgement, not a word match), and an empty reply never fits."""

from __future__ import annotations

import pytest

from antiphon.train.recipe_exchanges import FitJudge, made_up_words

# tuning pairs: none of them is a test case below
TUNE = [
    ("Where is the station?", "It is two streets down, next to the bank."),
    ("Thanks for the help!", "You're welcome, any time."),
    ("What should I cook tonight?", "A simple pasta with tomatoes and garlic would be nice."),
    ("How was your weekend?", "Quiet, I mostly read and went for a long walk."),
]


@pytest.fixture(scope="module")
def judge() -> FitJudge:
    j = FitJudge()
    off_topic = [(u, TUNE[(i + 2) % len(TUNE)][1]) for i, (u, _) in enumerate(TUNE)]
    j.calibrate(TUNE, off_topic + [(u, made_up_words(r)) for u, r in TUNE])
    assert j.tuning_accuracy >= 0.75
    return j


@pytest.mark.parametrize(
    ("user", "reply", "fits"),
    [
        ("What do bees make?", "Bees make honey.", True),
        ("When should I plant tomatoes?", "Plant them outside after the last frost.", True),
        ("What do bees make?", "The train to Boston leaves at noon on Tuesday.", False),
        ("Good morning.", "The good, us thalk like the sny at splingsa,", False),
        ("How do I say thank you in Spanish?", "You say gra the wath in spling.", False),
    ],
)
def test_fitting_and_unfitting_replies(judge: FitJudge, user: str, reply: str, fits: bool) -> None:
    assert judge.fits(user, reply) is fits


def test_an_empty_reply_does_not_fit(judge: FitJudge) -> None:
    assert judge.fits("What do bees make?", "  ") is False


def test_made_up_words_keep_the_shape_of_the_sentence() -> None:
    assert made_up_words("Plant the garden today") == "Pnalt the gedran tadoy"
