"""Conversation memory of one session: instructions, turns (keyed by item id), tool calls,
and truncation of an assistant turn to what the user actually heard."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from antiphon.cascade.llm import Message

__all__ = ["Conversation", "Message"]


TOOL_HINTS = {
    "en": "Answer the user's question in one short spoken sentence using this result.",
    "zh": "请用一句简短的话根据这个结果回答用户。",
}


@dataclass
class _Entry:
    item_id: str
    message: Message
    # (text, start_ms, dur_ms) of each spoken phrase, for truncation by playback position
    spoken: list[tuple[str, float, float]] = field(default_factory=list)


class Conversation:
    def __init__(self, instructions: str, max_messages: int = 40, language: str = "en") -> None:
        self.instructions = instructions
        self.tool_hint = TOOL_HINTS["zh" if language == "zh" else "en"]
        self.max_messages = max_messages
        self._entries: list[_Entry] = []
        self._auto = 0

    def add(
        self,
        message: Message,
        item_id: str | None = None,
        spoken: list[tuple[str, float, float]] | None = None,
    ) -> str:
        if item_id is None:
            self._auto += 1
            item_id = f"item_auto_{self._auto}"
        self._entries.append(_Entry(item_id, message, spoken or []))
        return item_id

    def drop_oldest(self, keep: int) -> list[str]:
        """Forget the oldest items beyond ``keep`` (a tool call goes with its result);
        returns the ids dropped."""
        dropped: list[str] = []
        while len(self._entries) > keep:
            item_id = self._entries[0].item_id
            self.delete(item_id)
            dropped.append(item_id)
        return dropped

    @property
    def messages(self) -> list[Message]:
        return [e.message for e in self._entries]

    def for_llm(self, instructions: str | None = None) -> list[Message]:
        """System message plus the most recent turns that fit, never starting on an orphan
        tool result."""
        recent = self._entries[-self.max_messages :]
        while recent and recent[0].message.role == "tool":
            recent = recent[1:]
        return [Message("system", instructions or self.instructions)] + [
            self._for_model(e.message) for e in recent
        ]

    def _for_model(self, m: Message) -> Message:
        # A small model reads a bare JSON result back ("This response is a JSON object…")
        # or calls the tool again; one line of instruction after it makes it answer.
        return replace(m, content=f"{m.content}\n{self.tool_hint}") if m.role == "tool" else m

    def delete(self, item_id: str) -> bool:
        """Forget an item; a tool call goes with its result, so the model never sees
        half of the pair."""
        entry = next((e for e in self._entries if e.item_id == item_id), None)
        if entry is None:
            return False
        calls = {c.call_id for c in entry.message.tool_calls}
        answered = entry.message.tool_call_id
        self._entries = [
            e
            for e in self._entries
            if e is not entry
            and (e.message.tool_call_id is None or e.message.tool_call_id not in calls)
            and not (answered and any(c.call_id == answered for c in e.message.tool_calls))
        ]
        return True

    def has_pending_call(self, call_id: str) -> bool:
        called = any(
            call_id == c.call_id for e in self._entries for c in (e.message.tool_calls or [])
        )
        answered = any(e.message.tool_call_id == call_id for e in self._entries)
        return called and not answered

    def call_name(self, call_id: str) -> str | None:
        for e in self._entries:
            for c in e.message.tool_calls or []:
                if c.call_id == call_id:
                    return c.name
        return None

    def truncate(self, item_id: str, audio_end_ms: int) -> bool:
        """Keep only the words of an assistant item heard before audio_end_ms."""
        for e in self._entries:
            if e.item_id == item_id and e.message.role == "assistant" and e.spoken:
                e.message = replace(e.message, content=heard_text(e.spoken, audio_end_ms))
                return True
        return False


def heard_text(spoken: list[tuple[str, float, float]], heard_ms: float, sep: str = " ") -> str:
    """Phrases fully played before heard_ms, plus the words of the phrase in progress in
    proportion to how much of it was played."""
    out: list[str] = []
    for text, start, dur in spoken:
        if start + dur <= heard_ms:
            out.append(text)
        elif start < heard_ms:
            units = list(text) if sep == "" else text.split()
            keep = int(len(units) * (heard_ms - start) / max(dur, 1.0))
            if keep:
                out.append(sep.join(units[:keep]))
            break
    return sep.join(out).strip()
