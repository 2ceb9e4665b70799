"""What a paradigm is: its whole contract, declared in its own file.

A paradigm is a name, a stage graph (`Step`s naming the engine stages it runs, so `plan` shows
the declaration, not prose), the capabilities every shot's backend must have (checked once by
the runner, before any work, with `check_needs`), its own options (a small dataclass whose
fields carry their CLI flag: `render` collects them, so a new paradigm's flag appears in
`render --help` without touching the CLI) and one function. A paradigm file reads top to bottom
as the story of how it makes a film (diffusers' single-file habit); everything reusable lives in
graph/stages.py, and the shared tail "bridges, then assemble" is `finish` here.
"""

from __future__ import annotations

import typing
from dataclasses import MISSING, Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, TypeVar

from multishot.backends.base import Backend, Capability, require
from multishot.errors import InvalidInput
from multishot.graph import stages
from multishot.graph.engine import Artifact, Engine
from multishot.graph.progress import Reporter, SilentReporter
from multishot.graph.stages import ShotClip
from multishot.plan.film_plan import FilmPlan

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Options: each paradigm's own, with the CLI flag that sets each one
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """How one option field is set on the command line. `negate`: a boolean option that is on by
    default and turned off by the flag (`--no-smooth` sets `smooth` to False)."""

    name: str
    help: str
    min: int | float | None = None
    max: int | float | None = None
    negate: bool = False


def option(default: Any, flag: str, help: str, *, min: int | float | None = None,
           max: int | float | None = None, negate: bool = False) -> Any:
    """A field of a paradigm's options dataclass with its default, its flag and its help."""
    return field(default=default, metadata={"flag": Flag(flag, help, min, max, negate)})


@dataclass(frozen=True)
class OptionFlag:
    """One flag a paradigm contributes to `render`: which options class and field it sets."""

    paradigm: str
    options: type
    field: str
    type: Any
    default: Any
    flag: Flag


def option_flags(paradigm: str, options: type | None) -> list[OptionFlag]:
    """The flags of one paradigm's options dataclass (fields without a flag are not listed)."""
    if options is None:
        return []
    hints = typing.get_type_hints(options)
    out = []
    for f in fields(options):
        flag = f.metadata.get("flag")
        if flag is not None:
            out.append(OptionFlag(paradigm, options, f.name, hints[f.name], _default(f), flag))
    return out


def _default(f: Field[Any]) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


@dataclass
class _CommonOptions:
    """The options of every render, whatever the paradigm (the runner's, not a paradigm's)."""

    paradigm: str | None = None
    profile: str | None = None
    out_root: Path = Path("renders")
    only: frozenset[str] | None = None
    force: bool = False
    dry_run: bool = False
    auto_transitions: bool = False
    review: bool = True           # write metrics.json, timeline.otio, report.html, contact_sheet.png
    fast: bool = False            # every profile with its `fast:` speed settings
    draft: bool = False           # every shot at its profile's draft settings
    final: bool = False           # with --only: those shots at full settings, the rest as drafts
    burn_subtitles: bool = False  # draw the dialogue into film.mp4's frames (else a soft track)
    audio: bool = True            # a scratch voice (eSpeak NG) for the dialogue, AAC in the mp4s
    gpus: str | None = None       # executor: `all` or "0,1" -> one worker process per local GPU
    ray: str | None = None        # executor: `auto` or a Ray address -> one Ray actor per GPU
    cp: int | None = None         # executor: with `gpus`, GPUs per worker (Ulysses over them)
    #: Paradigm options by field name (`smooth`, `stream`, …), as set; unset ones keep the
    #: default of their paradigm's options dataclass. Read with `options.of(StitchingOptions)`.
    settings: dict[str, Any] = field(default_factory=dict)


_COMMON = frozenset(f.name for f in fields(_CommonOptions))


