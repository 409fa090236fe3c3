"""Reading JSON-lines files with errors that name the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def jsonl_objects(
    path: Path, lines: Sequence[str], error: type[Exception]
) -> Iterator[tuple[int, str, Any]]:
    """``(line number, where, object)`` per non-blank line; a line that is not JSON raises ``error``
    naming ``path`` and the line number (``where`` is that same "FILE line N")."""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path} line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}: not JSON ({exc.msg})") from exc
        yield n, where, obj
