"""Conversation memory: deleting items (Realtime conversation.item.delete) and truncation."""

from __future__ import annotations

from antiphon.agent.toolcall import ToolCallRequest
from antiphon.cascade.conversation import Conversation, Message


def test_delete_forgets_an_item_and_a_tool_call_with_its_result() -> None:
    conv = Conversation("be brief")
    conv.add(Message("user", "hello"), "u1")
    conv.add(Message("assistant", "hi there"), "a1")
    call = ToolCallRequest("get_current_time", "{}", call_id="call_1")
    conv.add(Message("assistant", "", tool_calls=(call,)), "c1")
    conv.add(Message("tool", '{"time": "10:00"}', tool_call_id="call_1"), "r1")
    assert conv.delete("u1") and [m.content for m in conv.messages][0] == "hi there"
    assert conv.delete("c1")  # the call goes, and so does its result
    assert [m.role for m in conv.messages] == ["assistant"]
    assert not conv.delete("nope")
    assert [m.role for m in conv.for_llm()] == ["system", "assistant"]


def test_truncate_keeps_only_heard_words() -> None:
    conv = Conversation("be brief")
    conv.add(
        Message("assistant", "The capital of France is Paris."),
        "a1",
        spoken=[("The capital of France", 0.0, 1000.0), ("is Paris.", 1000.0, 500.0)],
    )
    assert conv.truncate("a1", 500)
    assert conv.messages[0].content == "The capital"
    assert not conv.truncate("missing", 100)
