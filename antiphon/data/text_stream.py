"""The agent's inner-monologue text stream: word timestamps → one text token per codec frame.

Moshi's convention, which the LM's generation code reads back:
- a frame with no text token holds PAD (``LMConfig.text_padding_id``);
- a word's tokens go into consecutive frames from the frame that contains its start time
  (``floor(start · frame_rate)``), or from the next free frame when the previous word's
  tokens still occupy it; tokens are never dropped, later words shift right instead;
- the frame just before a word's first token becomes EPAD
  (``LMConfig.text_end_padding_id``) when it would otherwise be PAD: it tells the model
  "text starts next frame". A word whose tokens follow the previous word's directly gets
  no EPAD, and neither does a word starting at frame 0.
Acoustic delays are not applied here: the LM shifts the streams itself.

When tokens would run past ``num_frames`` the default is to raise ``TextStreamOverflow``
(the caller's audio is shorter than its words need). ``on_overflow="truncate"`` drops the
tokens past the end instead, for training windows cropped out of a longer dialogue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from antiphon.data.manifest import Word


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class TextStreamOverflow(ValueError):
    """The words' tokens do not fit into the given number of frames."""


WordLike = Word | Mapping[str, object] | tuple[str, float, float]


def _as_word(w: WordLike) -> Word:
    if isinstance(w, Word):
        return w
    if isinstance(w, tuple):
        return Word(str(w[0]), float(w[1]), float(w[2]))
    start, end = w["start"], w["end"]
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        raise ValueError(f"word {w!r}: start and end must be numbers")
    return Word(str(w["word"]), float(start), float(end))


def text_stream(
    words: Sequence[WordLike],
    tokenizer: Tokenizer,
    num_frames: int,
    frame_rate: float = 12.5,
    *,
    padding_id: int,
    end_padding_id: int,
    on_overflow: Literal["error", "truncate"] = "error",
) -> list[int]:
    """``num_frames`` text tokens aligned to the words' start times (see module doc)."""
    if num_frames < 0 or frame_rate <= 0:
        raise ValueError(f"num_frames={num_frames} and frame_rate={frame_rate} must be positive")
    stream = [padding_id] * num_frames
    items = sorted((_as_word(w) for w in words), key=lambda w: w.start)  # stable for ties
    next_free = 0
    for w in items:
        if w.start < 0 or not math.isfinite(w.start):
            raise ValueError(f"word {w.word!r} starts at {w.start} s; times must be >= 0")
        tokens = [t for t in tokenizer.encode(w.word) if t not in (padding_id, end_padding_id)]
        if not tokens:
            continue
        # 1e-6 keeps a start of exactly k/frame_rate in frame k despite float rounding
        first = max(int(math.floor(w.start * frame_rate + 1e-6)), next_free)
        if first + len(tokens) > num_frames:
            if on_overflow == "error":
                raise TextStreamOverflow(
                    f"word {w.word!r} at {w.start:.3f} s needs frames {first}.."
                    f"{first + len(tokens) - 1} but the stream has {num_frames} frames "
                    f"({num_frames / frame_rate:.2f} s)"
                )
            tokens = tokens[: max(0, num_frames - first)]
            if not tokens:
                break
        if first > 0 and stream[first - 1] == padding_id:
            stream[first - 1] = end_padding_id
        stream[first : first + len(tokens)] = tokens
        next_free = first + len(tokens)
    return stream


def num_frames_for(num_samples: int, sample_rate: int = 24000, frame_rate: float = 12.5) -> int:
    """Codec frames covering ``num_samples`` (Mimi: 1920 samples per frame at 24 kHz)."""
    return int(math.ceil(num_samples * frame_rate / sample_rate - 1e-9))
