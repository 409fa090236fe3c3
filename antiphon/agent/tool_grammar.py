"""The grammar a tool call is sampled under, built from the declared tools' JSON schemas.

Inside ``<tool_call>`` the model writes ``{"name": ..., "arguments": {...}}``. Sampling it
under this grammar makes the call valid by construction: the name is one of the declared
tools, and the arguments follow that tool's schema (required fields present, enums from
their list, integers as integers, no undeclared fields). The model still decides *whether*
to call and with *which* values; the grammar only rules out calls that could not run.

The JSON-schema → GBNF conversion is llama.cpp's own (``llama_cpp.llama_grammar``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from antiphon.session.commands import Tool

CALL_RULE = "call"


def _strict_arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    """A tool's parameters as the schema its arguments must match. Undeclared fields are
    ruled out unless the schema allows them explicitly (a tool cannot use what it did not
    declare, and a small model otherwise invents extra keys)."""
    schema = copy.deepcopy(parameters) if parameters else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    if schema.get("type") == "object":
        schema.setdefault("additionalProperties", False)
    return schema


def tool_call_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """One JSON schema for ``{"name": <tool>, "arguments": <its parameters>}``."""
    if not tools:
        raise ValueError("a tool-call grammar needs at least one declared tool")
    alternatives = [
        {
            "type": "object",
            "properties": {
                "name": {"const": t.name},
                "arguments": _strict_arguments(t.parameters),
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    return alternatives[0] if len(alternatives) == 1 else {"oneOf": alternatives}


def tool_call_grammar(tools: Sequence[Tool]) -> str:
    """GBNF for the text after ``<tool_call>``: an optional newline, then the call's JSON.

    Raises ValueError naming the tool whose schema llama.cpp cannot convert."""
    from llama_cpp.llama_grammar import SchemaConverter

    for tool in tools:  # convert one by one first, so an error names its tool
        try:
            _convert(tool_call_schema([tool]))
        except Exception as exc:
            raise ValueError(
                f"tool {tool.name!r}: its parameters schema cannot be turned into a grammar: {exc}"
            ) from exc
    converter = SchemaConverter(
        prop_order={"name": 0, "arguments": 1}, allow_fetch=False, dotall=False, raw_pattern=False
    )
    schema = converter.resolve_refs(tool_call_schema(tools), "tools")
    converter.visit(schema, CALL_RULE)
    return f'root ::= "\\n"? {CALL_RULE}\n' + converter.format_grammar()


def _convert(schema: dict[str, Any]) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(json.dumps(schema), ["name", "arguments"]))
