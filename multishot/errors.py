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
from typing import Any


class InvalidInput(Exception):
    """Input the user can fix. `file`, `line` and `field` say where, when it is known (a shot
    list's problems carry all three; a bad flag has none)."""

    def __init__(self, message: object = "", *, file: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle without calling the subclass's `__init__` again: an error raised in a worker
        process or a Ray actor travels back to the driver by pickle, and a subclass whose
        `__init__` takes something other than the message (ShotListError takes its problems)
        cannot be rebuilt from `args` the way Exception's own reduce does. The instance dict
        (file, line, field, a ShotListError's problems, notes) is restored as it was."""
        return _rebuild, (type(self), self.args, self.__dict__)

    def where(self) -> str:
        """`file:line: field: ` (as much of it as is known), for a one-line message."""
        at = f"{self.file}:{self.line}" if self.file and self.line else (str(self.file) if self.file else "")
        parts = [p for p in (at, self.field) if p]
        return "".join(f"{p}: " for p in parts)


def _rebuild(cls: type[InvalidInput], args: tuple[Any, ...], state: dict[str, Any]) -> InvalidInput:
    """The other half of `InvalidInput.__reduce__`: the same class, args and attributes."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error
