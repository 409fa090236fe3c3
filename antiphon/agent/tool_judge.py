"""Does this utterance need a tool? The chat model's own judgement, asked plainly.

Measured on Qwen2.5-Coder-1.5B (2026-12-06): inside the reply, the probability of opening
a call separates badly — with the spoken-assistant persona it stays below 0.4 for real
requests ("set a timer for five minutes": 0.04) and reaches 0.3 for remarks ("I had a
great time"); with a bare system prompt it is above 0.9 for everything. Asked as its own
question — "which tool does this message need? the tool's name, or none" — with the
session's tools listed and examples on *other* tools, the same model separates them:
on the tuning half of `antiphon bench quality` (32 tool requests, 112 plain questions and
remarks, 8 declared tools), P(not "none") ≥ 0.85 caught 93.8 % of the requests with 1.8 %
false calls. A yes/no form of the question did worse there (0.75 recall at 2.7 % false
calls at its best threshold; `antiphon bench tool-judge` prints such a table). So the
reply pass no longer decides: ChatLLM asks this question first, and the reply is sampled
either as a call under the tools' grammar (the model then picks the tool and arguments)
or as speech with calls ruled out.

The prompt's prefix (instructions, examples, the session's tools) is the same on every
turn of a session, so its KV cache is reused and a turn evaluates only the user's words.
"""

from __future__ import annotations

from collections.abc import Sequence

from antiphon.agent.chatml import Message
from antiphon.session.commands import Tool

_INSTRUCTIONS = (
    "You route the user's message of a voice assistant. If answering needs one of the "
    "tools (the user asks the assistant to perform an action a tool performs, or asks for "
    "live information only a tool has), answer with that tool's name. Otherwise answer "
    "none: general knowledge, facts, science, arithmetic, definitions, opinions, small "
    "talk, and remarks that merely mention what a tool is about need no tool.\n\n"
    # examples on tools no session is likely to have: they show the distinction, not a list
    "Example tools: play_music (play a song), get_stock_price (the current price of a "
    "stock), get_flight_status (whether a flight is on time today).\n"
    '"Play something by the Beatles." -> play_music\n'
    '"Who were the Beatles?" -> none\n'
    '"What is Apple trading at right now?" -> get_stock_price\n'
    '"I love music." -> none\n'
    '"What does a stock exchange do?" -> none\n'
    '"Is flight BA 117 on time?" -> get_flight_status\n'
    '"How fast does a plane fly?" -> none\n'
    '"What is the boiling point of water?" -> none'
)
QUESTION = "Which tool does the message need? Answer with the tool's name or none."
NONE_WORDS = ("none", "None")  # P(tool) = 1 - P(the answer starts with one of these)


def judge_messages(user_text: str, tools: Sequence[Tool]) -> list[Message]:
    """The judge's prompt: everything but the user's words comes first, so it is cached."""
    listed = "\n".join(f"- {t.name}: {t.description or 'no description'}" for t in tools)
    system = f"{_INSTRUCTIONS}\n\nThe assistant's tools:\n{listed}\n\n{QUESTION}"
    return [Message("system", system), Message("user", f'"{user_text.strip()}"')]
