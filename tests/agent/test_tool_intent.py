"""Routing to tool_choice "required" when the words name what a tool is about."""

from __future__ import annotations

from antiphon.agent.builtin_tools import DemoTools
from antiphon.agent.tool_intent import mentions_tool, tool_keywords
from antiphon.session.commands import Tool

TOOLS = DemoTools().registry.schemas()


def test_keywords_come_from_what_the_tool_is_about() -> None:
    assert tool_keywords(Tool("control_lights", "")) == {"light"}
    assert tool_keywords(Tool("get_current_time", "")) == {"time"}
    assert tool_keywords(Tool("get_weather", "")) == {"weather"}


def test_requests_for_tools_and_ordinary_questions() -> None:
    for text in ["Please turn on the lights in the kitchen.", "What time is it?", "Set a timer."]:
        assert mentions_tool(text, TOOLS), text
    for text in ["What is the capital of Italy?", "Tell me a story.", "Please speak slower.", ""]:
        assert not mentions_tool(text, TOOLS), text
