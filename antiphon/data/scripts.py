"""Dialogue scripts: who says what, before any audio. From templates, a file or the local LLM.

File formats (errors name the file and line):
- ``.txt``: one line per turn, ``user: text`` or ``agent: text`` (``u:``/``a:`` and
  ``assistant:`` also work); a blank line starts the next dialogue; ``#`` lines are comments.
- ``.jsonl``: one dialogue per line, ``{"turns": [{"speaker": "user", "text": "..."}, ...]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antiphon.data.templates import PERSONAS, TOPICS, template_script


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
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{p} line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScriptError(f"{where}: not JSON ({exc.msg})") from exc
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
_PROMPT = (
    "Write a short spoken conversation between a user and a voice assistant about {topic}. "
    "The assistant is {persona}. Write 4 to 6 lines, alternating, starting with the user. "
    "Start each line with 'User:' or 'Assistant:'. Keep every line under 25 words. "
    "Plain words only, no lists, no emojis."
)
_CLEAN = re.compile(r"[*_#`~\[\]{}<>|\\]")


def parse_llm_dialogue(text: str) -> list[tuple[str, str]]:
    """``User: ...`` / ``Assistant: ...`` lines → turns (other lines are ignored)."""
    turns: list[tuple[str, str]] = []
    for line in text.splitlines():
        m = _LINE.match(_CLEAN.sub("", line))
        speaker = _SPEAKER.get(m.group(1).lower()) if m else None
        if m is None or speaker is None:
            continue
        words = re.sub(r"[^\w\s.,?!'-]", "", m.group(2)).strip()
        if words and (not turns or turns[-1][0] != speaker):
            turns.append((speaker, words))
    return turns


def llm_scripts(rng: np.random.Generator, model_path: str | Path, seed: int) -> Iterator[Script]:
    """Scripts written by the local LLM; a reply that does not parse falls back to a template."""
    from antiphon.agent.chatml import Message
    from antiphon.cascade.llm import ChatLLM

    llm = ChatLLM(model_path, n_threads=2, n_ctx=1024, seed=seed)
    while True:
        topic = TOPICS[int(rng.integers(len(TOPICS)))].name
        persona = PERSONAS[int(rng.integers(len(PERSONAS)))].name
        prompt = _PROMPT.format(topic=topic, persona=persona)
        reply = llm.complete(
            [Message("system", "You write short dialogue scripts."), Message("user", prompt)],
            max_tokens=220,
            temperature=0.7,
        )
        turns = parse_llm_dialogue(reply)
        try:
            yield Script(f"llm:{Path(model_path).stem}/{topic}/{persona}", _check(turns, "llm"))
        except ScriptError:
            yield next(template_scripts(rng))
