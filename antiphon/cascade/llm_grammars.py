"""The llama.cpp grammars a reply is sampled under, per sampling mode, built once per tool
set (compiling a grammar of several JSON schemas takes milliseconds; a turn should not)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from antiphon.agent.tool_grammar import tool_call_grammar
from antiphon.agent.toolcall import tool_json
from antiphon.cascade.llm_modes import Mode
from antiphon.session.commands import Tool

# a first token that cannot open a call: no "{", "<", "[", no leading space
_FIRST_TEXT = "root ::= [^{<[ \\t\\n] [^{<]*\n"


class ModeGrammars:
    def __init__(self) -> None:
        self._built: dict[tuple[str, ...], object] = {}

    def for_mode(self, mode: Mode, tools: Sequence[Tool]) -> object | None:
        """CALL: the whole call, ``{"name": <declared tool>, "arguments": <its schema>}``
        (agent/tool_grammar.py); FIRST_TEXT: a first token that cannot open a call; other
        modes: unconstrained."""
        if mode is Mode.CALL:
            key: tuple[str, ...] = tuple(tool_json(t) for t in tools)
            return self._get(key, lambda: tool_call_grammar(tools))
        if mode is Mode.FIRST_TEXT:
            return self._get(("first_text",), lambda: _FIRST_TEXT)
        return None

    def _get(self, key: tuple[str, ...], text: Callable[[], str]) -> object:
        from llama_cpp.llama_grammar import LlamaGrammar

        if key not in self._built:
            self._built[key] = LlamaGrammar.from_string(text(), verbose=False)
        return self._built[key]
