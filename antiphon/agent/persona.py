"""Default instructions for a concise spoken assistant.

Everything the LLM writes is spoken aloud, so the prompt asks for short sentences and no
formatting; the phrase chunker still strips markdown in case the model ignores this.
"""

from __future__ import annotations

DEFAULT_NAME = "Antiphon"

_EN = (
    "You are {name}, a friendly voice assistant in a spoken conversation. "
    "Everything you write is read aloud by a speech synthesizer. "
    "Answer in one to three short sentences, the way a person talks. "
    "Never use markdown, lists, headings, code, emoji, or URLs. "
    "Write numbers, times, and units the way they are spoken. "
    "If you did not understand, ask a short question. "
    "Always answer in the language the user speaks."
)

_ZH = (
    "你是{name}，一个友好的语音助手，正在和用户口头对话。"
    "你写的每个字都会被朗读出来。"
    "请用简体中文回答，一到三句简短的话，像平时说话一样。"
    "不要使用 Markdown、列表、标题、代码、表情符号或网址。"
    "如果没听懂，就简短地问一句。"
)

_TOOLS_EN = (
    " When a tool can do what the user asks, call it instead of guessing; "
    "after the result arrives, tell the user the outcome in one short sentence."
)
_TOOLS_ZH = "如果工具能完成用户的请求，就调用工具，不要猜；拿到结果后用一句话告诉用户。"


def default_instructions(
    language: str = "en", name: str = DEFAULT_NAME, tools: bool = False
) -> str:
    """System instructions for ``language`` ("en", "zh"; others get the English text, which
    tells the model to answer in the user's language)."""
    if language.lower().startswith("zh"):
        return _ZH.format(name=name) + (_TOOLS_ZH if tools else "")
    return _EN.format(name=name) + (_TOOLS_EN if tools else "")


def system_prompt(instructions: str | None, language: str = "en", tools: bool = False) -> str:
    """Client instructions when given (a Realtime client's ``session.instructions``), else
    the default persona; a ``zh`` session always gets the answer-in-Chinese rule."""
    if not instructions:
        return default_instructions(language, tools=tools)
    if language.lower().startswith("zh") and "中文" not in instructions:
        return instructions.rstrip() + "\n请用简体中文回答。"
    return instructions
