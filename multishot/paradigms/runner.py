"""Render one shot-list file with one paradigm: load → plan → run the stage graph → publish.

This is the single function the CLI calls for `render` and `plan`; it owns the manifest header
and the promise that a failure leaves everything already rendered in the cache.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from multishot import __version__
from multishot.backends.base import Backend
from multishot.backends.diffusers.loading import ModelNotAvailable
from multishot.graph import stages
from multishot.graph.engine import Artifact, Engine
from multishot.graph.executors import RAY_ADDRESS_ENV, check_flags, open_executor
from multishot.graph.executors.base import DRAFT, BackendPool
from multishot.graph.manifest import Manifest
from multishot.graph.progress import Reporter, SilentReporter
from multishot.graph.render_lock import Interrupted, hold_render_folder, lock_path
from multishot.paradigms import get_paradigm, load_checked_film
from multishot.paradigms.base import (Job, Output, OutputUnusable, Paradigm, RenderOptions, as_rendered, check_needs,
                                      check_only)
from multishot.plan.film_plan import FilmPlan, build_plan
from multishot.post.render_folder import RenderFolder
from multishot.shotlist.errors import Problem, ShotListError
from multishot.shotlist.loader import load_film


@dataclass
class RenderResult:
    title: str
    source: Path
    out_dir: Path
    paradigm: str
    film: Path | None
    manifest: Path
    shots: int
    duration: float
    hits: int
    misses: int
    seconds: float
    status: str
    outputs: dict[str, Path] = field(default_factory=dict)
    planned: list[dict[str, Any]] = field(default_factory=list)
    #: The plan as the paradigm rendered (or, in a dry run, would render) it: after the agent
    #: roles' revision and film-grammar transitions, which `multishot plan` shows.
    plan: FilmPlan | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "title": self.title, "source": str(self.source), "status": self.status,
            "paradigm": self.paradigm, "film": str(self.film) if self.film else None,
            "out_dir": str(self.out_dir), "manifest": str(self.manifest), "shots": self.shots,
            "duration_s": round(self.duration, 3), "rendered": self.misses, "cached": self.hits,
            "seconds": round(self.seconds, 3),
        }


_POOL = BackendPool()
_FAST_POOL = BackendPool(fast=True)



def with_quality(plan: FilmPlan, options: RenderOptions) -> tuple[FilmPlan, dict[str, str]]:
    """`--draft`: every shot at its profile's draft settings. `--final --only S`: shots S at
    full settings, the others as their drafts (already cached, same seeds and timing), so the
    film mixes the two knowingly; the returned map says which shot is which."""
    if not (options.draft or options.final):
        return plan, {}
    quality: dict[str, str] = {}
    shots = []
    for spec in plan.shots:
        draft = options.draft or bool(options.only and spec.id not in options.only)
        quality[spec.id] = "draft" if draft else "final"
        shots.append(replace(spec, profile=spec.profile + DRAFT) if draft else spec)
    default = plan.default_profile + DRAFT if options.draft else plan.default_profile
    return replace(plan, shots=tuple(shots), default_profile=default), quality


def _profile_of(pool: "BackendPool | Any") -> Any:
    """Backend object -> the pool key a worker turns into the same backend (work travels to
    workers as data, naming profiles with their fast/draft variant)."""
    portable = getattr(pool, "portable_name", None)
    if portable is not None:
        return portable

    def profile_of(obj: Any) -> str | None:
        for name, backend in getattr(pool, "_backends", {}).items():
            if backend is obj:
                return name
        return None

    return profile_of


def _review(out_dir: Path, manifest: Manifest) -> dict[str, Path]:
    """What a person reviews a render with (issue 7): metrics.json (as `multishot eval`),
    timeline.otio, contact_sheet.png and report.html. The film is already published, so a
    failure here is recorded in the manifest and reported, never a failed render."""
    from multishot.evaluate.report import write_review
    from multishot.evaluate.render import NotARender, evaluate_render, write_metrics

    try:
        metrics = None
        try:
            measured = evaluate_render(out_dir)
        except NotARender:  # a partial render has no film to measure
            measured = None
        written: dict[str, Path] = {}
        if measured is not None:
            written["metrics"] = write_metrics(out_dir, measured)
            metrics = measured.to_json()
        written.update(write_review(out_dir, manifest.records(), metrics))
    except Exception as error:  # noqa: BLE001 - the review must not fail a finished render
        manifest.event("review-failed", error=f"{type(error).__name__}: {error}")
        return {}
    manifest.header.setdefault("outputs", {}).update(
        {k: str(v.relative_to(out_dir)) for k, v in written.items()})
    manifest.save()
    return written


def review_render(out_dir: Path) -> dict[str, Path]:
    """Write (or refresh) the review outputs of a finished render folder."""
    return _review(Path(out_dir), Manifest.reopen(RenderFolder(out_dir).manifest))


def _backend_events(pool: "BackendPool | object", manifest: Manifest) -> None:
    """Copy what backends reported (e.g. an out-of-memory retry with a lighter strategy)."""
    for backend in getattr(pool, "_backends", {}).values():
        drain = getattr(backend, "drain_events", None)
        for event in (drain() if drain else []):
            manifest.event("backend", backend=backend.name, **event)


def prepare(path: Path, options: RenderOptions) -> tuple[FilmPlan, Paradigm, str]:
    """Load and plan a file; choose the paradigm. Raises ShotListError / UnknownParadigm early,
    before any work or output folder exists."""
    film = load_checked_film(path)
    plan = build_plan(film, path, profile=options.profile)
    name = options.paradigm or film.paradigm or "stitching"
    paradigm = get_paradigm(name)
    plan = as_rendered(plan, paradigm, options)  # as the paradigm will render it (film grammar)
    if paradigm.chainable:  # the agent roles may add shots: they check --only on their revision
        check_only(options.only, plan)
    return plan, paradigm, name


def check_loras(plan: FilmPlan, paradigm: Paradigm, pool: Any) -> None:
    """Put every LoRA the shot list names onto the models that will generate its shots, before
    any work: a file for another model fails here, naming the shot (LoraUnusable, exit 2)."""
    from multishot.backends.base import LoraUnusable

    for spec in plan.shots:
        if not spec.loras:
            continue
        backend = pool(spec.profile)
        check = getattr(backend, "check_loras", None)
        if check is None:  # the animatic draws no LoRAs
            continue
        for cap in sorted(paradigm.needs & backend.capabilities, key=lambda c: c.value):
            try:
                check(cap, spec.loras)
            except LoraUnusable as error:
                raise LoraUnusable(f"shot `{spec.id}` ({cap.value}, profile `{spec.profile}`): {error}") from None


def check_context_parallel(plan: FilmPlan, pool: Any, cp: int) -> None:
    """`--cp N`: every profile the film uses must be able to run its transformers sharded over
    N GPUs (the heads divide by N; no step cache), said before any work (ProfileError, exit 2,
    naming the profile file and role). Backends without transformers (the animatic) run the
    same work on every rank of a worker; nothing to check."""
    for profile in sorted({plan.default_profile, *(spec.profile for spec in plan.shots)}):
        check = getattr(pool(profile), "check_context_parallel", None)
        if check is not None:
            check(cp)


def claim_output(out_dir: Path, source: Path, claimed: dict[Path, Path] | None = None) -> None:
    """Make sure the film's folder can be written, and (in a batch: `claimed` maps folders to
    the shot lists rendering into them) that no other shot list of the batch writes there:
    two titles that sanitise alike would otherwise overwrite each other's film."""
    if claimed is not None:
        other = claimed.setdefault(out_dir.resolve(), source.resolve())
        if other != source.resolve():
            raise OutputUnusable(f"{source} and {other} both render into {out_dir} (their titles make the same "
                                 "folder name): give one another title, or render it with another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputUnusable(f"cannot write the render into {out_dir}: {error.strerror or error}; "
                             "choose another folder with --out") from None


