"""The tools as one-line signatures in the reply's system prompt (agent/tool_signatures.py)."""

from __future__ import annotations

from antiphon.agent.builtin_tools import DemoTools
from antiphon.agent.tool_signatures import argument_type, signature
from antiphon.agent.toolcall import ToolListing, tools_system_section
from antiphon.session.commands import Tool

LIGHTS = Tool(
    "control_lights",
    "Switch or dim\nthe lights.",
    {
        "type": "object",
        "properties": {
            "room": {"type": "string", "enum": ["living room", "kitchen"]},
            "state": {"type": "string", "enum": ["on", "off"]},
            "brightness": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "description": "percent",
            },
        },
        "required": ["room", "state"],
    },
)


def test_a_signature_names_every_argument_with_its_values_then_the_required_ones() -> None:
    assert signature(LIGHTS) == (
        'control_lights(room: "living room"|"kitchen", state: "on"|"off", '
        "brightness: integer 0-100 (percent)): Switch or dim the lights. Required: room, state."
    )


def test_argument_types_of_every_shape() -> None:
    assert argument_type({"type": "integer", "minimum": 1}) == "integer >= 1"
    assert argument_type({"type": "number", "maximum": 5}) == "number <= 5"
    assert argument_type({"type": ["string", "null"]}) == "string|null"
    assert argument_type({"type": "array", "items": {"type": "string"}}) == "array of string"
    nested = {"type": "object", "properties": {"x": {"type": "integer"}}}
    assert argument_type(nested) == '{"type":"object","properties":{"x":{"type":"integer"}}}'
    assert argument_type({"anyOf": [{"type": "string"}]}) == '{"anyOf":[{"type":"string"}]}'
    assert argument_type({"type": "boolean"}) == "boolean"


def test_tools_without_parameters_or_description() -> None:
    assert signature(Tool("ping", "", {})) == "ping()"
    assert signature(Tool("now", "The time.", {"type": "object"})) == "now(): The time."
    needs = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    assert signature(Tool("find", "", needs)) == "find(q: string) Required: q."
    # a client's odd schema is listed as far as it can be, never an error
    odd = {"type": "object", "properties": ["q"], "required": "q"}
    assert signature(Tool("odd", " ", odd)) == "odd()"
    assert signature(Tool("str", "", {"properties": {"q": "text"}})) == "str(q: {})"


def test_signatures_are_the_default_listing_and_shorter_than_the_schemas() -> None:
    tools = DemoTools().registry.schemas()
    section = tools_system_section(tools)
    assert section == tools_system_section(tools, ToolListing.SIGNATURES)
    listed = section.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
    assert [line.split("(")[0] for line in listed] == [t.name for t in tools]
    # the template's frame around them stays: the model writes calls the way it was taught
    assert section.startswith("# Tools\n\nYou may call one or more functions")
    assert section.endswith('"arguments": <args-json-object>}\n</tool_call>')
    assert len(section) < len(tools_system_section(tools, ToolListing.JSON)) * 0.7
