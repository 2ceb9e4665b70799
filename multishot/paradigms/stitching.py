"""Stitching: generate every shot separately, then smooth the seams.

plan → video per shot (text-to-video) → seam smoothing → assemble

Consistency comes from the prompts (five domains, canonical descriptions verbatim — see
plan/prompts.py), stable per-shot seeds, and seam smoothing: the incoming shot is colour-matched
to the outgoing one over its first second (within a scene only: a new scene is allowed its own
look), and `--blend-cuts N` softens cuts that are not meant to be hard. Each shot may use its own
profile, so one film can mix models.
"""

from __future__ import annotations

from dataclasses import dataclass

from multishot.backends.base import Capability, reads_references
from multishot.graph import stages
from multishot.paradigms.base import Job, Output, Paradigm, RenderOptions, Step, finish, has_bridges, option
from multishot.plan.film_plan import FilmPlan, ShotSpec


@dataclass(frozen=True)
class StitchingOptions:
    smooth: bool = option(True, "--no-smooth", "Stitching: skip seam colour matching.", negate=True)
    blend_cuts: int = option(0, "--blend-cuts", "Stitching: frames each side of a same-scene cut that lean toward "
                             "the other shot.", min=0, max=12)


def run(job: Job) -> Output:
    plan, engine = job.plan, job.engine
    options = job.options.of(StitchingOptions)

    # identity.video: reference (VACE): a character bank, every shot given its characters' images.
    cast = sorted({c.id for s in plan.shots if reads_references(job.backend(s.profile), Capability.TEXT_TO_VIDEO)
                   for c in s.characters})
    bank = dict(zip(cast, [stages.render_identity(engine, job.backend(), plan, cid, allow=any(
        engine.allowed(s.id) for s in plan.shots if any(c.id == cid for c in s.characters))) for cid in cast]))

    def shot(spec: ShotSpec) -> stages.ShotClip:
        refs = {c.id: bank[c.id] for c in spec.characters if c.id in bank} or None
        return stages.render_video(engine, job.backend(spec.profile), spec, mode="text", references=refs,
                                   on_frame=task.advance)

    total = sum(s.num_frames for s in plan.shots)
    task = job.reporter.task("shots", total)
    clips, skipped = stages.per_shot(plan.shots, shot, engine)
    task.done()
    if skipped:
        return Output(clips, None, {"skipped": skipped})

    smoothing = {}
    if options.smooth:
        for i, (a, b) in enumerate(zip(clips, clips[1:])):
            if a.spec.scene_id == b.spec.scene_id and a.spec.transition.type != "match-cut":
                smoothing[i] = stages.smooth_seam(engine, a, b)

    return finish(job, clips, extra={"bank": bank} if bank else {}, smoothing=smoothing,
                  blend_cuts=options.blend_cuts)


def _reads_references(plan: FilmPlan, options: RenderOptions) -> bool:
    """Only known with the backends (identity.video: reference); the step is listed when any
    shot has characters, and runs where the shot's profile reads references."""
    return any(s.characters for s in plan.shots)


def _smooths(plan: FilmPlan, options: RenderOptions) -> bool:
    return options.of(StitchingOptions).smooth and len(plan.shots) > 1


PARADIGM = Paradigm(
    name="stitching",
    summary="each shot generated separately (text-to-video), seams colour-matched, then assembled",
    stages=(Step("plan"), Step(stages.IDENTITY.name, "character bank, on a profile whose video reads references",
                               when=_reads_references),
            Step(stages.VIDEO.name, "per shot, text-to-video"),
            Step(stages.SMOOTH.name, "seam colour match", when=_smooths),
            Step(stages.BRIDGE.name, "bridge transitions", when=has_bridges), Step(stages.ASSEMBLE.name)),
    needs=frozenset({Capability.TEXT_TO_VIDEO}),
    run=run,
    options=StitchingOptions,
)
