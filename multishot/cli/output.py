"""The one place that owns how the CLI prints: consoles, exit codes, problems, user text, and
what an `InvalidInput` becomes (one message, exit code 2), for every command at once.

Exit codes (README): 0 success, 1 a failure while rendering, 2 invalid input, 130 interrupted.

Two promises (issue 17 items 6 and 11):
- Nothing from a user's file reaches the terminal raw. Text that came from a shot list, a
  profile or an exception about them goes through `clean`: control characters (ESC, CR, BEL,
  bidi overrides) are shown escaped (`\\x1b`) and rich markup (`[bold]`) is printed literally.
- When standard error is not a terminal (a pipe, CI, an editor's problem matcher), problems are
  printed one per line as `file:line: field: message`, never hard-wrapped at 80 columns, and no
  line is wrapped at all. `--json` prints them as objects instead.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from multishot.errors import InvalidInput
from multishot.shotlist.errors import Problem, ShotListError, printable

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
#: Ctrl-C / SIGINT: the shell's convention (128 + SIGINT).
EXIT_INTERRUPTED = 130


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    terminal = hasattr(stream, "isatty") and stream.isatty()
    # Not a terminal: rich would wrap at 80 columns; a pipe wants whole lines.
    return Console(stderr=stderr, soft_wrap=not terminal)


out = _console(stderr=False)
err = _console(stderr=True)


def clean(text: object) -> str:
    """User-controlled text made safe to print with rich: control characters escaped, markup
    literal."""
    return escape(printable(str(text)))


def problem_json(problem: Problem) -> dict[str, Any]:
    return {"file": str(problem.file), "line": problem.line, "field": problem.path, "message": problem.message}


def print_problems(error: ShotListError, *, as_json: bool = False, source: object = None) -> None:
    """Every problem of a file. `--json`: one object on standard output (status `invalid` and the
    problems, each with file, line, field and message). A terminal gets a count and indented
    lines; anything else gets bare `file:line: field: message` lines (grep, CI annotations)."""
    if as_json:
        json_line({"source": str(source if source is not None else (error.problems[0].file if error.problems else "")),
                   "status": "invalid", "problems": [problem_json(p) for p in error.problems]})
        return
    if not err.is_terminal:
        for problem in error.problems:
            sys.stderr.write(f"{problem}\n")
        sys.stderr.flush()
        return
    n = len(error.problems)
    err.print(f"[bold red]{n} problem{'s' if n != 1 else ''} in the shot list:[/]")
    for problem in error.problems:
        err.print(f"  {problem}", markup=False, highlight=False)


def error_line(message: object) -> None:
    """`error: <message>` on standard error, the message treated as user text."""
    err.print(f"[bold red]error:[/] {clean(message)}", highlight=False)


def json_line(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def finding_lines(findings: list[Any], source: str) -> bool:
    """When standard output is not a terminal, print continuity findings one per line as
    `file:line: scenes[i].shots[j]: severity: [rule] message` and return True; on a terminal
    return False (the caller draws its table)."""
    if out.is_terminal:
        return False
    from pathlib import Path

    from multishot.shotlist.loader import shot_locations

    try:
        where = shot_locations(Path(source))
    except (OSError, UnicodeDecodeError):
        where = {}
    for f in findings:
        line, field = where.get(f.shot_id, (None, ""))
        at = f"{source}:{line}" if line else source
        sys.stdout.write(printable(f"{at}: {field + ': ' if field else ''}{f.severity}: [{f.rule}] shot "
                                   f"`{f.shot_id}`: {f.message}") + "\n")
    sys.stdout.flush()
    return True


def invalid(error: InvalidInput | str, *, as_json: bool = False, source: object = None) -> typer.Exit:
    """Say what is wrong with the input and return the exit (code 2) to raise: a shot list's
    problems all at once (as JSON with `--json`), anything else as one `error:` line."""
    if isinstance(error, ShotListError):
        print_problems(error, as_json=as_json, source=source)
    else:
        error_line(error)
    return typer.Exit(EXIT_INVALID)


class InvalidInputGroup(TyperGroup):
    """The command group that turns every `InvalidInput` a command lets escape into its message
    and exit code 2: the one place the CLI catches invalid input (commands that print JSON or
    go on with the next file of a batch catch it themselves, with the same `invalid`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as error:
            raise invalid(error) from None
