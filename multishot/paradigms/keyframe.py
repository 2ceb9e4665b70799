"""Keyframe: anchor every shot's endpoints, then infill the motion between them.

plan → character bank → first and last keyframe of every shot → first-last infill → assemble

Consistency comes from the character bank: one identity image per character (the shot list's
`reference`, or one generated once from the description with a fixed seed), passed to every
keyframe that shows the character. The mechanism (graph/stages.py `render_keyframe`): where the
profile has image-to-video, a keyframe is grown out of its lead character's bank image by
image-to-video under the keyframe's prompt (last frame kept) — the video model's temporal
consistency carries the identity into the new framing; the bank images also travel in the
request for backends with native image conditioning (IP-Adapter style). The animatic draws every
figure from the same identity, so its keyframes are exact. Keyframes are framed by shot size and
movement: a dolly-in's end keyframe is tighter than its start. A `match-cut` composes the next
shot's first keyframe on this shot's last keyframe.
"""

from __future__ import annotations

from multishot.backends.animatic.camera import movement_end_zoom
from multishot.backends.base import Capability, require
from multishot.graph import stages
from multishot.graph.engine import Artifact
from multishot.paradigms.base import Job, Output, Paradigm
from multishot.plan.film_plan import ShotSpec

def keyframe_zooms(spec: ShotSpec) -> tuple[float, float]:
    """(start, end) framing of a shot relative to its size. The convention is the animatic's
    camera model (the reference previz): the first keyframe is the shot size itself and the last
    is where the movement ends (a dolly-in ends tighter, a dolly-out wider), so the infill never
    has to cross-fade between two different framings."""
    return 1.0, movement_end_zoom(spec.shot.movement)


def run(job: Job) -> Output:
    plan, engine = job.plan, job.engine
    for spec in plan.shots:
        require(job.backend(spec.profile),
                [Capability.TEXT_TO_IMAGE, Capability.FIRST_LAST_TO_VIDEO], f"keyframe (shot `{spec.id}`)")

    # 1. The character bank: one identity image per character that appears.
    cast = sorted({c.id for spec in plan.shots for c in spec.characters})
    bank: dict[str, Artifact] = {cid: stages.render_identity(engine, job.backend(), plan, cid) for cid in cast}

    # 2. Keyframes: the first and last still of every shot, each given its characters' bank images.
    task = job.reporter.task("keyframes", 2 * len(plan.shots))
    keys: dict[str, tuple[Artifact, Artifact]] = {}
    previous: ShotSpec | None = None
    for spec in plan.shots:
        backend = job.backend(spec.profile)
        refs = {c.id: bank[c.id] for c in spec.characters}
        zoom_first, zoom_last = keyframe_zooms(spec)
        anchor = keys[previous.id][1] if previous and previous.transition.type == "match-cut" else None
        first = stages.render_keyframe(engine, backend, spec, "first", zoom=zoom_first, references=refs, anchor=anchor)
        last = stages.render_keyframe(engine, backend, spec, "last", zoom=zoom_last, references=refs)
        keys[spec.id] = (first, last)
        task.advance(2)
        previous = spec
    task.done()

    # 3. Infill: every shot's motion generated between its two keyframes.
    task = job.reporter.task("infill", sum(s.num_frames for s in plan.shots))
    clips, skipped = stages.per_shot(plan.shots, lambda spec: stages.render_video(
        engine, job.backend(spec.profile), spec, mode="first_last",
        first=keys[spec.id][0], last=keys[spec.id][1], on_frame=task.advance))
    task.done()
    if skipped:
        return Output(clips, None, {"skipped": skipped})

    # 4. Bridges where asked for, then the film.
    bridges = {i: stages.render_bridge(engine, job.backend(a.spec.profile), a, b)
               for i, (a, b) in enumerate(zip(clips, clips[1:])) if a.spec.transition.type == "bridge"}
    task = job.reporter.task("assemble", plan.total_frames)
    film = stages.assemble_film(engine, plan, clips, bridges=bridges, on_frame=lambda n: task.advance())
    task.done()
    return Output(clips, film, {"keyframes": keys, "bank": bank})


PARADIGM = Paradigm(
    name="keyframe",
    summary="character bank → first/last keyframe per shot → first-last infill → assemble",
    stages=("plan", "identity (character bank)", "keyframe (first, last per shot)",
            "video (first-last infill)", "bridge", "assemble"),
    needs=frozenset({Capability.TEXT_TO_IMAGE, Capability.FIRST_LAST_TO_VIDEO}),
    run=run,
)
