"""Scoring for `bench quality`: answers, tool calls and transcripts, after normalization
(case, punctuation, number words as digits), so "Seven." and "7 days" both answer "7"."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_CHAR_LANG_RE = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _number_run(words: list[str], i: int) -> tuple[int, int] | None:
    """The number spelled by words[i:] ("two hundred and six") as (value, words used);
    "nineteen twelve" and "one two" are two numbers each, as a speaker means them."""
    total, current, j, prev = 0, 0, i, ""
    while j < len(words):
        w = words[j]
        if w in _UNITS:
            v = _UNITS[w]
            if prev == "unit" or (prev == "tens" and (v >= 10 or v == 0)):
                break
            current, prev = current + v, "unit"
        elif w in _TENS:
            if prev in ("unit", "tens"):
                break
            current, prev = current + _TENS[w], "tens"
        elif w == "hundred" and prev == "unit":
            current, prev = current * 100, "hundred"
        elif w in ("thousand", "million") and prev in ("unit", "tens", "hundred"):
            total, current, prev = total + current * _SCALES[w], 0, "scale"
        elif (
            w == "and"
            and prev in ("hundred", "scale")
            and j + 1 < len(words)
            and (words[j + 1] in _UNITS or words[j + 1] in _TENS)
        ):
            prev = "and"
        else:
            break
        j += 1
    return (total + current, j - i) if j > i else None


def normalize(text: str) -> str:
    """Lower case, punctuation as spaces (apostrophes dropped), number words as digits;
    compatibility forms folded first (NFKC: "H₂O" is "H2O", "ﬁve" is "five")."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("'", "")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)  # 1,000 -> 1000
    text = re.sub(r"[^\w\s]|_", " ", text)
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        run = _number_run(words, i)
        if run is not None:
            out.append(str(run[0]))
            i += run[1]
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def _compact(text: str) -> str:
    """For Chinese: no spaces or punctuation at all."""
    return re.sub(r"[\W_]+", "", text.lower())


def answer_found(said: str, accepted: Sequence[str]) -> bool:
    """One accepted form appears in what the agent said, as whole words (plural -s allowed);
    in Chinese text, as a substring."""
    chinese = _CHAR_LANG_RE.search(said) is not None
    for form in accepted:
        if chinese or _CHAR_LANG_RE.search(form):
            if _compact(form) in _compact(said):
                return True
            continue
        norm, target = normalize(form), normalize(said)
        if not norm:
            continue
        if re.search(r"(?<!\w)" + re.escape(norm) + r"(?:s|es)?(?!\w)", target):
            return True
    return False


# ---- tool calls -------------------------------------------------------------------------


def parse_arguments(arguments: str | Mapping[str, Any]) -> dict[str, Any] | None:
    """A tool call's arguments as a dict, or None when they are not a JSON object."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    try:
        value = json.loads(arguments or "{}")
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == []


def _value_matches(expected: object, got: object) -> bool:
    if isinstance(expected, list):  # any of these
        return any(_value_matches(e, got) for e in expected)
    if isinstance(expected, bool):
        return got is expected
    if isinstance(expected, int | float):
        try:
            return float(got) == float(expected)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    if isinstance(expected, str):
        want, have = normalize(expected), normalize(str(got)) if got is not None else ""
        if not want:
            return not have
        return re.search(r"(?<!\w)" + re.escape(want) + r"(?!\w)", have) is not None
    return expected == got


def arguments_match(
    expected: Mapping[str, Any], got: Mapping[str, Any], optional: Sequence[str] = ()
) -> bool:
    """Every expected argument has the expected value (integers as numbers, strings as
    normalized words contained in the argument); any other argument is empty/zero or one
    the request left open (``optional``)."""
    for key, want in expected.items():
        if key not in got or not _value_matches(want, got[key]):
            return False
    return all(k in expected or k in optional or _is_empty(v) for k, v in got.items())


def call_matches(
    expected_name: str,
    alternatives: Sequence[Mapping[str, Any]],
    name: str,
    arguments: str | Mapping[str, Any],
    optional: Sequence[str] = (),
) -> bool:
    if name != expected_name:
        return False
    args = parse_arguments(arguments)
    return args is not None and any(arguments_match(a, args, optional) for a in alternatives)


# ---- transcripts ------------------------------------------------------------------------


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words) after normalization; Chinese is compared by character."""
    import jiwer

    if _CHAR_LANG_RE.search(reference):
        ref, hyp = " ".join(_compact(reference)), " ".join(_compact(hypothesis))
    else:
        ref, hyp = normalize(reference), normalize(hypothesis)
    n = len(ref.split())
    if n == 0:
        return (len(hyp.split()), 0)
    if not hyp:
        return (n, n)
    out = jiwer.process_words(ref, hyp)
    return (out.substitutions + out.deletions + out.insertions, n)


def wer(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Corpus word error rate over (reference, hypothesis) pairs; None when empty."""
    edits = words = 0
    for ref, hyp in pairs:
        e, n = word_errors(ref, hyp)
        edits, words = edits + e, words + n
    return edits / words if words else None
