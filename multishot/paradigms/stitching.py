"""Stitching: generate every shot separately, then smooth the seams.

plan → video per shot (text-to-video) → seam smoothing → assemble

Consistency comes from the prompts (five domains, canonical descriptions verbatim — see
plan/prompts.py), stable per-shot seeds, and seam smoothing: the incoming shot is colour-matched
to the outgoing one over its first second (within a scene only: a new scene is allowed its own
look), and `--blend-cuts N` softens cuts that are not meant to be hard. Each shot may use its own
profile, so one film can mix models.
"""

from __future__ import annotations

from multishot.backends.base import Capability, reads_references, require
from multishot.graph import stages
from multishot.paradigms.base import Job, Output, Paradigm
from multishot.plan.film_plan import ShotSpec


def run(job: Job) -> Output:
    plan, engine = job.plan, job.engine
    for spec in plan.shots:
        needs = [Capability.TEXT_TO_VIDEO]
        if spec.transition.type == "bridge":  # generated from this shot's profile, after every shot
            needs.append(Capability.FIRST_LAST_TO_VIDEO)
        require(job.backend(spec.profile), needs, f"stitching (shot `{spec.id}`)")

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
    if job.options.smooth:
        for i, (a, b) in enumerate(zip(clips, clips[1:])):
            if a.spec.scene_id == b.spec.scene_id and a.spec.transition.type != "match-cut":
                smoothing[i] = stages.smooth_seam(engine, a, b)

    bridges = stages.render_bridges(engine, job.backend, clips)

    task = job.reporter.task("assemble", plan.total_frames)
    film = stages.assemble_film(engine, plan, clips, smoothing=smoothing, bridges=bridges,
                                blend_cuts=job.options.blend_cuts, on_frame=lambda n: task.advance())
    task.done()
    return Output(clips, film, {"bank": bank} if bank else {})


PARADIGM = Paradigm(
    name="stitching",
    summary="each shot generated separately (text-to-video), seams colour-matched, then assembled",
    stages=("plan", "video (per shot, text-to-video)", "smooth (seam colour match)", "bridge (bridge transitions)", "assemble"),
    needs=frozenset({Capability.TEXT_TO_VIDEO}),
    run=run,
)
