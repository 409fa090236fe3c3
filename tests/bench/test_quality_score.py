"""bench quality's scoring: numbers said as words or digits, tool arguments compared as
a client would, word error rates after normalization."""

from __future__ import annotations

from antiphon.bench.quality.score import (
    answer_found,
    arguments_match,
    call_matches,
    normalize,
    word_errors,
)


def test_number_words_become_digits() -> None:
    assert normalize("Two hundred and six bones.") == "206 bones"
    assert normalize("one hundred forty-four") == "144"
    assert normalize("It's 1,000 km, twenty one of them") == "its 1000 km 21 of them"
    assert normalize("It sank in nineteen twelve") == "it sank in 19 12"  # two numbers, as said
    assert normalize("one two three") == "1 2 3"


def test_answers_found_as_whole_words() -> None:
    assert answer_found("There are seven days in a week.", ["7"])
    assert not answer_found("Seventy days.", ["7"])
    assert not answer_found("There are 17 of them.", ["7"])
    # the model writes formulas with subscript digits (seen: "Water's chemical formula is H₂O.")
    assert answer_found("Water's chemical formula is H₂O.", ["H2O"])
    assert answer_found("Butterflies, mostly.", ["butterfly", "butterflies"])
    assert answer_found("It is New Delhi.", ["new delhi", "delhi"])
    assert not answer_found("I don't know.", ["paris"])
    assert answer_found("一个星期有7天。", ["七", "7"])
    assert answer_found("北京是中国的首都", ["北京"])


def test_arguments_integers_as_numbers_strings_normalized() -> None:
    assert arguments_match({"minutes": 5}, {"minutes": 5.0})
    assert not arguments_match({"minutes": 5}, {"minutes": 50})
    assert arguments_match(
        {"room": "living room"}, {"room": "Living Room", "state": "on"}, ["state"]
    )
    assert arguments_match({"city": "tokyo"}, {"city": "Tokyo, Japan"})
    assert arguments_match({"timezone": ["tokyo", "asia/tokyo"]}, {"timezone": "Asia/Tokyo"})
    assert not arguments_match({"city": "paris"}, {"town": "paris"})


def test_extra_arguments_must_be_empty_unless_the_request_left_them_open() -> None:
    five_min = [{"minutes": 5}, {"seconds": 300}]
    assert call_matches("set_timer", five_min, "set_timer", '{"minutes": 5, "seconds": 0}')
    assert call_matches("set_timer", five_min, "set_timer", '{"seconds": 300}')
    assert not call_matches("set_timer", five_min, "set_timer", '{"minutes": 5, "seconds": 300}')
    assert not call_matches("set_timer", five_min, "set_timer", '{"seconds": 30}')  # issue 14
    assert call_matches(
        "set_timer", five_min, "set_timer", '{"minutes": 5, "label": "tea"}', ["label"]
    )
    assert not call_matches("set_timer", five_min, "get_time", '{"minutes": 5}')
    assert not call_matches("set_timer", five_min, "set_timer", "{minutes: 5")  # not JSON


def test_word_errors_after_normalization() -> None:
    assert word_errors("Set a timer for five minutes.", "set a timer for 5 minutes") == (0, 6)
    assert word_errors("What is the capital of France?", "What is the cap put to our friends?") == (
        5,
        6,
    )
    assert word_errors("hello there", "") == (2, 2)
    assert word_errors("中国的首都是哪里？", "中国的首都是那里") == (1, 8)
