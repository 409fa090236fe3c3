"""The agent's text stream at 12.5 Hz: placement, PAD/EPAD, collisions, overflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from antiphon.data.manifest import Word
from antiphon.data.text_stream import TextStreamOverflow, num_frames_for, text_stream
from antiphon.e2e.random_checkpoint import train_tokenizer
from antiphon.lm.config import tiny_config
from antiphon.lm.tokenizer import TextTokenizer

CFG = tiny_config()
PAD, EPAD = CFG.text_padding_id, CFG.text_end_padding_id


@pytest.fixture(scope="module")
def tok(tmp_path_factory: pytest.TempPathFactory) -> TextTokenizer:
    path = Path(tmp_path_factory.mktemp("tok")) / "tokenizer.model"
    train_tokenizer(path, CFG.text_card)  # the project's tiny SentencePiece, as in checkpoints
    return TextTokenizer(path, CFG)


def stream(words: list[Word], tok: TextTokenizer, n: int, **kw: object) -> list[int]:
    return text_stream(words, tok, n, padding_id=PAD, end_padding_id=EPAD, **kw)  # type: ignore[arg-type]


def test_tokens_start_at_their_word_frame_with_epad_before(tok: TextTokenizer) -> None:
    words = [Word("hello", 0.0, 0.4), Word("model", 1.0, 1.4), Word("audio", 2.0, 2.5)]
    out = stream(words, tok, 40)
    assert len(out) == 40
    for w, frame in zip(words, (0, 12, 25), strict=True):  # floor(start * 12.5)
        ids = tok.encode(w.word)
        assert out[frame : frame + len(ids)] == ids
    assert out[11] == EPAD and out[24] == EPAD
    # no EPAD before a word at frame 0, PAD everywhere else
    text_frames = {
        f
        for w, f0 in zip(words, (0, 12, 25), strict=True)
        for f in range(f0, f0 + len(tok.encode(w.word)))
    }
    for f, t in enumerate(out):
        if f not in text_frames and f not in (11, 24):
            assert t == PAD, f


def test_no_delay_is_applied_here(tok: TextTokenizer) -> None:
    out = stream([Word("speech", 0.08, 0.5)], tok, 10)  # 0.08 s * 12.5 = frame 1 exactly
    assert out[0] == EPAD and out[1] == tok.encode("speech")[0]


def test_colliding_words_shift_right_and_nothing_is_dropped(tok: TextTokenizer) -> None:
    words = [Word("tokenizer", 0.5, 0.6), Word("checkpoint", 0.5, 0.7), Word("a", 0.55, 0.6)]
    ids = [tok.encode(w.word) for w in words]
    out = stream(words, tok, 30)
    flat = [t for i in ids for t in i]
    assert [t for t in out if t not in (PAD, EPAD)] == flat
    first = 6  # floor(0.5 * 12.5)
    assert out[first : first + len(flat)] == flat  # back to back, no EPAD between them
    assert out[first - 1] == EPAD


def test_unsorted_and_dict_words_give_the_same_stream(tok: TextTokenizer) -> None:
    words = [Word("world", 1.2, 1.5), Word("hello", 0.3, 0.6)]
    as_dicts = [{"word": w.word, "start": w.start, "end": w.end} for w in words]
    assert stream(words, tok, 25) == stream(as_dicts, tok, 25)  # type: ignore[arg-type]
    assert stream(words, tok, 25) == stream(sorted(words, key=lambda w: w.start), tok, 25)


def test_tokens_decode_back_to_the_words(tok: TextTokenizer) -> None:
    words = [
        Word(w, 0.4 * i, 0.4 * i + 0.3) for i, w in enumerate(["the", "birch", "canoe", "slid"])
    ]
    out = stream(words, tok, num_frames_for(24000 * 3))
    assert "".join(tok.piece(t) for t in out).strip() == "the birch canoe slid"


def test_overflow_raises_by_default_and_truncates_on_request(tok: TextTokenizer) -> None:
    words = [Word("checkpoint", 0.9, 1.0)]  # frame 11 of 12, but several tokens
    n_tokens = len(tok.encode("checkpoint"))
    assert n_tokens > 1
    with pytest.raises(TextStreamOverflow, match="checkpoint"):
        stream(words, tok, 12)
    out = stream(words, tok, 12, on_overflow="truncate")
    assert out[11] == tok.encode("checkpoint")[0] and out[10] == EPAD


def test_negative_start_is_rejected(tok: TextTokenizer) -> None:
    with pytest.raises(ValueError, match="starts at -0.1"):
        stream([Word("x", -0.1, 0.2)], tok, 10)


def test_frames_for_samples() -> None:
    assert num_frames_for(1920) == 1 and num_frames_for(1921) == 2 and num_frames_for(24000) == 13
