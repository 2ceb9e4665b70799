"""What a paradigm is: a name, its stage graph, the capabilities it needs, and one function.

A paradigm file reads top to bottom as the story of how it makes a film (diffusers'
single-file habit); everything reusable lives in graph/stages.py.
"""

from __future__ import annotations

from multishot.errors import InvalidInput

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from multishot.backends.base import Backend, Capability
from multishot.graph.engine import Artifact, Engine
from multishot.graph.progress import Reporter, SilentReporter
from multishot.graph.stages import ShotClip
from multishot.plan.film_plan import FilmPlan


@dataclass
class RenderOptions:
    paradigm: str | None = None
    profile: str | None = None
    out_root: Path = Path("renders")
    only: frozenset[str] | None = None
    force: bool = False
    dry_run: bool = False
    smooth: bool = True           # stitching: colour-match seams
    blend_cuts: int = 0           # stitching: frames of blended boundary at soft cuts
    auto_transitions: bool = False
    stream: bool = False          # holistic: one shot at a time, conditioned on earlier shots
    max_joint_shots: int = 13     # holistic: shots per joint pass before chunking
    llm_base_url: str | None = None
    llm_model: str | None = None
    agent_rounds: int = 3
    review: bool = True           # write metrics.json, timeline.otio, report.html, contact_sheet.png
    fast: bool = False            # every profile with its `fast:` speed settings
    draft: bool = False           # every shot at its profile's draft settings
    final: bool = False           # with --only: those shots at full settings, the rest as drafts
    burn_subtitles: bool = False  # draw the dialogue into film.mp4's frames (else a soft track)
    audio: bool = True            # a scratch voice (eSpeak NG) for the dialogue, AAC in the mp4s
    gpus: str | None = None       # executor: `all` or "0,1" -> one worker process per local GPU
    ray: str | None = None        # executor: `auto` or a Ray address -> one Ray actor per GPU


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
class Paradigm:
    name: str
    summary: str
    stages: tuple[str, ...]
    needs: frozenset[Capability]
    run: Callable[[Job], Output]
    #: Shot-list preprocessing (the agent roles rewrite the plan before another paradigm runs).
    chainable: bool = True
