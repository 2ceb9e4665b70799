"""The one base class of "the user's input is wrong": every such error is an `InvalidInput`.

A shot list, a profile, a paradigm name, a flag, a LoRA or an output folder that cannot be used
is refused before any work, in a sentence, with exit code 2 (README "Exit codes"). Each module
keeps its own precise class (ProfileError, UnknownParadigm, …) so callers can still tell them
apart, but all of them derive from `InvalidInput`, so the command line catches them in one place
(cli/output.py) instead of keeping a list of every class that means "invalid input".

Outside the layers (like `multishot/__init__.py`): every layer may raise one.
"""

from __future__ import annotations

from pathlib import Path


class InvalidInput(Exception):
    """Input the user can fix. `file`, `line` and `field` say where, when it is known (a shot
    list's problems carry all three; a bad flag has none)."""

    def __init__(self, message: object = "", *, file: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field

    def where(self) -> str:
        """`file:line: field: ` (as much of it as is known), for a one-line message."""
        at = f"{self.file}:{self.line}" if self.file and self.line else (str(self.file) if self.file else "")
        parts = [p for p in (at, self.field) if p]
        return "".join(f"{p}: " for p in parts)
