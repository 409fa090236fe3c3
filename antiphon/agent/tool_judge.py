"""Does this utterance need a tool? The chat model's own yes/no judgement, asked plainly.

Measured on Qwen2.5-Coder-1.5B (2026-12-06): inside the reply, the probability of opening
a call separates badly — with the spoken-assistant persona it stays below 0.4 for real
requests ("set a timer for five minutes": 0.04) and reaches 0.3 for remarks ("I had a
great time"); with a bare system prompt it is above 0.9 for everything. Asked as its own
question, with the session's tools listed and a few examples on *other* tools, the same
model says yes with 0.58-0.92 to requests and 0.10-0.69 to plain questions and remarks
that mention a tool's subject. So the reply pass no longer decides: ChatLLM asks this
question first, and the reply is sampled either as a call under the tools' grammar or as
speech with calls ruled out. The threshold is tuned on the tuning half of
``antiphon bench quality``.

The prompt's prefix (instructions, examples, the session's tools) is the same on every
turn of a session, so its KV cache is reused and a turn evaluates only the user's words.
"""

from __future__ import annotations

from collections.abc import Sequence

from antiphon.agent.chatml import Message
from antiphon.session.commands import Tool

_INSTRUCTIONS = (
    "You decide whether a voice assistant must use one of its tools to reply to the "
    "user's message. Answer yes only when the message asks the assistant to perform an "
    "action that one of the tools performs, or asks for information that only one of the "
    "tools can provide (live data such as the current time or the state of a device). "
    "Answer no for general-knowledge questions, opinions, small talk, and remarks that "
    "merely mention what a tool is about.\n\n"
    # examples on tools no session is likely to have: they show the distinction, not a list
    "Example tools: play_music (play a song), get_stock_price (the current price of a stock).\n"
    '"Play something by the Beatles." -> yes\n'
    '"Who were the Beatles?" -> no\n'
    '"What is Apple trading at right now?" -> yes\n'
    '"I love music." -> no\n'
    '"What does a stock exchange do?" -> no'
)
QUESTION = "Must the assistant use one of these tools? Answer yes or no."
YES_WORDS = ("yes", "Yes")
NO_WORDS = ("no", "No")


def judge_messages(user_text: str, tools: Sequence[Tool]) -> list[Message]:
    """The judge's prompt: everything but the user's words comes first, so it is cached."""
    listed = "\n".join(f"- {t.name}: {t.description or 'no description'}" for t in tools)
    system = f"{_INSTRUCTIONS}\n\nThe assistant's tools:\n{listed}\n\n{QUESTION}"
    return [Message("system", system), Message("user", f'"{user_text.strip()}"')]
