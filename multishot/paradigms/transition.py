"""Transition: cut the way films cut.

plan transitions by film grammar → clips → match-cut compositions and generated bridges → assemble

Every seam the shot list leaves open gets a transition chosen by film grammar (plan/grammar.py:
shot/reverse-shot cuts, time-jump dissolves and fades, action pacing), each with its reason. A
`match-cut` composes the incoming shot's first frame on the outgoing shot's last frame and grows
the shot from it (image-to-video); a `bridge` is a generated in-between segment from the outgoing
shot's last frame to the incoming shot's first (first-last-to-video).

On a profile whose joint mode is `cinetrans` (CineTrans, arXiv 2508.11484) the cuts themselves
are generated: every run of shots joined by hard cuts is ONE video, and CineTrans's
block-diagonal mask in the transformer's middle blocks makes the model cut at the planned
frames. The grammar planner still decides the seams; match cuts and bridges stay between the
generated groups.
"""

from __future__ import annotations

from dataclasses import replace

from multishot.backends.base import Capability, require
from multishot.graph import stages
from multishot.paradigms import holistic
from multishot.paradigms.base import Job, Output, Paradigm
from multishot.plan.film_plan import FilmPlan, ShotSpec
from multishot.plan.grammar import apply_grammar


class _Quiet:
    """A progress task that shows nothing: the transition paradigm counts frames itself."""

    def advance(self, n: int = 1) -> None:
        pass

    def done(self) -> None:
        pass


def _cuts_generated(job: Job, spec: ShotSpec) -> bool:
    mode = getattr(job.backend(spec.profile), "joint_mode", lambda: None)()
    return bool(mode) and mode.get("self_attention") == "cinetrans"


def _after_match_cut(plan: FilmPlan, i: int) -> bool:
    return i > 0 and plan.shots[i - 1].transition.type == "match-cut"


def run(job: Job) -> Output:
    plan = apply_grammar(job.plan)
    job = replace(job, plan=plan)
    engine = job.engine
    for i, spec in enumerate(plan.shots):
        needs = [Capability.JOINT_SHOTS if _cuts_generated(job, spec) else Capability.TEXT_TO_VIDEO]
        if spec.transition.type == "bridge":
            needs.append(Capability.FIRST_LAST_TO_VIDEO)
        if i and plan.shots[i - 1].transition.type == "match-cut":
            needs.append(Capability.IMAGE_TO_VIDEO)
        require(job.backend(spec.profile), needs, f"transition (shot `{spec.id}`)")

    task = job.reporter.task("shots", sum(s.num_frames for s in plan.shots))
    # Shots whose cuts the model generates, as joint groups split at every seam that is not a
    # plain cut (a match cut's incoming shot is composed, below, so it starts no group).
    joint = [s for i, s in enumerate(plan.shots) if _cuts_generated(job, s) and not _after_match_cut(plan, i)]
    joint_groups = {g[0].index: g for g in holistic.groups(job, joint, lambda a, b: a.transition.type == "cut")}
    in_group = {s.index for g in joint_groups.values() for s in g}
    owner = {s.index: g[0].index for g in joint_groups.values() for s in g}  # shot -> its group's first
    made: dict[int, list[stages.ShotClip]] = {}  # by the index of a group's (or shot's) first shot
    missed: dict[int, list[str]] = {}

    def make(i: int) -> None:
        """Shot i (or the joint group it starts), once what it is composed on is resolved."""
        spec = plan.shots[i]
        backend = job.backend(spec.profile)
        if spec.index in joint_groups:
            group = joint_groups[spec.index]
            clips_, missed_ = holistic.render_groups(job, [group], _Quiet())
            made[i], missed[i] = clips_, missed_
            task.advance(sum(s.num_frames for s in group))
            return
        try:
            if _after_match_cut(plan, i):
                before = made.get(owner.get(i - 1, i - 1), [])
                previous = before[-1] if before and before[-1].spec.index == spec.index - 1 else None
                if previous is None:  # --only skipped the shot this one is composed on
                    raise stages.RenderStopped(f"`{spec.id}` is composed on `{plan.shots[i - 1].id}`, not rendered yet")
                # The incoming shot's first keyframe is composed on the outgoing shot's last frame.
                anchor = stages.last_frame_artifact(engine, previous, allow=engine.allowed(spec.id))
                first = stages.render_keyframe(engine, backend, spec, "first", zoom=1.0, anchor=anchor)
                made[i] = [stages.render_video(engine, backend, spec, mode="image", first=first,
                                               on_frame=task.advance)]
            else:
                made[i] = [stages.render_video(engine, backend, spec, mode="text", on_frame=task.advance)]
        except stages.RenderStopped:
            missed[i] = [spec.id]

    # Every shot and joint group is independent of the others except a match cut's incoming
    # shot, which is composed on the shot before it: they run at once on the executor's
    # workers, in waves, each wave what the finished ones allow.
    pending = [i for i, spec in enumerate(plan.shots) if spec.index in joint_groups or spec.index not in in_group]
    while pending:
        ready = [i for i in pending if not _after_match_cut(plan, i) or owner.get(i - 1, i - 1) not in pending]
        failures = [r for r in engine.parallel(make, ready) if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        pending = [i for i in pending if i not in ready]
    clips = [c for i in sorted(made) for c in made[i]]
    skipped = [sid for i in sorted(missed) for sid in missed[i]]
    task.done()
    if skipped:
        return Output(clips, None, {"skipped": skipped}, plan=plan)

    bridges = stages.render_bridges(engine, job.backend, clips)
    task = job.reporter.task("assemble", plan.total_frames)
    film = stages.assemble_film(engine, plan, clips, bridges=bridges, on_frame=lambda n: task.advance())
    task.done()
    return Output(clips, film, plan=plan)


PARADIGM = Paradigm(
    name="transition",
    summary="transitions chosen by film grammar, match cuts composed, bridges generated, then assembled",
    stages=("plan (film-grammar transitions, pacing)", "video (per shot; image-to-video after a match-cut)",
            "bridge (first-last generated segments)", "assemble"),
    needs=frozenset({Capability.TEXT_TO_VIDEO}),  # or joint_shots on a cinetrans profile (checked in run)
    run=run,
)
