"""Tool calls on the default chat model (Qwen2.5-Coder-1.5B): the model decides whether to
call (agent/tool_judge.py), the call is sampled under the declared tools' grammar
(agent/tool_grammar.py), and tool_choice none / required / a named function hold."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("llama_cpp")

from antiphon.agent.persona import default_instructions, with_tool_guidance  # noqa: E402
from antiphon.agent.tool_grammar import tool_call_grammar  # noqa: E402
from antiphon.agent.toolcall import ToolCallParser  # noqa: E402
from antiphon.bench.quality.data import tool_set  # noqa: E402
from antiphon.cascade.llm import ChatLLM, Message  # noqa: E402
from antiphon.cascade.llm_modes import Mode, SpeechBans  # noqa: E402
from antiphon.models import DEFAULT_LLM, LLM_MODELS  # noqa: E402
from antiphon.session.commands import ForcedTool, Tool  # noqa: E402

pytestmark = pytest.mark.models
THREADS = int(os.environ.get("ANTIPHON_LLM_THREADS", "1"))
SYSTEM = Message("system", with_tool_guidance(default_instructions("en")))

LIGHTS = Tool(
    "switch_lamp",
    "Switch a lamp in the flat on or off, optionally at a brightness.",
    {
        "type": "object",
        "properties": {
            "lamp": {"type": "string", "enum": ["desk", "hallway", "porch"]},
            "on": {"type": "boolean"},
            "brightness_percent": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        "required": ["lamp", "on"],
    },
)
ALARM = Tool(
    "start_countdown",
    "Start a countdown that rings when it reaches zero.",
    {
        "type": "object",
        "properties": {"seconds": {"type": "integer"}, "name": {"type": "string"}},
        "required": ["seconds"],
    },
)
CLOCK = Tool("read_clock", "Tell the current local time.", {"type": "object", "properties": {}})
TOOLS = [LIGHTS, ALARM, CLOCK]


@pytest.fixture(scope="module")
def llm() -> ChatLLM:
    assert DEFAULT_LLM == "qwen1.5b"
    return ChatLLM(LLM_MODELS[DEFAULT_LLM](), n_threads=THREADS, n_ctx=2048)


def _reply(llm: ChatLLM, text: str, **kwargs: object) -> ToolCallParser:
    parser = ToolCallParser()
    for piece in llm.stream([SYSTEM, Message("user", text)], TOOLS, temperature=0.0, **kwargs):  # type: ignore[arg-type]
        parser.feed(piece)
    parser.finish()
    return parser


@pytest.mark.parametrize(
    "text",
    [
        "I had a great time at the concert last night.",
        "My grandmother used to keep a lamp in every window.",
        "What is the capital of Canada?",
        "Time really flies, doesn't it?",
        "The porch of that old house was beautiful.",
    ],
)
def test_plain_utterances_with_tool_words_get_no_call(llm: ChatLLM, text: str) -> None:
    parser = _reply(llm, text, max_tokens=12)
    assert not parser.calls and not parser.errors, (text, parser.calls, parser.errors)
    assert parser.text.strip(), "a plain utterance gets a spoken answer"
    assert llm.last_tool_probability is not None and llm.last_tool_probability < llm.tool_threshold


def test_a_spoken_request_becomes_a_valid_call(llm: ChatLLM) -> None:
    parser = _reply(llm, "uh, could you start a countdown for, um, ninety seconds", max_tokens=60)
    assert not parser.errors and len(parser.calls) == 1, (parser.calls, parser.errors)
    call = parser.calls[0]
    assert call.name == "start_countdown" and call.arguments["seconds"] == 90, call
    assert parser.text.strip() == ""  # no words before the call: the filler covers it


def test_grammar_makes_enum_and_integer_arguments_valid(llm: ChatLLM) -> None:
    """Forced to call switch_lamp on a request that fits none of its enum values, the
    arguments still validate: a lamp from the enum, a boolean, an integer brightness."""
    parser = _reply(
        llm,
        "Make the kitchen ceiling light about half as bright, please.",
        max_tokens=60,
        tool_choice=ForcedTool("switch_lamp"),
    )
    assert not parser.errors and len(parser.calls) == 1, (parser.calls, parser.errors)
    args = parser.calls[0].arguments
    assert parser.calls[0].name == "switch_lamp"
    assert args["lamp"] in {"desk", "hallway", "porch"} and isinstance(args["on"], bool)
    assert set(args) <= {"lamp", "on", "brightness_percent"}
    if "brightness_percent" in args:
        assert isinstance(args["brightness_percent"], int)


def test_tool_choice_none_and_required(llm: ChatLLM) -> None:
    none = _reply(llm, "Switch the porch lamp on.", max_tokens=20, tool_choice="none")
    assert not none.calls and none.text.strip() and "<tool_call>" not in none.text
    required = _reply(llm, "Hello there!", max_tokens=60, tool_choice="required")
    assert len(required.calls) == 1 and required.calls[0].name in {t.name for t in TOOLS}
    forced = _reply(llm, "Hello there!", max_tokens=60, tool_choice=ForcedTool("read_clock"))
    assert [c.name for c in forced.calls] == ["read_clock"]
    with pytest.raises(ValueError, match="not a declared tool"):
        _reply(llm, "Hi", max_tokens=5, tool_choice=ForcedTool("launch_rocket"))


def test_grammar_text_names_only_declared_tools_and_rejects_bad_schemas() -> None:
    grammar = tool_call_grammar(TOOLS)
    for tool in TOOLS:
        assert json.dumps(tool.name) in grammar or tool.name in grammar
    bad = Tool("odd", "", {"type": "object", "properties": {"x": {"$ref": "#/nowhere"}}})
    with pytest.raises(ValueError, match="'odd'"):
        tool_call_grammar([bad])


def test_speech_carries_no_markup_when_a_call_is_ruled_out(llm: ChatLLM) -> None:
    """tool_choice none rules a call out, and the model would write it as text anyway:
    "```json {"name": "add ..." here without the ban (checked 2026-12-07; through the server
    the judge's "no tool" gave "Sure, I can help with that. <tools></tools>{...}"). Speech
    modes cannot sample "<" or "{" (llm_modes.SpeechBans). The judge's path samples in the
    same mode; at this test's single thread it did not leak without the ban, so it is not
    a separate case here."""
    # bench quality's tools, and the server's sampling (temperature 0.2, the model's seed):
    # greedy decoding does not take the " <" after "Sure, I can help with that."
    tools = [Tool(t["name"], t["description"], t["parameters"]) for t in tool_set().tools]
    text = "I forgot my shopping list at home yesterday"
    reply = llm.complete(
        [SYSTEM, Message("user", text)], tools, tool_choice="none",
        max_tokens=60, temperature=0.2,
    )  # fmt: skip
    assert reply.strip() and "<" not in reply and "{" not in reply, reply


def test_speech_bans_by_mode() -> None:
    """Markup and JSON tokens are banned in speech; FREE keeps the token that opens a call;
    special tokens (no text) never are."""
    vocab = [b"Hello", b" <", b'{"', b"<tool_call>", b"", b" world", b"}<"]
    bans = SpeechBans(vocab, call_open=3)
    assert bans.for_mode(Mode.TEXT) == bans.for_mode(Mode.FIRST_TEXT) == [1, 2, 3, 6]
    assert bans.for_mode(Mode.FREE) == [1, 6]
    assert bans.for_mode(Mode.CALL) == []
