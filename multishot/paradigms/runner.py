"""Render one shot-list file with one paradigm: load → plan → run the stage graph → publish.

This is the single function the CLI calls for `render` and `plan`; it owns the manifest header
and the promise that a failure leaves everything already rendered in the cache.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multishot import __version__
from multishot.backends.base import Backend
from multishot.graph import stages
from multishot.graph.engine import Engine
from multishot.graph.manifest import Manifest
from multishot.graph.progress import Reporter, SilentReporter
from multishot.graph.render_lock import Interrupted, hold_render_folder
from multishot.paradigms import get_paradigm
from multishot.paradigms.base import Job, Output, OutputUnusable, Paradigm, RenderOptions, check_only
from multishot.plan.film_plan import FilmPlan, build_plan
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


class BackendPool:
    """One backend per profile per process: models are loaded once and reused for every shot."""

    def __init__(self) -> None:
        self._backends: dict[str, Backend] = {}

    def __call__(self, profile: str) -> Backend:
        if profile not in self._backends:
            from multishot.backends.registry import get_backend

            self._backends[profile] = get_backend(profile)
        return self._backends[profile]


_POOL = BackendPool()


def _review(out_dir: Path, manifest: Manifest) -> dict[str, Path]:
    """What a person reviews a render with (issue 7): metrics.json (as `multishot eval`),
    timeline.otio, contact_sheet.png and report.html. The film is already published, so a
    failure here is recorded in the manifest and reported, never a failed render."""
    from multishot.evaluate.report import write_review
    from multishot.graph.evaluation import NotARender, evaluate_render, write_metrics

    data = {**manifest.header, "status": manifest.status, "artifacts": manifest.entries}
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
        written.update(write_review(out_dir, data, metrics))
    except Exception as error:  # noqa: BLE001 - the review must not fail a finished render
        manifest.event("review-failed", error=f"{type(error).__name__}: {error}")
        return {}
    manifest.header.setdefault("outputs", {}).update(
        {k: str(v.relative_to(out_dir)) for k, v in written.items()})
    manifest.save()
    return written


def review_render(out_dir: Path) -> dict[str, Path]:
    """Write (or refresh) the review outputs of a finished render folder."""
    manifest_path = Path(out_dir) / "manifest.json"
    data = json.loads(manifest_path.read_text())
    manifest = Manifest(manifest_path, header={k: v for k, v in data.items() if k not in ("status", "artifacts", "events")},
                        entries=data.get("artifacts", []), events=data.get("events", []), status=data.get("status", "complete"))
    return _review(Path(out_dir), manifest)


def _backend_events(pool: "BackendPool | object", manifest: Manifest) -> None:
    """Copy what backends reported (e.g. an out-of-memory retry with a lighter strategy)."""
    for backend in getattr(pool, "_backends", {}).values():
        drain = getattr(backend, "drain_events", None)
        for event in (drain() if drain else []):
            manifest.event("backend", backend=backend.name, **event)


def prepare(path: Path, options: RenderOptions) -> tuple[FilmPlan, Paradigm, str]:
    """Load and plan a file; choose the paradigm. Raises ShotListError / UnknownParadigm early,
    before any work or output folder exists."""
    film = load_film(path)
    plan = build_plan(film, path, profile=options.profile)
    name = options.paradigm or film.paradigm or "stitching"
    paradigm = get_paradigm(name)
    if options.auto_transitions:
        from multishot.plan.grammar import apply_grammar

        plan = apply_grammar(plan)
    if paradigm.chainable:  # the agent roles may add shots: they check --only on their revision
        check_only(options.only, plan)
    return plan, paradigm, name


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


def render_file(path: Path, options: RenderOptions, reporter: Reporter | None = None,
                pool: BackendPool | None = None, *, claimed: dict[Path, Path] | None = None) -> RenderResult:
    """Render one shot list. Invalid input (the shot list, paradigm, profiles, --only, the
    output folder) is refused before any folder is made or work is done."""
    reporter = reporter or SilentReporter()
    plan, paradigm, name = prepare(Path(path), options)
    out_dir = Path(options.out_root) / plan.slug
    pool = pool or _POOL
    for profile in sorted({plan.default_profile, *(spec.profile for spec in plan.shots)}):
        pool(profile)  # an unknown profile raises here; creating a backend loads no weights
    if not options.dry_run:
        claim_output(out_dir, Path(path), claimed)
        with hold_render_folder(out_dir, reporter.warn) as interrupted:  # one render of a folder at a time
            return _render_in(Path(path), options, reporter, pool, plan, paradigm, name, out_dir, interrupted)
    return _render_in(Path(path), options, reporter, pool, plan, paradigm, name, out_dir, None)


def _render_in(path: Path, options: RenderOptions, reporter: Reporter, pool: BackendPool, plan: FilmPlan,
               paradigm: Paradigm, name: str, out_dir: Path, interrupted: Interrupted | None) -> RenderResult:
    """The render itself, in a folder this process holds (or, for a dry run, only reads)."""
    manifest = Manifest(out_dir / "manifest.json", write=not options.dry_run)
    manifest.header = {
        "multishot": __version__, "source": str(Path(path).resolve()), "paradigm": name,
        **plan.summary(), "started": time.time(), "pid": os.getpid(),
    }
    if interrupted is not None:
        manifest.event("found-interrupted", status=interrupted.status, pid=interrupted.pid, started=interrupted.started)
    engine = Engine(out_dir, manifest, force=options.force, only=options.only, dry_run=options.dry_run,
                    on_event=reporter.warn)
    job = Job(plan, engine, pool, options, reporter)
    started = time.perf_counter()
    status = "failed"
    output: Output | None = None
    try:
        output = paradigm.run(job)
        if output.plan is not None:  # the paradigm revised the plan (grammar, agent roles)
            manifest.header.update(output.plan.summary())
        status = "planned" if options.dry_run else ("complete" if output.film is not None else "partial")
    except KeyboardInterrupt:  # Ctrl-C / SIGINT: the CLI exits 130
        status = "interrupted"
        raise
    finally:
        _backend_events(pool, manifest)
        manifest.status = status
        manifest.header["finished"] = time.time()
        manifest.header["seconds"] = round(time.perf_counter() - started, 3)
        manifest.save()
    outputs: dict[str, Path] = {}
    if output is not None and not options.dry_run:
        outputs = stages.publish(engine, plan, output.clips, output.film)
        manifest.header["outputs"] = {k: str(v.relative_to(out_dir)) for k, v in outputs.items()}
        manifest.save()
        if options.review:
            outputs.update(_review(out_dir, manifest))
    final = output.plan if output is not None and output.plan is not None else plan
    return RenderResult(
        title=plan.title, source=Path(path), out_dir=out_dir, paradigm=name,
        film=outputs.get("film"), manifest=manifest.path, shots=len(final.shots),
        duration=final.duration, hits=manifest.hits(), misses=manifest.misses(),
        seconds=time.perf_counter() - started, status=status, outputs=outputs,
        planned=manifest.entries, plan=final,
    )
