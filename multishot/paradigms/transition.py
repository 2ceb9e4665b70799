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

from multishot.backends.base import Backend, Capability
from multishot.graph import stages
from multishot.paradigms import holistic
from multishot.paradigms.base import Job, Output, Paradigm, Step, finish, has_bridges
from multishot.plan.film_plan import FilmPlan, ShotSpec
from multishot.plan.grammar import apply_grammar


class _Quiet:
    """A progress task that shows nothing: the transition paradigm counts frames itself."""

    def advance(self, n: int = 1) -> None:
        pass

    def done(self) -> None:
        pass


def _generates_cuts(backend: Backend) -> bool:
    mode = getattr(backend, "joint_mode", lambda: None)()
    return bool(mode) and mode.get("self_attention") == "cinetrans"


def _cuts_generated(job: Job, spec: ShotSpec) -> bool:
    return _generates_cuts(job.backend(spec.profile))


def _needs_on(backend: Backend) -> frozenset[Capability]:
    """A cinetrans profile generates each run of cut-joined shots jointly; any other renders
    each shot by text-to-video."""
    return frozenset({Capability.JOINT_SHOTS if _generates_cuts(backend) else Capability.TEXT_TO_VIDEO})


def _has_match_cuts(plan: FilmPlan, options: object) -> bool:
    return any(s.transition.type == "match-cut" for s in plan.shots[:-1])


def _after_match_cut(plan: FilmPlan, i: int) -> bool:
    return i > 0 and plan.shots[i - 1].transition.type == "match-cut"


def run(job: Job) -> Output:
    plan = job.plan  # film grammar applied: `replan` below, run once by the runner (base.as_rendered)
    engine = job.engine

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
        return Output(clips, None, {"skipped": skipped})

    return finish(job, clips)


PARADIGM = Paradigm(
    name="transition",
    summary="transitions chosen by film grammar, match cuts composed, bridges generated, then assembled",
    stages=(Step("plan", "film-grammar transitions, pacing"),
            Step(stages.VIDEO.name, "per shot, or per cut-joined group on a cinetrans profile; "
                 "image-to-video after a match-cut"),
            Step(stages.STILL.name, "a match-cut's outgoing last frame", when=_has_match_cuts),
            Step(stages.KEYFRAME.name, "a match-cut's incoming first frame, composed on that still",
                 when=_has_match_cuts),
            Step(stages.BRIDGE.name, "first-last generated segments", when=has_bridges), Step(stages.ASSEMBLE.name)),
    needs=frozenset({Capability.TEXT_TO_VIDEO}),
    needs_on=_needs_on,
    needs_after_match_cut=frozenset({Capability.IMAGE_TO_VIDEO}),
    replan=apply_grammar,
    run=run,
)