def _remove_empty_tree(folder: Path) -> None:
    """Remove a render folder this run created and wrote nothing into but empty cache folders
    and its manifest; anything else in it is kept."""
    RenderFolder(folder).manifest.unlink(missing_ok=True)
    for root, _dirs, _files in os.walk(folder, topdown=False):
        try:
            os.rmdir(root)
        except OSError:
            pass  # not empty: keep it


def _check_spoken_dialogue(engine: Engine, plan: FilmPlan, source: Path) -> None:
    """Refuse, before any shot is rendered, a shot whose lines take longer to say than it lasts
    (the scratch voice would be cut off by the next shot): one problem per shot, with the line
    of its `dialogue:` field."""
    cues = stages.film_cues(plan.shots)
    if not cues:
        return
    _, over, _ = stages.spoken_lines(plan.shots, stages.voice_lines(engine, plan, cues))
    if over:
        raise ShotListError(_overflow_problems(plan, source, over))


def spoken_dialogue_problems(path: Path) -> list[Problem]:
    """For `multishot validate`: the shots whose lines take longer to say than they last (the
    lines are synthesised, uncached; nothing is written). Empty when the voice is unavailable."""
    from multishot.backends import speech

    plan = build_plan(load_film(path), path)
    cues = stages.film_cues(plan.shots)
    if not cues:
        return []
    try:
        rate, pcm = speech.synthesize_all([(c.text, speech.voice_for(c.speaker_id, stages.speaker_description(plan, c.speaker_id)))
                                           for c in cues])
    except speech.SpeechUnavailable:
        return []
    _, over, _ = stages.place_lines(plan.shots, rate, pcm)
    return _overflow_problems(plan, Path(path), over)


