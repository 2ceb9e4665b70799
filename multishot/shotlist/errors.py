"""Errors in a shot list, all reported together with file, line and field path."""

from __future__ import annotations

from multishot.errors import InvalidInput

import unicodedata
from dataclasses import dataclass
from pathlib import Path


def printable(text: str) -> str:
    """`text` with every control or format character shown as an escape (`\\x1b`, `\\n`,
    `\\u202e`): values from a shot list are quoted in messages, and an ESC sequence or a newline in
    one must not reach a terminal or add a line to a log (issue 17 item 6)."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable() or (c == " "):
            out.append(c)
        elif unicodedata.category(c) in ("Zs",):  # no-break and other spaces are harmless
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        field = f" {self.path}:" if self.path else ""
        return printable(f"{where}:{field} {self.message}")


class ShotListError(InvalidInput):
    """One or more problems in one shot-list file. The CLI prints them all and exits 2."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.path))
        first = self.problems[0] if self.problems else None
        super().__init__("\n".join(str(p) for p in self.problems), file=first.file if first else None,
                         line=first.line if first else None, field=first.path if first else None)


def format_path(loc: tuple[str | int, ...]) -> str:
    """('scenes', 0, 'shots', 2, 'characters', 0) -> 'scenes[0].shots[2].characters[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
