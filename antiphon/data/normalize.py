"""Text normalisation and word alignment for comparing transcripts.

``normalize_words`` makes different spellings of the same speech equal: lower case, no
punctuation, hyphens split, digits spelled out ("9-11" → "nine eleven", "2nd" → "second"
is not attempted). ``align_words`` is a Levenshtein alignment with its backtrace, used for
word error rates and for voting between ASR systems.
"""

from __future__ import annotations

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"))
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)*")


def number_words(n: int) -> list[str]:
    """0 ≤ n < 10¹² as English words, without "and" ("one hundred twenty")."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        rest = number_words(n % 100) if n % 100 else []
        return [_ONES[n // 100], "hundred", *rest]
    for scale, name in _SCALES:
        if n >= scale:
            rest = number_words(n % scale) if n % scale else []
            return [*number_words(n // scale), name, *rest]
    raise ValueError(n)


def normalize_words(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower().replace("’", "'")):
        if tok[0].isdigit():
            whole, _, frac = tok.partition(".")
            if len(whole) > 12:
                out += [_ONES[int(d)] for d in whole]
                continue
            out += number_words(int(whole))
            if frac:
                out += ["point", *(_ONES[int(d)] for d in frac)]
        else:
            out.append(tok)
    return out


def normalize_text(text: str) -> str:
    return " ".join(normalize_words(text))


def align_words(ref: list[str], hyp: list[str]) -> list[tuple[str | None, str | None]]:
    """Minimal-edit alignment: pairs (ref word or None, hyp word or None)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1])
            cost[i][j] = min(sub, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    pairs: list[tuple[str | None, str | None]] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append((ref[i - 1], None))
            i -= 1
        else:
            pairs.append((None, hyp[j - 1]))
            j -= 1
    return pairs[::-1]


def word_errors(ref: list[str], hyp: list[str]) -> int:
    return sum(a != b for a, b in align_words(ref, hyp))


def wer(ref: str | list[str], hyp: str | list[str]) -> float:
    """Word error rate after normalisation; an empty reference gives 0 or 1."""
    r = normalize_words(ref) if isinstance(ref, str) else ref
    h = normalize_words(hyp) if isinstance(hyp, str) else hyp
    if not r:
        return 0.0 if not h else 1.0
    return word_errors(r, h) / len(r)
