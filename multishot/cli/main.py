"""The `multishot` command line. Thin: parse flags, call one function, print with rich.

Exit codes (cli/output.py): 0 success, 1 a failure while rendering, 2 invalid input (any
`multishot.errors.InvalidInput`: a bad shot list, an unknown paradigm or profile, a missing model
in offline mode), 130 interrupted.
"""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from multishot import __version__
from multishot.cli.output import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    InvalidInputGroup,
    clean,
    err,
    error_line,
    json_line,
    out,
    invalid,
    print_problems,
    problem_json,
)
from multishot.cli.paradigm_flags import paradigm_settings, with_paradigm_flags
from multishot.cli.progress import RichReporter
from multishot.cli.starter import STARTER
from multishot.errors import InvalidInput
from multishot.post.atomic import atomic_write_text
from multishot.shotlist.errors import ShotListError

app = typer.Typer(
    name="multishot",
    help=(
        "Render a film from a screenplay-style YAML shot list.\n\n"
        "Start with `multishot init film.yaml`, check it with `multishot validate film.yaml`, "
        "see what will happen with `multishot plan film.yaml`, then `multishot render film.yaml`. "
        "Without a GPU the default profile `animatic` renders a previz on the CPU."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=InvalidInputGroup,
)
profiles_app = typer.Typer(help="Model profiles: which models render which capability.", no_args_is_help=True)
models_app = typer.Typer(help="Model weights in your Hugging Face cache.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")
app.add_typer(models_app, name="models")


def _version(value: bool) -> None:
    if value:
        out.print(f"multishot {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """multishot: one shot list, five ways to make shots feel like one film."""


def _invalid(message: str) -> typer.Exit:
    return invalid(message)


def _print_problems(error: ShotListError, as_json: bool = False) -> None:
    print_problems(error, as_json=as_json)


def render(
    files: list[Path] = typer.Argument(..., help="Shot-list YAML files; several render one after another."),
    paradigm: Optional[str] = typer.Option(None, "--paradigm", "-p",
                                           help="stitching | keyframe | holistic | transition | agent[+P]. Default: the file's `paradigm:` or stitching."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Model profile (see `multishot profiles list`). Default: the file's `profile:` or animatic."),
    out_dir: Path = typer.Option(Path("renders"), "--out", "-o", help="Folder for renders/TITLE/."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Render only these shot ids (repeatable); the film is assembled when every other shot is cached."),
    force: bool = typer.Option(False, "--force", help="Re-render everything, ignoring the cache."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be rendered and what is cached; render nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary line per film (for scripts)."),
    no_review: bool = typer.Option(False, "--no-review", help="Skip metrics.json, report.html, timeline.otio and the contact sheet."),
    auto_transitions: bool = typer.Option(False, "--auto-transitions", help="Choose transitions the shot list leaves unset by film grammar."),
    fast: bool = typer.Option(False, "--fast", help="Run each profile with its `fast:` settings (step caches, fewer steps, distilled LoRAs); cached apart from full renders."),
    draft: bool = typer.Option(False, "--draft", help="Preview: every shot at its profile's draft settings (fewer steps, smaller, fast settings; same seeds and timing), into the same folder."),
    final: bool = typer.Option(False, "--final", help="After --draft: re-render the --only shots at full settings; the others stay drafts (the manifest and report say which)."),
    burn_subtitles: bool = typer.Option(False, "--burn-subtitles", help="Draw the dialogue into film.mp4's frames instead of a soft subtitle track."),
    no_audio: bool = typer.Option(False, "--no-audio", help="No scratch dialogue voice (film.mp4 and shots/ stay silent)."),
    gpus: Optional[str] = typer.Option(None, "--gpus", help="Scale out: `all` or GPU indices like 0,1 -> one worker process per GPU; independent shots render at once."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Scale out on a Ray cluster: `auto` or the head's address (also MULTISHOT_RAY_ADDRESS); one actor per GPU. Needs multishot[ray]."),
    cp: Optional[int] = typer.Option(None, "--cp", min=1, help="With --gpus: GPUs per worker (--gpus 0,1,2,3 --cp 2: two workers of two GPUs); each joint generation is spread over its worker's GPUs (Ulysses context parallelism; N must divide the model's attention heads)."),
    **paradigm_flags: Any,
) -> None:
    """Render one or more shot lists to renders/TITLE/film.mp4.

    Outputs per film: film.mp4, shots/ID.mp4, keyframes/ID_first.png and ID_last.png,
    manifest.json, metrics.json, timeline.otio, report.html, contact_sheet.png, and with dialogue
    film.srt and film.vtt (film.mp4 carries them as a subtitle track). Re-running reuses everything unchanged; a killed render resumes.
    """  # each paradigm's own flags (--no-smooth, --stream, …) are added from its options: paradigm_flags.py
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import render_file

    _one_opencv_thread()
    options = RenderOptions(
        paradigm=paradigm, profile=profile, out_root=out_dir,
        only=frozenset(only) if only else None, force=force, dry_run=dry_run,
        auto_transitions=auto_transitions, review=not no_review, fast=fast, draft=draft, final=final,
        burn_subtitles=burn_subtitles, audio=not no_audio, gpus=gpus, ray=ray, cp=cp,
        settings=paradigm_settings(paradigm_flags),
    )
    if draft and final:
        raise _invalid("--draft and --final exclude each other: draft first, then --final --only the shots you accept")
    worst = EXIT_OK
    claimed: dict[Path, Path] = {}  # output folder -> the shot list of this batch writing it
    for file in files:
        try:
            with RichReporter(err, enabled=not as_json) as reporter:
                result = render_file(file, options, reporter, claimed=claimed)
        except ShotListError as error:
            _print_problems(error)
            worst = max(worst, EXIT_INVALID)
            _json_line(as_json, {"source": str(file), "status": "invalid",
                                 "errors": [str(p) for p in error.problems],
                                 "problems": [problem_json(p) for p in error.problems]})
            continue
        except InvalidInput as error:
            error_line(error)
            worst = max(worst, EXIT_INVALID)
            _json_line(as_json, {"source": str(file), "status": "invalid", "errors": [str(error)]})
            continue
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: everything rendered so far is cached; run the same command to resume.")
            raise typer.Exit(EXIT_INTERRUPTED)
        except Exception as error:  # a failure while rendering: say what, keep the cache
            err.print(f"[bold red]render failed[/] for {clean(file)}: {type(error).__name__}: {clean(error)}", highlight=False)
            err.print("Everything rendered before the failure is kept; run the same command to resume.")
            worst = max(worst, EXIT_FAILED)
            _json_line(as_json, {"source": str(file), "status": "failed", "errors": [f"{type(error).__name__}: {error}"]})
            continue
        if as_json:
            _json_line(True, result.summary())
        else:
            _print_result(result)
    raise typer.Exit(worst)


render.__signature__ = with_paradigm_flags(render)  # type: ignore[attr-defined]
app.command()(render)


def _one_opencv_thread() -> None:
    """While rendering, ffmpeg's encoder runs beside us and uses the cores; OpenCV's own thread
    pool only contends with it (measured: the animatic benchmark is ~5% faster with one)."""
    import cv2

    cv2.setNumThreads(1)


def _json_line(enabled: bool, data: dict) -> None:
    if enabled:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()


def _print_result(result) -> None:  # type: ignore[no-untyped-def]
    if result.status == "planned":
        table = Table(title=f"{result.title}: dry run ({result.paradigm})")
        for col in ("stage", "item", "cache"):
            table.add_column(col)
        for entry in result.planned:
            table.add_row(entry["stage"], entry["item"], "cached" if entry["cache"] == "hit" else "would render")
        out.print(table)
        return
    out.print(f"[bold green]{clean(result.title)}[/]: {result.status} — {result.shots} shots, "
              f"{result.duration:.2f}s, {result.misses} rendered, {result.hits} cached, "
              f"{result.seconds:.1f}s")
    if result.film:
        out.print(f"  film:     {clean(result.film)}", highlight=False)
    else:
        out.print("  film:     not assembled (some shots are not rendered yet; see --only)")
    out.print(f"  manifest: {clean(result.manifest)}", highlight=False)


@app.command()
def validate(file: Path = typer.Argument(..., help="A shot-list YAML file."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON object: status (ok | invalid) and the problems, each with file, line, field and message.")) -> None:
    """Check a shot list: schema, references, transitions, paths, profile and paradigm names,
    and that every shot's dialogue can be spoken within it. Every problem is listed with its
    line and field; exit code 2 when there is any."""
    from multishot.paradigms import load_checked_film

    try:
        film = load_checked_film(file)
        from multishot.paradigms.runner import spoken_dialogue_problems

        spoken = spoken_dialogue_problems(file)  # lines that take longer to say than their shot
        if spoken:
            raise ShotListError(spoken)
    except ShotListError as error:
        print_problems(error, as_json=as_json, source=file)
        raise typer.Exit(EXIT_INVALID)
    n = sum(len(s.shots) for s in film.scenes)
    seconds = sum(shot.duration for _, shot in film.shots())
    if as_json:
        json_line({"source": str(file), "status": "ok", "title": film.title, "scenes": len(film.scenes),
                   "shots": n, "seconds": seconds, "problems": []})
        return
    out.print(f"[green]ok[/]: {clean(file)} — “{clean(film.title)}”, {len(film.scenes)} scenes, {n} shots, "
              f"{seconds:g}s of shots", highlight=False)


@app.command()
def plan(
    file: Path = typer.Argument(..., help="A shot-list YAML file."),
    paradigm: Optional[str] = typer.Option(None, "--paradigm", "-p", help="Paradigm to plan for."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Model profile."),
    out_dir: Path = typer.Option(Path("renders"), "--out", "-o", help="Where renders live (to see what is cached)."),
    auto_transitions: bool = typer.Option(False, "--auto-transitions", help="Show the film-grammar transition choices."),
    fast: bool = typer.Option(False, "--fast", help="Plan a `render --fast` (profiles' fast settings)."),
) -> None:
    """Show the stage graph, each shot's composed prompt, seed, timing, transition (with the
    reason for it), the speed settings each profile runs with and which stages are cached."""
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import prepare, render_file

    options = RenderOptions(paradigm=paradigm, profile=profile, out_root=out_dir, dry_run=True,
                            auto_transitions=auto_transitions, fast=fast)
    film_plan, par, name = prepare(file, options)  # invalid input: InvalidInputGroup says it, exit 2
    result = render_file(file, options)
    film_plan = result.plan or film_plan  # as the paradigm will render it (grammar, agent roles)
    out.print(f"[bold]{clean(film_plan.title)}[/] — paradigm [cyan]{clean(name)}[/]: {par.summary}", highlight=False)
    # The graph is the paradigm's own declaration (paradigms/base.py Step), filtered to this film.
    runs = [step for step in par.graph if step.runs(film_plan, options)]
    idle = [step.stage for step in par.graph if step not in runs]
    out.print("stage graph: " + " → ".join(clean(step.label()) for step in runs)
              + (f"  [dim](not needed for this film: {clean(', '.join(idle))})[/]" if idle else ""), highlight=False)
    from multishot.backends.registry import get_backend

    for name_ in sorted({film_plan.default_profile, *(spec.profile for spec in film_plan.shots)}):
        speed = getattr(get_backend(name_, fast=fast), "speed", None)
        if speed is not None:
            roles = "; ".join(f"{cap}: {what}" for cap, what in speed().items())
            out.print(f"speed ({_safe(name_)}{', --fast' if fast else ''}): {_safe(roles)}", highlight=False)
    out.print(f"{len(film_plan.shots)} shots, {film_plan.total_frames} frames at {film_plan.fps} fps = "
              f"{film_plan.duration:.2f}s, {film_plan.width}x{film_plan.height}, default profile {film_plan.default_profile}")
    cached = {}
    for entry in result.planned:
        for shot_id in entry.get("shots") or []:
            cached.setdefault(shot_id, []).append(f"{entry['stage']}:{'cached' if entry['cache'] == 'hit' else 'to render'}")
    starts = film_plan.start_frames()
    table = Table(show_lines=True)
    for col in ("#", "shot", "start", "dur", "seed", "camera", "transition →", "prompt", "stages"):
        table.add_column(col, overflow="fold")
    for i, spec in enumerate(film_plan.shots):
        t = spec.transition
        trans = t.type + (f" {t.duration:g}s" if t.duration else "") + (f"\n[dim]{clean(t.reason)}[/]" if t.reason else "")
        camera = " ".join(x for x in (spec.shot.size, spec.shot.angle, spec.shot.movement) if x)
        table.add_row(str(i + 1), spec.id, f"{starts[i] / spec.fps:.2f}s", f"{spec.duration:.2f}s",
                      str(spec.seed), camera, trans, clean(spec.prompt), "\n".join(cached.get(spec.id, [])))
    out.print(table)


@app.command("paradigms")
def paradigms_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show every paradigm, its flags and where it came from (`builtin` or a plug-in's distribution)."""
    from multishot.paradigms import get_paradigm, names, origin
    from multishot.paradigms.base import option_flags

    rows = []
    for name in names():
        par = get_paradigm(name)
        rows.append({"name": name, "from": origin(name), "summary": par.summary,
                     "stages": [step.stage for step in par.graph],
                     "flags": [f.flag.name for f in option_flags(name, par.options)]})
    if as_json:
        json_line({"paradigms": rows})
        return
    table = Table(title="paradigms (also agent+P for any P)")
    for col in ("paradigm", "from", "flags", "stage graph"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["name"], clean(row["from"]), " ".join(row["flags"]), " → ".join(row["stages"]))
    out.print(table)


@app.command()
def init(file: Path = typer.Argument(Path("shotlist.yaml"), help="Where to write the starter shot list."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing file.")) -> None:
    """Write a commented starter shot list that renders as it is."""
    if file.exists() and not force:
        raise _invalid(f"{file} exists; use --force to overwrite")
    atomic_write_text(file, STARTER)
    out.print(f"wrote {file} — next: multishot render {file}")


@profiles_app.command("list")
def profiles_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show every model profile with its capabilities, models and licence."""
    from multishot.backends.registry import list_profiles

    infos = list_profiles()
    if as_json:
        sys.stdout.write(json.dumps([_info_dict(i) for i in infos], default=str) + "\n")
        return
    table = Table(title="model profiles")
    for col in ("profile", "backend", "capabilities", "models", "licence", "from"):
        table.add_column(col, overflow="fold")
    for info in infos:
        d = _info_dict(info)
        table.add_row(_safe(str(d.get("name"))), _safe(str(d.get("backend"))), ", ".join(d.get("capabilities") or []),
                      _safe("\n".join(str(m) for m in (d.get("models") or []))), _safe(str(d.get("licence") or "")),
                      _safe(str(d.get("origin") or "builtin")))
    out.print(table)


@profiles_app.command("show")
def profiles_show(name: str = typer.Argument(..., help="Profile name (see `profiles list`) or path to a .yaml file."),
                  as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show one profile: every role's model, settings and joint-generation mechanism.

    The `joint` line says which published mechanism joint generation runs: its layout
    (continuous = one video per scene, as HoloCine and CineTrans), its text mode and its
    self-attention mode (full / sparse = HoloCine's two checkpoints, cinetrans = CineTrans's
    mask band, multishot = multishot's own training-free variant)."""
    from multishot.backends.registry import load_profile

    profile = load_profile(name)
    data = profile.model_dump(mode="json", exclude={"source_file"})
    for role in data.get("roles", {}).values():
        if role.get("joint") is None:
            role["joint"] = "multishot (stacked clips, window text, sparse first-frame summaries)"
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        return
    out.print(f"[bold]{_safe(profile.name)}[/] ({profile.backend}) — {_safe(profile.licence.strip())}", highlight=False)
    if profile.source_file:
        out.print(f"  file: {_safe(profile.source_file)}", highlight=False)
    for cap, role in data.get("roles", {}).items():
        model = role.get("repo") or role.get("path")
        out.print(f"  [bold]{_safe(cap)}[/]: {_safe(role['pipeline'])} {_safe(str(model))}"
                  f"@{_safe(str(role.get('revision') or '-'))}", highlight=False)
        out.print(f"    {role['width']}x{role['height']}, {role['frames']} frames, {role['steps']} steps, "
                  f"guidance {role['guidance']}, dtype {role['dtype']}", highlight=False)
        for w in role.get("weights_override") or []:
            out.print(f"    weights: {_safe(w['component'])} <- {_safe(str(w.get('repo') or w.get('path')))}"
                      f"/{_safe(str(w.get('filename') or ''))} (mapping {_safe(w['mapping'])})", highlight=False)
        for lo in role.get("loras") or []:
            out.print(f"    lora: {_safe(lo['component'])} <- {_safe(str(lo.get('repo') or lo.get('path')))}"
                      f"/{_safe(str(lo.get('filename') or ''))} ({_safe(lo['format'])}, scale {lo['scale']})",
                      highlight=False)
        for key in ("speed", "fast"):
            spec = role.get(key)
            if spec and any(v is not None for v in spec.values()):
                from multishot.backends.diffusers.profile import SpeedSpec

                out.print(f"    {key}: {_safe(SpeedSpec.model_validate(spec).describe())}", highlight=False)
        if cap == "joint_shots":
            joint = role["joint"]
            text = joint if isinstance(joint, str) else ", ".join(f"{k}={v}" for k, v in joint.items() if v is not None)
            out.print(f"    joint: {_safe(text)}", highlight=False)


def _safe(text: str) -> str:
    """Profile text is the user's file: escape rich markup and control characters before printing."""
    return clean(text)


def _info_dict(info: object) -> dict:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(info):
        return asdict(info)  # type: ignore[arg-type]
    if hasattr(info, "model_dump"):
        return info.model_dump()  # type: ignore[attr-defined]
    return dict(info)  # type: ignore[call-overload]


@profiles_app.command("calibrate")
def profiles_calibrate(
    name: str = typer.Argument(..., help="Profile whose MagCache roles to calibrate."),
    fast: bool = typer.Option(True, "--fast/--no-fast", help="Calibrate the roles as `render --fast` runs them (default) or as a plain render does."),
) -> None:
    """Measure MagCache's magnitude ratios for every role of a profile that uses MagCache
    (`cache: {kind: magcache}`), by running each once, and store them beside the profile
    (NAME.magcache.json; in multishot's cache when that folder is read-only). Run it once per
    model and step count; renders then read the file.
    """
    import json as _json

    from multishot.backends.diffusers.backend import DiffusersBackend
    from multishot.backends.diffusers.profile import calibration_files
    from multishot.backends.registry import load_profile

    profile = load_profile(name)
    if profile.backend != "diffusers":
        raise _invalid(f"profile `{_safe(name)}` has no models to calibrate")
    backend = DiffusersBackend(profile, fast=fast, calibrating=True)
    roles = [cap for cap, r in backend.profile.roles.items() if r.speed.cache and r.speed.cache.kind == "magcache"]
    if not roles:
        raise _invalid(f"profile `{_safe(name)}` uses no MagCache{' in its fast settings' if fast else ''}; nothing to calibrate")
    data: dict[str, Any] = {"profile": profile.name, "fast": fast, "roles": {}}
    for cap in roles:
        role = backend.profile.roles[cap]
        err.print(f"calibrating {cap.value}: {role.steps} steps at {role.width}x{role.height}…", highlight=False)
        data["roles"][cap.value] = {"steps": role.steps, "ratios": backend.calibrate_magcache(cap)}
    for target in calibration_files(profile):
        try:
            atomic_write_text(target, _json.dumps(data, indent=1) + "\n")
        except OSError:  # a read-only folder (an installed profile): the next place
            continue
        out.print(f"[green]ok[/]: MagCache ratios for {', '.join(c.value for c in roles)} written to {_safe(str(target))}")
        return
    raise _invalid("could not write the calibration file anywhere: " + ", ".join(map(str, calibration_files(profile))))


@models_app.command("download")
def models_download(profile: str = typer.Argument(..., help="Profile whose models to fetch.")) -> None:
    """Fetch exactly the files a profile needs into your Hugging Face cache."""
    from multishot.backends.diffusers.loading import is_offline
    from multishot.backends.registry import ModelNotAvailable, download_profile

    try:
        paths = download_profile(profile)
    except ModelNotAvailable as error:
        if not is_offline():
            raise _invalid(str(error))
        # Offline this command can only check the cache; telling the user to run it again
        # (what the render-time message says) would send them round in a circle.
        what = getattr(error, "model", None) or "a model of this profile"
        raise _invalid(f"{what} is not in the Hugging Face cache, and HF_HUB_OFFLINE is set, so "
                       f"`multishot models download {profile}` can only check the cache, not fetch. Unset "
                       f"HF_HUB_OFFLINE (e.g. `env -u HF_HUB_OFFLINE multishot models download {profile}`) "
                       "on a machine with network access.")
    for p in paths:
        out.print(f"  {clean(p)}", highlight=False)
    out.print(f"[green]ok[/]: {clean(profile)} is in the cache", highlight=False)


@models_app.command("convert")
def models_convert(
    source: Path = typer.Argument(..., help="A pickled PyTorch checkpoint (.pt / .pth / .bin)."),
    target: Path = typer.Argument(..., help="The .safetensors file to write."),
) -> None:
    """Convert a pickled checkpoint to safetensors, e.g. CineTrans's LoRA `weights.pt`, so a
    profile's `loras:` or `weights_override:` can name it. Only tensors are unpickled
    (`torch.load(weights_only=True)`): a file that carries code is refused, never run.

    Example: multishot models convert CineTrans/weights.pt cinetrans_lora.safetensors
    """
    from multishot.backends.diffusers.weights import pickle_to_safetensors

    if target.suffix != ".safetensors":
        raise _invalid(f"{_safe(target)}: the target must end in .safetensors")
    if not source.is_file():
        raise _invalid(f"{_safe(source)}: no such file")
    try:
        count = pickle_to_safetensors(str(source), str(target))
    except ValueError as error:
        raise _invalid(_safe(str(error)))
    out.print(f"[green]ok[/]: {count} tensors written to {_safe(target)}")




#: Command groups that live in their own modules (one job each); each has `register(app)`.
COMMAND_MODULES = ("multishot.cli.eval_cmds", "multishot.cli.agent_cmds", "multishot.cli.editorial_cmds")


def _register_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # not written yet
                continue
            raise
        module.register(app)


_register_command_modules()


#: OSErrors that mean a path the user gave cannot be used (invalid input, exit 2); any other
#: (a full disk, an I/O error) is a failure (exit 1).
_PATH_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENOENT,
                          errno.EEXIST, errno.ENAMETOOLONG})


def run() -> None:
    """The `multishot` entry point: a file that cannot be read or written is said in one
    sentence (which file, why), never as a Python traceback."""
    try:
        app()
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        err.print(f"[bold red]error:[/] cannot use{clean(where)}: {clean(error.strerror or error)}", highlight=False)
        raise SystemExit(EXIT_INVALID if error.errno in _PATH_ERRORS else EXIT_FAILED) from None


if __name__ == "__main__":
    run()
