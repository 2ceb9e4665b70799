"""rich progress bars behind the graph layer's Reporter interface."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from multishot.shotlist.errors import printable


class _RichTask:
    def __init__(self, progress: Progress, task_id: int) -> None:
        self._progress, self._id = progress, task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._id, n)

    def done(self) -> None:
        task = self._progress.tasks[self._id]
        if task.total is not None:
            self._progress.update(self._id, completed=task.total)


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass

    def done(self) -> None:
        pass


class RichReporter:
    """Shows one bar per stage that takes more than a moment (rich hides nothing quick)."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = console
        self._progress = Progress(
            TextColumn("[bold]{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=console, transient=False, disable=not enabled,
        )

    def __enter__(self) -> "RichReporter":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)  # type: ignore[arg-type]

    def task(self, label: str, total: int | None):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return _Silent()
        return _RichTask(self._progress, self._progress.add_task(label, total=total))

    def note(self, message: str) -> None:
        if self.enabled:
            self._progress.console.print(printable(message), markup=False, highlight=False)

    def warn(self, message: str) -> None:
        """Printed on stderr whether or not bars are shown (`--json` keeps stdout to JSON)."""
        self.console.print(f"[yellow]warning:[/] {escape(printable(message))}", highlight=False)
