"""Transition: cut the way films cut.

plan transitions by film grammar → clips → match-cut compositions and generated bridges → assemble

Every seam the shot list leaves open gets a transition chosen by film grammar (plan/grammar.py:
shot/reverse-shot cuts, time-jump dissolves and fades, action pacing), each with its reason. A
`match-cut` composes the incoming shot's first frame on the outgoing shot's last frame and grows
the shot from it (image-to-video); a `bridge` is a generated in-between segment from the outgoing
shot's last frame to the incoming shot's first (first-last-to-video).
"""

from __future__ import annotations

from dataclasses import replace

from multishot.backends.base import Capability, require
from multishot.graph import stages
from multishot.paradigms.base import Job, Output, Paradigm
from multishot.plan.grammar import apply_grammar


def run(job: Job) -> Output:
    plan = apply_grammar(job.plan)
    job = replace(job, plan=plan)
    engine = job.engine
    for i, spec in enumerate(plan.shots):
        needs = [Capability.TEXT_TO_VIDEO]
        if spec.transition.type == "bridge":
            needs.append(Capability.FIRST_LAST_TO_VIDEO)
        if i and plan.shots[i - 1].transition.type == "match-cut":
            needs.append(Capability.IMAGE_TO_VIDEO)
        require(job.backend(spec.profile), needs, f"transition (shot `{spec.id}`)")

    task = job.reporter.task("shots", sum(s.num_frames for s in plan.shots))
    clips: list[stages.ShotClip] = []
    skipped: list[str] = []
    for i, spec in enumerate(plan.shots):
        backend = job.backend(spec.profile)
        try:
            if i and plan.shots[i - 1].transition.type == "match-cut":
                previous = clips[-1] if clips and clips[-1].spec.index == spec.index - 1 else None
                if previous is None:  # --only skipped the shot this one is composed on
                    raise stages.RenderStopped(f"`{spec.id}` is composed on `{plan.shots[i - 1].id}`, not rendered yet")
                # The incoming shot's first keyframe is composed on the outgoing shot's last frame.
                anchor = stages.last_frame_artifact(engine, previous, allow=engine.allowed(spec.id))
                first = stages.render_keyframe(engine, backend, spec, "first", zoom=1.0, anchor=anchor)
                clips.append(stages.render_video(engine, backend, spec, mode="image", first=first,
                                                 on_frame=task.advance))
            else:
                clips.append(stages.render_video(engine, backend, spec, mode="text", on_frame=task.advance))
        except stages.RenderStopped:
            skipped.append(spec.id)
    task.done()
    if skipped:
        return Output(clips, None, {"skipped": skipped}, plan=plan)

    bridges = {i: stages.render_bridge(engine, job.backend(a.spec.profile), a, b)
               for i, (a, b) in enumerate(zip(clips, clips[1:])) if a.spec.transition.type == "bridge"}
    task = job.reporter.task("assemble", plan.total_frames)
    film = stages.assemble_film(engine, plan, clips, bridges=bridges, on_frame=lambda n: task.advance())
    task.done()
    return Output(clips, film, plan=plan)


PARADIGM = Paradigm(
    name="transition",
    summary="transitions chosen by film grammar, match cuts composed, bridges generated, then assembled",
    stages=("plan (film-grammar transitions, pacing)", "video (per shot; image-to-video after a match-cut)",
            "bridge (first-last generated segments)", "assemble"),
    needs=frozenset({Capability.TEXT_TO_VIDEO}),
    run=run,
)
