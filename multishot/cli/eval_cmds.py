"""`multishot eval`: weightless metrics of a rendered film."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from multishot.cli.output import EXIT_FAILED, EXIT_INVALID, err, out, print_problems
from multishot.cli.render_folder import film_dir, invalid, read_manifest
from multishot.post.render_folder import RenderFolder

#: What a damaged manifest that passed the shape check can still raise in the metrics code.
_DAMAGE = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def eval_command(
    film: Path = typer.Argument(..., help="A render folder (`renders/<title>/`), its film.mp4, or the shot list it was rendered from."),
    shotlist: Optional[Path] = typer.Option(None, "--shotlist", help="Compare against this shot list's plan instead of the render's manifest."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    out_root: Path = typer.Option(Path("renders"), "--out", help="Where renders live (when FILM is a shot list)."),
) -> None:
    """Measure a rendered film: cut precision/recall and spurious cuts (PySceneDetect), the
    Transition Control Score (CineTrans, k=1.6 as the paper; k=1 beside it), seam discontinuity, flicker and character
    consistency. Writes metrics.json beside the film; exit 1 when the film decodes to another
    number of frames than planned (damaged or truncated)."""
    from multishot.evaluate.metrics import metrics_table
    from multishot.evaluate.render import NotARender, evaluate_render, write_metrics
    from multishot.shotlist.errors import ShotListError

    override = None
    if film.exists():  # a shot list, a folder or its film.mp4; the manifest's shape is checked
        folder = film_dir(film, out_root)
        film = folder if film.suffix.lower() in (".yaml", ".yml") else film
    try:
        if shotlist is not None:
            from multishot.paradigms.base import RenderOptions
            from multishot.paradigms.runner import prepare

            override = prepare(shotlist, RenderOptions())[0].summary()
        metrics = evaluate_render(film, override)
    except ShotListError as error:
        print_problems(error)
        raise typer.Exit(EXIT_INVALID)
    except NotARender as error:
        raise invalid(str(error)) from None
    except _DAMAGE as error:
        raise invalid(f"the render's manifest.json is damaged ({type(error).__name__}: {error}); render again "
                      "to rewrite it") from None
    folder = film if film.is_dir() else film.parent
    write_metrics(folder, metrics)
    if shotlist is None and RenderFolder(folder).report.is_file():  # keep the review page in step
        from multishot.evaluate.report import write_report

        write_report(folder, read_manifest(folder), metrics.to_json())
    if as_json:
        sys.stdout.write(json.dumps(metrics.to_json()) + "\n")
    else:
        out.print(metrics_table(metrics))
    if metrics.frames_problem:  # a damaged film: the numbers are written, the exit says it
        err.print(f"[bold red]error:[/] {escape(metrics.frames_problem)}", highlight=False)
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