class RenderOptions(_CommonOptions):
    """Everything one render is asked to do: the common options, plus each paradigm's own
    options by field name (`RenderOptions(smooth=False, stream=True)`), which must be fields of
    some registered paradigm's options dataclass."""

    def __init__(self, *args: Any, settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in _COMMON}
        if extra:
            from multishot.paradigms import option_names

            unknown = sorted(set(extra) - option_names())
            if unknown:
                raise TypeError(f"RenderOptions got unexpected option(s) {', '.join(unknown)}: no paradigm declares them")
        super().__init__(*args, settings={**(settings or {}), **extra}, **kwargs)

    def of(self, options: type[T]) -> T:
        """One paradigm's options: the ones set here, the dataclass's defaults for the rest."""
        return options(**{f.name: self.settings[f.name] for f in fields(options) if f.name in self.settings})  # type: ignore[call-arg]


class UnknownShot(InvalidInput, ValueError):
    """`--only` names a shot the film does not have (invalid input: exit code 2)."""


class OutputUnusable(InvalidInput, ValueError):
    """The output folder cannot be written, or a batch would write two films into one folder
    (invalid input: exit code 2, said before any work)."""


def check_only(only: frozenset[str] | None, plan: FilmPlan) -> None:
    """Refuse `--only` ids the plan does not have, before any work: a typo would otherwise
    render nothing and still exit 0."""
    if not only:
        return
    ids = [spec.id for spec in plan.shots]
    unknown = sorted(only - set(ids))
    if unknown:
        import difflib

        hints = []
        for shot_id in unknown:
            guess = difflib.get_close_matches(shot_id, ids, n=1, cutoff=0.6)
            hints.append(f"`{shot_id}`" + (f" (did you mean `{guess[0]}`?)" if guess else ""))
        raise UnknownShot(f"--only names no shot of “{plan.title}”: {', '.join(hints)}; "
                          f"its shots are: {', '.join(ids)}")


@dataclass
class Job:
    """Everything a paradigm run gets."""

    plan: FilmPlan
    engine: Engine
    backend_for: Callable[[str], Backend]
    options: RenderOptions
    reporter: Reporter = field(default_factory=SilentReporter)

    def backend(self, profile: str | None = None) -> Backend:
        return self.backend_for(profile or self.plan.default_profile)


@dataclass
class Output:
    clips: list[ShotClip]
    film: Artifact | None
    extra: dict[str, object] = field(default_factory=dict)
    #: The plan as the paradigm finally rendered it, when it revised the one it was given.
    plan: FilmPlan | None = None


@dataclass(frozen=True)
class Step:
    """One node of a paradigm's stage graph: the engine stage it runs (its name is the one the
    manifest records for its artifacts; `plan` is the planner, which runs always) and what this
    paradigm does with it. `when` says, for a film and its options, whether the step runs at all
    (a `bridge` step only where a transition is a bridge); None: always."""

    stage: str
    what: str = ""
    when: Callable[[FilmPlan, RenderOptions], bool] | None = None
    #: Other engine stages this step runs (the agent step also writes `agent-shotlist`).
    more: tuple[str, ...] = ()

    def label(self) -> str:
        return f"{self.stage} ({self.what})" if self.what else self.stage

    def runs(self, plan: FilmPlan, options: RenderOptions) -> bool:
        return self.when is None or self.when(plan, options)


def has_bridges(plan: FilmPlan, options: RenderOptions | None = None) -> bool:
    """A `when` for bridge steps: some transition of the film is a generated bridge."""
    return any(s.transition.type == "bridge" for s in plan.shots)


#: A bridge is generated from its outgoing shot's profile (first-last-to-video), in every paradigm.
BRIDGE_NEEDS = frozenset({Capability.FIRST_LAST_TO_VIDEO})


