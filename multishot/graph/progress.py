"""Progress reporting as a tiny interface, so stages can report without knowing about rich.

The CLI passes a rich-backed reporter; tests and library users get the silent default.
"""

from __future__ import annotations

from typing import Protocol


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...

    def done(self) -> None: ...


class Reporter(Protocol):
    def task(self, label: str, total: int | None) -> Task: ...

    def note(self, message: str) -> None: ...

    def warn(self, message: str) -> None:
        """Something the user must see even in `--json` mode (a damaged cache entry dropped, a
        wait for another render, an interrupted render found)."""
        ...


class _SilentTask:
    def advance(self, n: int = 1) -> None:
        pass

    def done(self) -> None:
        pass


class SilentReporter:
    def task(self, label: str, total: int | None) -> Task:
        return _SilentTask()

    def note(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass
