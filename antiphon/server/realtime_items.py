"""The adapter's bookkeeping of the conversation: every item as the client knows it, and
each response in progress (what its `response.create` asked for, its output so far)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from antiphon.server.audio_formats import AudioEncoder

Out = dict[str, Any]


@dataclass
class ResponseRequest:
    """What a `response.create` asked for, applied to the next response that starts."""

    metadata: dict[str, str] | None = None
    modality: str | None = None
    max_output_tokens: int | None = None
    out_of_band: bool = False  # conversation "none": its items stay out of the conversation
    temp_items: tuple[str, ...] = ()  # its `input` items, forgotten after it


@dataclass
class OpenResponse:
    id: str
    brain_item: str
    modality: str
    metadata: dict[str, str] | None
    encoder: AudioEncoder
    output: list[Out] = field(default_factory=list)  # items, in output order
    message_index: int | None = None  # output_index of the assistant message, once opened
    transcript: str = ""
    audio_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    request: ResponseRequest = field(default_factory=ResponseRequest)
    cut: bool = False  # cancelled for max_output_tokens

    def output_tokens(self) -> int:
        """Estimated as in rt.usage: words of the transcript + 10 per second of audio."""
        return len(self.transcript.split()) + int(self.audio_s * 10)


class ItemStore:
    """Every item of the conversation, in order, as the client knows them."""

    def __init__(self, limit: int = 500) -> None:
        self.items: OrderedDict[str, Out] = OrderedDict()
        self.limit = limit

    def last_id(self) -> str | None:
        return next(reversed(self.items), None) if self.items else None

    def put(self, item: Out) -> str | None:
        """Store (or replace) an item; returns the id of the item before it."""
        if item["id"] in self.items:
            self.items[item["id"]] = item
            keys = list(self.items)
            i = keys.index(item["id"])
            return keys[i - 1] if i else None
        prev = self.last_id()
        self.items[item["id"]] = item
        while len(self.items) > self.limit:
            self.items.popitem(last=False)
        return prev
