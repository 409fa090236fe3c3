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

# Only for sessions that offer tools (appended by ``with_tool_guidance``): a session
# without tools never mentions them.
_TOOLS_EN = (
    " Call a tool only when the user asks for something that one of the tools does; "
    "answer every other question or remark yourself, without a tool. "
    "After a tool result arrives, tell the user the outcome in one short sentence."
)
_TOOLS_ZH = (
    "只有当用户请求的事情正是某个工具能做的，才调用工具；其他问题和闲聊都直接回答，不用工具。"
    "拿到结果后用一句话告诉用户。"
)


def default_instructions(language: str = "en", name: str = DEFAULT_NAME) -> str:
    """System instructions for ``language`` ("en", "zh"; others get the English text, which
    tells the model to answer in the user's language)."""
    if language.lower().startswith("zh"):
        return _ZH.format(name=name)
    return _EN.format(name=name)


def with_tool_guidance(system: str, language: str = "en") -> str:
    """The system text of a session that offers tools: when to call one and when not."""
    return system + (_TOOLS_ZH if language.lower().startswith("zh") else _TOOLS_EN)


def system_prompt(instructions: str | None, language: str = "en") -> str:
    """Client instructions when given (a Realtime client's ``session.instructions``), else
    the default persona; a ``zh`` session always gets the answer-in-Chinese rule."""
    if not instructions:
        return default_instructions(language)
    if language.lower().startswith("zh") and "中文" not in instructions:
        return instructions.rstrip() + "\n请用简体中文回答。"
    return instructions