@dataclass(frozen=True)
class Paradigm:
    name: str
    summary: str
    #: The stage graph, in order (plain strings are steps with no condition).
    stages: tuple[Step | str, ...]
    #: What the backend of every shot must offer.
    needs: frozenset[Capability]
    run: Callable[[Job], Output]
    #: Shot-list preprocessing (the agent roles rewrite the plan before another paradigm runs).
    chainable: bool = True
    #: This paradigm's options dataclass (fields made with `option`, each with its flag).
    options: type | None = None
    #: Extra needs of the shot after a `match-cut` (its first frame is composed on the last one).
    needs_after_match_cut: frozenset[Capability] = frozenset()
    #: Instead of `needs`, what a shot needs on this backend (the transition paradigm generates
    #: cuts with joint generation on a cinetrans profile); None keeps `needs`.
    needs_on: Callable[[Backend], frozenset[Capability]] | None = None
    #: The plan as this paradigm renders it (film-grammar transitions), applied once by the
    #: runner (`as_rendered`) before the needs are checked, so they are checked on the seams
    #: that will be rendered; `run` receives the plan with it applied.
    replan: Callable[[FilmPlan], FilmPlan] | None = None

    @property
    def graph(self) -> tuple[Step, ...]:
        return tuple(s if isinstance(s, Step) else Step(s) for s in self.stages)

    def shot_needs(self, plan: FilmPlan, i: int, backend: Backend) -> list[Capability]:
        """Every capability shot `i` of `plan` needs from `backend`, in a stable order."""
        spec = plan.shots[i]
        need = set(self.needs_on(backend) if self.needs_on is not None else self.needs)
        if spec.transition.type == "bridge":
            need |= BRIDGE_NEEDS
        if i and plan.shots[i - 1].transition.type == "match-cut":
            need |= self.needs_after_match_cut
        return sorted(need, key=lambda c: list(Capability).index(c))


def as_rendered(plan: FilmPlan, paradigm: Paradigm, options: RenderOptions) -> FilmPlan:
    """The plan as `paradigm` renders it: --auto-transitions' film grammar, then the paradigm's
    `replan`, each pass once (the transition paradigm's replan is film grammar itself, so with
    --auto-transitions it does not run twice). The runner applies it to the shot list's plan
    and the agent roles to their revision; a paradigm's `run` takes `job.plan` as it is."""
    from multishot.plan.grammar import apply_grammar

    passes: list[Callable[[FilmPlan], FilmPlan]] = [apply_grammar] if options.auto_transitions else []
    if paradigm.replan is not None and paradigm.replan not in passes:
        passes.append(paradigm.replan)
    for replan in passes:
        plan = replan(plan)
    return plan


def check_needs(paradigm: Paradigm, plan: FilmPlan, backend_for: Callable[[str], Backend]) -> None:
    """Refuse, before any work, a shot whose backend lacks what the paradigm needs for it
    (CapabilityError, exit 2), naming the shot. The runner calls it once per render (the agent
    roles once more, on the plan they revised)."""
    label = paradigm.name.rsplit("+", 1)[-1]
    for i, spec in enumerate(plan.shots):
        backend = backend_for(spec.profile)
        require(backend, paradigm.shot_needs(plan, i, backend), f"{label} (shot `{spec.id}`)")


def finish(job: Job, clips: list[ShotClip], *, plan: FilmPlan | None = None,
           extra: dict[str, object] | None = None, **assemble: Any) -> Output:
    """The shared tail of every paradigm: generate the bridges the plan asks for between the
    clips, then assemble the film (progress shown as `assemble`). `assemble` passes on to
    `stages.assemble_film` (smoothing, blend_cuts)."""
    film_plan = plan or job.plan
    bridges = stages.render_bridges(job.engine, job.backend, clips)
    task = job.reporter.task("assemble", film_plan.total_frames)
    film = stages.assemble_film(job.engine, film_plan, clips, bridges=bridges,
                                on_frame=lambda n: task.advance(), **assemble)
    task.done()
    return Output(clips, film, dict(extra or {}), plan=plan)
