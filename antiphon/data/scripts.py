"""Dialogue scripts: who says what, before any audio. From templates, a file or the local LLM.

File formats (errors name the file and line):
- ``.txt``: one line per turn, ``user: text`` or ``agent: text`` (``u:``/``a:`` and
  ``assistant:`` also work); a blank line starts the next dialogue; ``#`` lines are comments.
- ``.jsonl``: one dialogue per line, ``{"turns": [{"speaker": "user", "text": "..."}, ...]}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from antiphon.data.jsonl import jsonl_objects
from antiphon.data.templates import PERSONAS, TOPICS, Persona, template_script

if TYPE_CHECKING:
    from antiphon.agent.chatml import Role
    from antiphon.cascade.llm import ChatLLM


class ScriptError(ValueError):
    """A scripts file that cannot be read as dialogues."""


@dataclass(frozen=True)
class Script:
    source: str  # "template:...", "file:NAME:LINE" or "llm:..."
    turns: tuple[tuple[str, str], ...]  # (speaker, text), speaker "agent" | "user"


_SPEAKER = {"user": "user", "u": "user", "agent": "agent", "a": "agent", "assistant": "agent"}
_LINE = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.+?)\s*$")


def _check(turns: list[tuple[str, str]], where: str) -> tuple[tuple[str, str], ...]:
    if len(turns) < 2 or {s for s, _ in turns} != {"agent", "user"}:
        raise ScriptError(f"{where}: a dialogue needs at least one user and one agent turn")
    return tuple(turns)


def read_scripts(path: str | Path) -> list[Script]:
    p = Path(path)
    if not p.is_file():
        raise ScriptError(f"{p}: no such scripts file")
    if p.suffix not in (".txt", ".jsonl"):
        raise ScriptError(f"{p}: scripts must be .txt or .jsonl, got {p.suffix or 'no suffix'}")
    lines = p.read_text(encoding="utf-8").splitlines()
    scripts = _read_jsonl(p, lines) if p.suffix == ".jsonl" else _read_txt(p, lines)
    if not scripts:
        raise ScriptError(f"{p}: no dialogues found")
    return scripts


def _read_txt(p: Path, lines: list[str]) -> list[Script]:
    scripts: list[Script] = []
    turns: list[tuple[str, str]] = []
    first = 0
    for n, line in enumerate([*lines, ""], start=1):
        if line.strip().startswith("#"):
            continue
        if not line.strip():
            if turns:
                scripts.append(Script(f"file:{p.name}:{first}", _check(turns, f"{p} line {first}")))
            turns = []
            continue
        m = _LINE.match(line)
        speaker = _SPEAKER.get(m.group(1).lower()) if m else None
        if m is None or speaker is None:
            raise ScriptError(f"{p} line {n}: expected 'user: TEXT' or 'agent: TEXT', got {line!r}")
        if not turns:
            first = n
        turns.append((speaker, m.group(2)))
    return scripts


def _read_jsonl(p: Path, lines: list[str]) -> list[Script]:
    scripts: list[Script] = []
    for n, where, obj in jsonl_objects(p, lines, ScriptError):
        items = obj.get("turns") if isinstance(obj, dict) else None
        if not isinstance(items, list):
            raise ScriptError(f"{where}: expected an object with a list under key 'turns'")
        turns = []
        for i, t in enumerate(items):
            speaker = (
                _SPEAKER.get(str(t.get("speaker", "")).lower()) if isinstance(t, dict) else None
            )
            text = t.get("text") if isinstance(t, dict) else None
            if speaker is None or not isinstance(text, str) or not text.strip():
                raise ScriptError(
                    f"{where}: turns[{i}] needs 'speaker' (user|agent) and a non-empty 'text'"
                )
            turns.append((speaker, text.strip()))
        scripts.append(Script(f"file:{p.name}:{n}", _check(turns, where)))
    return scripts


def template_scripts(rng: np.random.Generator) -> Iterator[Script]:
    while True:
        source, turns = template_script(rng)
        yield Script(source, tuple(turns))


def file_scripts(scripts: list[Script]) -> Iterator[Script]:
    """The file's dialogues in order, cycled when more dialogues are asked for."""
    while True:
        yield from scripts


# --- LLM-written scripts -------------------------------------------------------------------
# Small chat models write stories when asked for a whole script, but they play a role well:
# the dialogue is written one line at a time by two chat sessions over the same model, one
# playing the user, one the assistant, each seeing the other's lines as the other role.
_AGENT_SYSTEM = (
    "You are a {persona} voice assistant talking with a user about {topic}. "
    "Answer in one or two short spoken sentences, plain words, no lists."
)
_USER_SYSTEM = (
    "You are a person talking to a voice assistant about {topic}. Write only your next line "
    "in the conversation: one short spoken sentence, a question or a reply."
)
_NOT_SPEECH = re.compile(r"[^\w\s.,?!'-]")


def spoken_line(reply: str, max_sentences: int = 2) -> str:
    """The first sentences of a reply as plain speech ("" if nothing usable)."""
    text = " ".join(reply.split())
    text = re.sub(r"^\W*(user|assistant|agent|person|me|you)\s*:\s*", "", text, flags=re.I)
    text = _NOT_SPEECH.sub("", text).strip()
    sentences = re.findall(r"[^.?!]+[.?!]?", text)
    return " ".join(s.strip() for s in sentences[:max_sentences] if s.strip())


def llm_dialogue(
    llm: ChatLLM, topic: str, persona: Persona, greeting: str, n_turns: int
) -> list[tuple[str, str]]:
    """The agent greets (from the persona), then the two roles take turns, user first."""
    from antiphon.agent.chatml import Message

    turns: list[tuple[str, str]] = [("agent", greeting)]
    while len(turns) < n_turns:
        speaker = "user" if turns[-1][0] == "agent" else "agent"
        template = _USER_SYSTEM if speaker == "user" else _AGENT_SYSTEM
        msgs = [Message("system", template.format(topic=topic, persona=persona.name))]
        for s, text in turns:
            role: Role = "assistant" if s == speaker else "user"
            msgs.append(Message(role, text))
        line = spoken_line(llm.complete(msgs, max_tokens=60, temperature=0.7))
        if not line:
            break
        turns.append((speaker, line))
    return turns


def llm_scripts(
    rng: np.random.Generator,
    model_path: str | Path,
    seed: int,
    max_turns: int | None = None,
    threads: int = 1,
) -> Iterator[Script]:
    """Scripts written by the local LLM; an unusable reply falls back to a template.
    ``threads`` 1 by default: llama.cpp's spinning threads stall each other on a busy CPU
    (see llm.py), and dataset synthesis runs beside it."""
    from antiphon.cascade.llm import ChatLLM

    llm = ChatLLM(model_path, n_threads=threads, n_ctx=2048, seed=seed)
    while True:
        topic = TOPICS[int(rng.integers(len(TOPICS)))].name
        persona = PERSONAS[int(rng.integers(len(PERSONAS)))]
        greeting = persona.greet[int(rng.integers(len(persona.greet)))]
        n_turns = int(rng.integers(4, 8))
        turns = llm_dialogue(llm, topic, persona, greeting, min(n_turns, max_turns or n_turns))
        try:
            source = f"llm:{Path(model_path).stem}/{topic}/{persona.name}"
            yield Script(source, _check(turns, "llm"))
        except ScriptError:
            yield next(template_scripts(rng))


def script_record(script: Script) -> dict[str, object]:
    """A script as one line of the ``.jsonl`` format ``read_scripts`` reads."""
    return {
        "source": script.source,
        "turns": [{"speaker": s, "text": t} for s, t in script.turns],
    }
