"""Turn streamed LLM text into speakable phrases, as early as possible.

The TTS can start only when it has a phrase, so the first phrase is cut at the first clause
punctuation or after a few words, whichever comes first; after that, audio is already
playing and phrases are cut at sentence/clause ends for natural prosody. Text a voice should
not read (markdown, code blocks, emoji, URLs) is removed here.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Iterator

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "mt",
        "no",
        "fig",
        "approx",
        "dept",
        "est",
        "inc",
        "ltd",
        "co",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "u.s",
        "u.k",
        "cf",
    ]
)
_CJK_SENTENCE_END = "。！？；…"
_CJK_CLAUSE = "，、："
_CLOSERS = "\"'”’)]}」』）】》"
_ASCII_SENTENCE_END = ".!?"
_ASCII_CLAUSE = ",;:"

_FENCED_CODE = re.compile(r"```.*?```", re.S)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+|www\.\S+")
_LINE_MARKUP = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]*|[-*+•][ \t]+|\d{1,2}[.)][ \t]+)", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|~~)(?=\S)(.+?)(?<=\S)\1")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3400 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0x3040 <= o <= 0x30FF
        or 0xAC00 <= o <= 0xD7AF
    )


def _is_emoji_or_symbol(ch: str) -> bool:
    o = ord(ch)
    if o in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= o <= 0x1F3FF:
        return True  # joiners, variation selectors, skin tones
    return unicodedata.category(ch) == "So" and not _is_cjk(ch)


def clean_for_speech(text: str) -> str:
    """Remove what a voice should not read: code blocks, markdown syntax, URLs, emoji."""
    text = _FENCED_CODE.sub(" ", text)
    text = text.replace("```", " ")
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _LINE_MARKUP.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("`", "").replace("**", "").replace("__", "").replace("#", " ")
    text = "".join(" " if _is_emoji_or_symbol(ch) else ch for ch in text)
    text = _SPACES.sub(" ", text.replace("\n", " "))
    return text.strip()


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def word_units(text: str) -> float:
    """Rough length in words: whitespace-separated words, CJK characters count 1/2 each."""
    cjk = sum(1 for ch in text if _is_cjk(ch))
    latin = len(
        re.sub(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]", " ", text).split()
    )
    return latin + cjk / 2


class PhraseEnd(enum.Enum):
    """Where the chunker cut a phrase: the pause that naturally follows it differs."""

    SENTENCE = "sentence"  # a final mark: a full stop's pause
    CLAUSE = "clause"  # a comma, colon or semicolon: a short pause
    WORD = "word"  # a word cut (the first words, a reply running dry): no pause


def phrase_end(phrase: str) -> PhraseEnd:
    text = phrase.rstrip().rstrip(_CLOSERS)
    if text and text[-1] in _ASCII_SENTENCE_END + _CJK_SENTENCE_END:
        return PhraseEnd.SENTENCE
    if text and text[-1] in _ASCII_CLAUSE + _CJK_CLAUSE:
        return PhraseEnd.CLAUSE
    return PhraseEnd.WORD


class PhraseChunker:
    """Feed text pieces with :meth:`push`; get phrases back; call :meth:`flush` at the end."""

    def __init__(
        self,
        first_words: int = 5,
        min_clause_words: int = 3,
        max_words: int = 30,
        dry_words: int = 2,
    ) -> None:
        self.first_words = first_words
        self.min_clause_words = min_clause_words
        self.max_words = max_words
        self.dry_words = dry_words
        self._buf = ""
        self._first = True
        self._dry = False

    def reset(self) -> None:
        self._buf = ""
        self._first = True

    def push(self, piece: str, running_dry: bool = False) -> list[str]:
        """``running_dry``: the listener is about to hear the last of the audio made so far,
        so a later phrase is cut after ``dry_words`` complete words instead of waiting for
        its clause to end (a short phrase is better than a silence)."""
        self._buf += piece
        self._dry = running_dry
        try:
            return self._drain(final=False)
        finally:
            self._dry = False

    def flush(self) -> list[str]:
        phrases = self._drain(final=True)
        rest = clean_for_speech(self._buf)
        self._buf = ""
        if _speakable(rest):
            phrases.append(rest)
        self._first = True
        return phrases

    def feed_all(self, pieces: Iterable[str]) -> Iterator[str]:
        for piece in pieces:
            yield from self.push(piece)
        yield from self.flush()

    # --- internals ---------------------------------------------------------------------
    def _drain(self, final: bool) -> list[str]:
        out: list[str] = []
        while True:
            self._buf = _FENCED_CODE.sub(" ", self._buf)
            cut = self._find_cut(final)
            if cut is None:
                return out
            phrase = clean_for_speech(self._buf[:cut])
            self._buf = self._buf[cut:].lstrip(" \t")
            if _speakable(phrase):
                out.append(phrase)
                self._first = False

    def _scan_limit(self) -> int:
        """Only scan text that cannot change meaning: stop before an unclosed code fence
        or a trailing run of backticks that may become one."""
        fence = self._buf.find("```")
        if fence >= 0:
            return fence
        return len(self._buf.rstrip("`")) if self._buf.endswith("`") else len(self._buf)

    def _find_cut(self, final: bool) -> int | None:
        buf, limit = self._buf, self._scan_limit()
        word_limit = (
            self.first_words if self._first else self.dry_words if self._dry else self.max_words
        )
        i = 0
        while i < limit:
            ch = buf[i]
            end: int | None = None
            sentence = False
            if ch == "\n":
                end, sentence = i + 1, True
            elif ch in _CJK_SENTENCE_END or ch in _CJK_CLAUSE:
                end = self._skip_closers(i + 1, limit)
                sentence = ch in _CJK_SENTENCE_END
            elif ch in _ASCII_SENTENCE_END or ch in _ASCII_CLAUSE:
                j = i + 1
                while j < limit and buf[j] in _ASCII_SENTENCE_END:
                    j += 1  # "?!", "..."
                j = self._skip_closers(j, limit)
                if j >= limit and not (final and limit == len(buf)):
                    return self._word_cut(limit, word_limit)  # undecided: "3." may become "3.5"
                if j >= len(buf) or buf[j].isspace() or _is_cjk(buf[j]):
                    if ch in _ASCII_CLAUSE:
                        end = j
                    elif not (ch == "." and self._is_abbreviation(i)):
                        end, sentence = j, True
                i = j - 1
            if end is not None:
                words = word_units(buf[:end])
                long_enough = self._first or sentence or words >= self.min_clause_words
                if long_enough and _speakable(buf[:end]):
                    return end
            i += 1
        return self._word_cut(limit, word_limit)

    def _skip_closers(self, j: int, limit: int) -> int:
        while j < limit and self._buf[j] in _CLOSERS:
            j += 1
        return j

    def _is_abbreviation(self, dot: int) -> bool:
        start = dot
        while start > 0 and not self._buf[start - 1].isspace():
            start -= 1
        word = self._buf[start:dot].lower().strip(_CLOSERS + "(")
        if word in _ABBREVIATIONS:
            return True
        if word.isdigit() and len(word) <= 2 and (start == 0 or self._buf[start - 1] == "\n"):
            return True  # a numbered list item "1. ", not a sentence
        return len(word) == 1 and word.isalpha()  # an initial: "J. K. Rowling"

    def _word_cut(self, limit: int, word_limit: int) -> int | None:
        """Cut after ``word_limit`` complete words (CJK: characters) when no punctuation came."""
        text = self._buf[:limit]
        if word_units(text) < word_limit:
            return None
        units = 0.0
        i = 0
        while i < len(text):
            if _is_cjk(text[i]):
                units += 0.5
                i += 1
                if units >= word_limit:
                    return i
                continue
            if text[i].isspace():
                i += 1
                continue
            j = i
            while j < len(text) and not text[j].isspace() and not _is_cjk(text[j]):
                j += 1
            if j == len(text):
                return None  # the word may still be growing
            units += 1
            i = j
            if units >= word_limit:
                return j
        return None