def _overflow_problems(plan: FilmPlan, source: Path, over: list[stages.Overflow]) -> list[Problem]:
    problems = []
    for o in over:
        spec = plan.shot(o.shot_id)
        i, j = spec.scene_index, spec.scene.shots.index(spec.shot)
        field = f"scenes[{i}].shots[{j}].dialogue"
        problems.append(Problem(source, _line_of(source, ("scenes", i, "shots", j, "dialogue")), field,
                                f"shot `{spec.id}`: {o} (or render with --no-audio)"))
    return problems


def _line_of(source: Path, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the key at `loc` in the YAML file (safe composition, no construction)."""
    import yaml

    try:
        node: Any = yaml.compose(source.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        line = None
        for part in loc:
            if isinstance(part, int):
                node = node.value[part]
            else:
                key, node = next((k, v) for k, v in node.value if k.value == part)
                line = key.start_mark.line + 1
        return line
    except Exception:  # the file already validated; a layout we cannot walk just loses the line
        return None


def render_file(path: Path, options: RenderOptions, reporter: Reporter | None = None,
                pool: BackendPool | None = None, *, claimed: dict[Path, Path] | None = None) -> RenderResult:
    """Render one shot list. Invalid input (the shot list, paradigm, profiles, LoRAs, --gpus /
    --ray, --only, the output folder) is refused before any folder is made or work is done."""
    reporter = reporter or SilentReporter()
    plan, paradigm, name = prepare(Path(path), options)
    plan, quality = with_quality(plan, options)
    out_dir = Path(options.out_root) / plan.slug
    pool = pool or (_FAST_POOL if options.fast else _POOL)
    for profile in sorted({plan.default_profile, *(spec.profile for spec in plan.shots)}):
        pool(profile)  # an unknown profile raises here; creating a backend loads no weights
    if options.dry_run:
        return _render_in(Path(path), options, reporter, pool, plan, paradigm, name, out_dir, None, quality,
                          None, fresh=False)
    fresh = not out_dir.exists()
    check_loras(plan, paradigm, pool)
    executor = None
    if options.gpus or options.ray or options.cp is not None or os.environ.get(RAY_ADDRESS_ENV):
        # Bad --gpus / --ray / --cp is refused here, before any folder exists or worker starts.
        check_flags(gpus=options.gpus, ray=options.ray, cp=options.cp)
        if options.cp and options.cp > 1:
            check_context_parallel(plan, pool, options.cp)
        executor = open_executor(gpus=options.gpus, ray=options.ray, log_dir=RenderFolder(out_dir).worker_logs,
                                 profile_of=_profile_of(pool), cp=options.cp)
    try:
        claim_output(out_dir, Path(path), claimed)
        with hold_render_folder(out_dir, reporter.warn) as interrupted:  # one render of a folder at a time
            return _render_in(Path(path), options, reporter, pool, plan, paradigm, name, out_dir, interrupted,
                              quality, executor, fresh=fresh)
    except ModelNotAvailable:
        if fresh and not RenderFolder(out_dir).manifest.exists():
            # Refused before any work: the lock was all this run wrote; leave no folder behind.
            lock_path(out_dir).unlink(missing_ok=True)
            _remove_empty_tree(out_dir)
        raise
    finally:
        if executor is not None:
            executor.close()


def _render_in(path: Path, options: RenderOptions, reporter: Reporter, pool: BackendPool, plan: FilmPlan,
               paradigm: Paradigm, name: str, out_dir: Path, interrupted: Interrupted | None,
               quality: dict[str, str], executor: Any, *, fresh: bool) -> RenderResult:
    """The render itself, in a folder this process holds (or, for a dry run, only reads)."""
    manifest = Manifest(RenderFolder(out_dir).manifest, write=not options.dry_run)
    manifest.header = {
        "multishot": __version__, "source": str(Path(path).resolve()), "paradigm": name,
        **plan.summary(), "started": time.time(), "pid": os.getpid(),
    }
    if interrupted is not None:
        manifest.event("found-interrupted", status=interrupted.status, pid=interrupted.pid, started=interrupted.started)
    if quality:
        manifest.header["quality"] = quality
    speed = pool.speed() if isinstance(pool, BackendPool) else {}
    if options.fast or any(v != "none" for roles in speed.values() for v in roles.values()):
        manifest.header["fast"] = bool(options.fast)
        manifest.header["speed"] = speed
    engine = Engine(out_dir, manifest, force=options.force, only=options.only, dry_run=options.dry_run,
                    on_event=reporter.warn)
    sounds: dict[str, Artifact] = {}
    if options.audio and not options.dry_run:
        _check_spoken_dialogue(engine, plan, Path(path))
    if executor is not None:
        engine.executor = executor
        executor.on_event = engine.event  # lost workers are recorded in the manifest
        manifest.header["executor"] = type(executor).__name__
    job = Job(plan, engine, pool, options, reporter)
    started = time.perf_counter()
    status = "failed"
    output: Output | None = None
    outputs: dict[str, Path] = {}
    try:
        check_needs(paradigm, plan, pool)  # once, before any work: a missing capability names the shot
        output = paradigm.run(job)
        if output.film is not None and not options.dry_run:  # dialogue -> subtitles, voice
            final = output.plan or plan
            cues = stages.film_cues([c.spec for c in output.clips])
            voice = stages.voice_lines(engine, final, cues) if options.audio and cues else None
            output = replace(output, film=stages.finish_film(engine, output.clips, output.film,
                                                             burn=options.burn_subtitles, voice=voice))
            if voice is not None:
                sounds = stages.shot_with_sound(engine, output.clips, voice)
        if output.plan is not None:  # the paradigm revised the plan (grammar, agent roles)
            manifest.header.update(output.plan.summary())
        if not options.dry_run:  # the status says `complete` only once the files are in place
            bank = output.extra.get("bank")
            outputs = stages.publish(engine, plan, output.clips, output.film, sounds,
                                     bank=bank if isinstance(bank, dict) else None)
            manifest.header["outputs"] = {k: str(v.relative_to(out_dir)) for k, v in outputs.items()}
        status = "planned" if options.dry_run else ("complete" if output.film is not None else "partial")
    except KeyboardInterrupt:  # Ctrl-C / SIGINT: the CLI exits 130
        status = "interrupted"
        raise
    except ModelNotAvailable:
        if not manifest.entries:  # refused before any work: no `failed` render is left behind
            manifest.write = False
            if fresh:
                _remove_empty_tree(out_dir)
        raise
    finally:
        engine.executor.close()
        _backend_events(pool, manifest)
        manifest.status = status
        manifest.header["finished"] = time.time()
        manifest.header["seconds"] = round(time.perf_counter() - started, 3)
        manifest.save()
    if output is not None and not options.dry_run and options.review:
        outputs.update(_review(out_dir, manifest))
    final = output.plan if output is not None and output.plan is not None else plan
    return RenderResult(
        title=plan.title, source=Path(path), out_dir=out_dir, paradigm=name,
        film=outputs.get("film"), manifest=manifest.path, shots=len(final.shots),
        duration=final.duration, hits=manifest.hits(), misses=manifest.misses(),
        seconds=time.perf_counter() - started, status=status, outputs=outputs,
        planned=manifest.entries, plan=final,
    )
