"""The declared tools as one-line signatures for the reply's system prompt.

Qwen2.5's template prints each tool as its whole JSON schema (``tool | tojson``): with
the spoken persona and `antiphon bench quality`'s 8 tools the reply's prompt is 874 tokens,
449 as signatures. On 2 cores a prompt token costs ~10 ms, and a session that declares a
new tool set pays for all of them before its first answer: 8.3-10.4 s -> 3.1-4.2 s voice
to voice through the server (2026-12-07, three runs, docs/bench-quality.md). The call
itself is sampled under a grammar built from the full schemas (agent/tool_grammar.py), so
the listing only has to say what each tool does and what its arguments mean. In text
(Qwen2.5-Coder-1.5B, temperature 0, 64 tool requests, 64 remarks, 120 questions over both
halves) the calls, remarks and answers scored the same as with the JSON listing; through
the server, 14 of 16 test-half requests right against 15 (one misheard light request, "Dim
the office likes to 30%", got ``state: off`` in both test-half runs) and 22 of 32 tune-half
requests right with either listing.

    set_timer(minutes: integer >= 0 (whole minutes), label: string): Start a timer.
    control_lights(room: "kitchen"|"office", state: "on"|"off"): Switch the lights. Required: room.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from antiphon.session.commands import Tool


def _compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def argument_type(schema: Mapping[str, Any]) -> str:
    """What an argument takes, in a few words: an enum's values, a type with its bounds,
    an array's item type; anything richer (nested objects, anyOf) as its compact schema."""
    if "enum" in schema:
        return "|".join(_compact_json(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
        return "|".join(kind)
    items = schema.get("items", {})
    if kind == "array" and isinstance(items, Mapping):
        return f"array of {argument_type(items)}"
    if not isinstance(kind, str) or (kind == "object" and schema.get("properties")):
        return _compact_json(schema)
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{kind} {low}-{high}"
    if low is not None:
        return f"{kind} >= {low}"
    if high is not None:
        return f"{kind} <= {high}"
    return kind


def signature(tool: Tool) -> str:
    """``name(arg: type (description), other: type): description Required: arg.`` on one
    line. Optional arguments are not marked as such: marked with a "?", the model left out
    arguments the user had given (a timer's label) — the schema's own ``required`` list
    is named instead, as the JSON listing has it."""
    parameters = tool.parameters if isinstance(tool.parameters, Mapping) else {}
    properties = parameters.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required_list = parameters.get("required")
    required = (
        {r for r in required_list if isinstance(r, str)}
        if isinstance(required_list, list)
        else set()
    )
    args = []
    for name, schema in properties.items():
        schema = schema if isinstance(schema, Mapping) else {}
        arg = f"{name}: {argument_type(schema)}"
        if isinstance(schema.get("description"), str) and schema["description"].strip():
            arg += f" ({_one_line(schema['description'])})"
        args.append(arg)
    line = f"{tool.name}({', '.join(args)})"
    description = _one_line(tool.description or "")
    if description:
        line += f": {description}"
    named = [name for name in properties if name in required]
    return line + (f" Required: {', '.join(named)}." if named else "")
