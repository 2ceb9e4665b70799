"""Editorial commands: `export` (a render's timeline for an editor), `import` (a Fountain
screenplay → shot list) and `open` (where a render's files are; opens the review page).

They connect multishot to how films are finished (an editor reading OTIO, EDL or FCPXML) and
written (Fountain). Registered by `multishot.cli.main` through `register(app)`.
"""

from __future__ import annotations

import json
import os
import sys
import webbrowser
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

out = Console()
err = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _invalid(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(EXIT_INVALID)


def film_dir(target: Path, out_root: Path) -> Path:
    """A render folder from what the user typed: the folder itself (renders/<slug>/) or the
    shot list it was rendered from (then renders/<slug>/ under `out_root`)."""
    if target.is_dir():
        if not (target / "manifest.json").is_file():
            raise _invalid(f"{target} has no manifest.json; give a render folder (renders/<title>/) "
                           "or the shot list it was rendered from")
        return target
    if target.is_file() and target.suffix.lower() in (".yaml", ".yml"):
        from multishot.plan.film_plan import slugify
        from multishot.shotlist.errors import ShotListError
        from multishot.shotlist.loader import load_film

        try:
            film = load_film(target)
        except ShotListError as error:
            raise _invalid(f"{target} is not a valid shot list ({len(error.problems)} problems; "
                           f"see `multishot validate {target}`)") from None
        folder = out_root / slugify(film.title)
        if not (folder / "manifest.json").is_file():
            raise _invalid(f"{target} has not been rendered to {folder} yet; run `multishot render {target}`")
        return folder
    raise _invalid(f"{target} is neither a render folder nor a shot list")


def _manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise _invalid(f"cannot read {folder / 'manifest.json'}: {error}") from None


def export_cmd(
    target: Path = typer.Argument(..., help="A render folder (renders/<title>/) or its shot list."),
    fmt: str = typer.Option("otio", "--format", "-f", help="otio | edl (CMX 3600) | fcpxml (Final Cut Pro X)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write; default: timeline.<ext> in the render folder."),
    out_root: Path = typer.Option(Path("renders"), "--out", help="Where renders live (when TARGET is a shot list)."),
) -> None:
    """Export a render's timeline for an editor: one clip per shot referencing shots/ID.mp4
    with exact in/out points, transitions, shot ids and prompts as metadata, scene markers.

    Uses OpenTimelineIO's adapters (EDL: otio-cmx3600-adapter; FCPXML: otio-fcpx-xml-adapter).
    """
    from multishot.post.timeline import FORMATS, TimelineError, export_timeline

    folder = film_dir(target, out_root)
    if fmt.lower() not in FORMATS:
        raise _invalid(f"unknown format `{fmt}`; choose one of: {', '.join(FORMATS)}")
    try:
        path = export_timeline(folder, fmt, output)
    except TimelineError as error:
        raise _invalid(str(error)) from None
    out.print(f"wrote {path}")


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
        err.print(f"[bold red]cannot import {screenplay}:[/]")
        for problem in error.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INVALID) from None
    if to_stdout:
        sys.stdout.write(text)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    shots = film.shots()
    seconds = sum(shot.duration for _, shot in shots)
    out.print(f"[green]wrote[/] {target} — “{film.title}”: {len(film.scenes)} scenes, {len(shots)} shots, "
              f"{len(film.characters)} characters, {seconds:g}s of shots")
    out.print(f"next: multishot plan {target}  ·  multishot render {target}")


def has_desktop() -> bool:
    """Is there a screen to open a browser on? (macOS and Windows always; elsewhere an X11 or
    Wayland display.) Without one, `webbrowser` would start a text browser in the terminal."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_cmd(
    target: Path = typer.Argument(..., help="A render folder (renders/<title>/) or its shot list."),
    out_root: Path = typer.Option(Path("renders"), "--out", help="Where renders live (when TARGET is a shot list)."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open report.html when a desktop is present."),
    refresh: bool = typer.Option(False, "--refresh", help="Rewrite timeline.otio, contact_sheet.png and report.html from the manifest (measuring the film unless metrics.json is current)."),
) -> None:
    """Say where a render's files are, and open its review page (report.html) in a browser
    when there is a desktop. Renders made before the page existed get one written."""
    from multishot.evaluate.report import REPORT_NAME

    folder = film_dir(target, out_root)
    manifest = _manifest(folder)
    if refresh or not (folder / REPORT_NAME).is_file():
        review(folder, manifest)
    shots = manifest.get("shots") or []
    clips = sum((folder / "shots" / f"{s['id']}.mp4").is_file() for s in shots)
    rows = [
        ("film", folder / "film.mp4", "the assembled film"),
        ("review page", folder / REPORT_NAME, "storyboard, metrics and player; open in a browser"),
        ("contact sheet", folder / "contact_sheet.png", "every first and last keyframe"),
        ("timeline", folder / "timeline.otio", "for an editor; `multishot export` for EDL / FCPXML"),
        ("shots", folder / "shots", f"{clips} of {len(shots)} shot clips"),
        ("keyframes", folder / "keyframes", "<id>_first.png and <id>_last.png per shot"),
        ("manifest", folder / "manifest.json", "what was rendered, with seeds, keys and timings"),
    ]
    table = Table(title=f"{manifest.get('title', folder.name)} ({manifest.get('status', '?')})", title_justify="left")
    for col in ("what", "where", ""):
        table.add_column(col, overflow="fold")
    for name, path, note in rows:
        mark = "" if path.exists() else " [red](missing)[/]"
        table.add_row(name, f"{path}{mark}", note)
    out.print(table)
    report = (folder / REPORT_NAME).resolve()
    if browser and report.is_file() and has_desktop():
        webbrowser.open(report.as_uri())
        out.print(f"opened {report.as_uri()}")
    elif report.is_file():
        out.print(f"review page: {report.as_uri()}")


def review(folder: Path, manifest: dict) -> dict[str, Path]:
    """Measure the film (as `multishot eval` does; metrics.json is reused when it is newer than
    the film) and write timeline.otio, contact_sheet.png and report.html."""
    from multishot.evaluate.report import load_metrics, write_review
    from multishot.graph.evaluation import NotARender, evaluate_render, write_metrics

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
