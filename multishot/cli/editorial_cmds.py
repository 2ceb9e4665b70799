"""Editorial commands: `export` (a render's timeline for an editor), `import` (a Fountain
screenplay → shot list) and `open` (where a render's files are; opens the review page).

They connect multishot to how films are finished (an editor reading OTIO, EDL or FCPXML) and
written (Fountain). Registered by `multishot.cli.main` through `register(app)`.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from multishot.cli.output import EXIT_FAILED, EXIT_INVALID, EXIT_OK, clean, err, out, print_problems
from multishot.cli.render_folder import film_dir, read_manifest
from multishot.cli.render_folder import invalid as _invalid
from multishot.post.atomic import atomic_write_text
from multishot.post.manifest_record import RenderManifest
from multishot.post.render_folder import RenderFolder, timeline_name

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "film_dir", "register"]


def _manifest(folder: Path) -> RenderManifest:
    return read_manifest(folder)


#: What a damaged manifest that passed the shape check can still raise inside the timeline,
#: report or metrics code: said in a sentence, never a traceback.
_DAMAGE = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _missing_clips(folder: Path, manifest: RenderManifest) -> list[str]:
    return [s.id for s in manifest.shots if not RenderFolder(folder).shot(s.id).is_file()]


def export_cmd(
    target: Path = typer.Argument(..., help="A render folder (`renders/<title>/`) or its shot list."),
    fmt: str = typer.Option("otio", "--format", "-f", help="otio | edl (CMX 3600) | fcpxml (Final Cut Pro X)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write (a file, or a folder to write `timeline.<ext>` into); default: `timeline.<ext>` in the render folder."),
    out_root: Path = typer.Option(Path("renders"), "--out", help="Where renders live (when TARGET is a shot list)."),
    partial: bool = typer.Option(False, "--partial", help="Export a render whose shots are not all rendered (`--only`): the missing clips are listed and point at files that do not exist yet."),
) -> None:
    """Export a render's timeline for an editor: one clip per shot referencing shots/ID.mp4
    with exact in/out points, transitions, shot ids and prompts as metadata, scene markers.

    Uses OpenTimelineIO's adapters (EDL: otio-cmx3600-adapter; FCPXML: otio-fcpx-xml-adapter).
    """
    from multishot.post.otio import FORMATS, TimelineError, export_timeline

    folder = film_dir(target, out_root)
    if fmt.lower() not in FORMATS:
        raise _invalid(f"unknown format `{fmt}`; choose one of: {', '.join(FORMATS)}")
    missing = _missing_clips(folder, _manifest(folder))
    if missing and not partial:
        raise _invalid(f"{folder} is a partial render: {len(missing)} shot(s) have no clip yet "
                       f"({', '.join(missing[:8])}{', …' if len(missing) > 8 else ''}); render them first "
                       "(without --only), or pass --partial to export a timeline that points at the missing clips")
    if output is not None and output.is_dir():
        output = output / timeline_name(FORMATS[fmt.lower()][1])
    try:
        path = export_timeline(folder, fmt, output)
    except TimelineError as error:
        raise _invalid(str(error)) from None
    except _DAMAGE as error:
        raise _invalid(f"{RenderFolder(folder).manifest} is damaged ({type(error).__name__}: {error}); render again "
                       "to rewrite it") from None
    if missing:
        err.print(f"[yellow]warning:[/] the timeline points at {len(missing)} missing clip(s): "
                  f"{clean(', '.join(missing))}", highlight=False)
    out.print(f"wrote {clean(path)}", highlight=False)


def import_cmd(
    screenplay: Path = typer.Argument(..., help="A Fountain screenplay (.fountain)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="The shot list to write (default: SCREENPLAY with .yaml); `-` prints it."),
    style: Optional[str] = typer.Option(None, "--style", help="The film's look, written as `style:` (part of every prompt)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing shot list."),
) -> None:
    """Turn a Fountain screenplay into a shot list: scene headings → scenes and locations (with
    time of day), character cues → characters, action → shots, dialogue → dialogue shots,
    CUT TO: / DISSOLVE TO: → transitions. Sizes and durations are first guesses to edit."""
    from multishot.shotlist.errors import ShotListError
    from multishot.shotlist.fountain import import_fountain

    to_stdout = output is not None and str(output) == "-"
    target = output if output is not None and not to_stdout else screenplay.with_suffix(".yaml")
    if not to_stdout and target.exists() and not force:
        raise _invalid(f"{target} exists; use --force to overwrite or -o to choose another file")
    try:
        text, film = import_fountain(screenplay, style=style, target=target)
    except ShotListError as error:
        err.print(f"[bold red]cannot import {clean(screenplay)}:[/]", highlight=False)
        print_problems(error)
        raise typer.Exit(EXIT_INVALID) from None
    if to_stdout:
        sys.stdout.write(text)
        return
    atomic_write_text(target, text)
    shots = film.shots()
    seconds = sum(shot.duration for _, shot in shots)
    out.print(f"[green]wrote[/] {clean(target)} — “{clean(film.title)}”: {len(film.scenes)} scenes, {len(shots)} shots, "
              f"{len(film.characters)} characters, {seconds:g}s of shots", highlight=False)
    out.print(f"next: multishot plan {clean(target)}  ·  multishot render {clean(target)}", highlight=False)


def has_desktop() -> bool:
    """Is there a screen to open a browser on? (macOS and Windows always; elsewhere an X11 or
    Wayland display.) Without one, `webbrowser` would start a text browser in the terminal."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_cmd(
    target: Path = typer.Argument(..., help="A render folder (`renders/<title>/`) or its shot list."),
    out_root: Path = typer.Option(Path("renders"), "--out", help="Where renders live (when TARGET is a shot list)."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open report.html when a desktop is present."),
    refresh: bool = typer.Option(False, "--refresh", help="Rewrite timeline.otio, contact_sheet.png and report.html from the manifest (measuring the film unless metrics.json is current)."),
) -> None:
    """Say where a render's files are, and open its review page (report.html) in a browser
    when there is a desktop. Renders made before the page existed get one written."""
    folder = film_dir(target, out_root)
    paths = RenderFolder(folder)
    manifest = _manifest(folder)
    if refresh or not paths.report.is_file():
        try:
            review(folder, manifest)
        except _DAMAGE as error:
            raise _invalid(f"{paths.manifest} is damaged ({type(error).__name__}: {error}); render "
                           "again to rewrite it") from None
    shots = manifest.shots
    clips = sum(paths.shot(s.id).is_file() for s in shots)
    rows = [
        ("film", paths.film, "the assembled film"),
        ("review page", paths.report, "storyboard, metrics and player; open in a browser"),
        ("contact sheet", paths.contact_sheet, "every first and last keyframe"),
        ("timeline", paths.timeline, "for an editor; `multishot export` for EDL / FCPXML"),
        ("shots", paths.shots, f"{clips} of {len(shots)} shot clips"),
        ("keyframes", paths.keyframes, "<id>_first.png and <id>_last.png per shot"),
        ("manifest", paths.manifest, "what was rendered, with seeds, keys and timings"),
    ]
    table = Table(title=f"{clean(manifest.title or folder.name)} ({clean(manifest.status)})",
                  title_justify="left")
    for col in ("what", "where", ""):
        table.add_column(col, overflow="fold")
    for name, path, note in rows:
        mark = "" if path.exists() else " [red](missing)[/]"
        table.add_row(name, f"{clean(path)}{mark}", clean(note))
    out.print(table)
    report = paths.report.resolve()
    if browser and report.is_file() and has_desktop():
        webbrowser.open(report.as_uri())
        out.print(f"opened {clean(report.as_uri())}", highlight=False)
    elif report.is_file():
        out.print(f"review page: {clean(report.as_uri())}", highlight=False)


def review(folder: Path, manifest: RenderManifest) -> dict[str, Path]:
    """Measure the film (as `multishot eval` does; metrics.json is reused when it is newer than
    the film) and write timeline.otio, contact_sheet.png and report.html."""
    from multishot.evaluate.report import load_metrics, write_review
    from multishot.evaluate.render import NotARender, evaluate_render, write_metrics

    metrics = load_metrics(folder)
    if metrics is None:
        try:
            measured = evaluate_render(folder)
        except NotARender:  # no film yet: the page shows the shots that are there
            measured = None
        if measured is not None:
            write_metrics(folder, measured)
            metrics = measured.to_json()
    return write_review(folder, manifest, metrics)


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
    app.command("open")(open_cmd)
