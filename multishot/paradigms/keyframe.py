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
movement: a dolly-in's end keyframe is tighter than its start, in the prompt's camera words
(plan/keyframe_prompts.py) on every backend, and, where the profile composes end keyframes
(`identity.end_keyframe.compose`), by re-framing the start keyframe and repainting it
(graph/scene_keyframes.py). A `match-cut` composes the next shot's first keyframe on this
shot's last keyframe. With `identity.keyframes: consistent` a scene's stills are generated
together under consistent self-attention (StoryDiffusion, arXiv 2405.01434), reading the
characters' bank images (paradigms/keyframe_identity.py).
"""

from __future__ import annotations

from multishot.backends.base import Backend, Capability, reads_references
from multishot.backends.framing import keyframe_zooms as framing
from multishot.graph import scene_keyframes, stages
from multishot.graph.engine import Artifact
from multishot.paradigms.base import Job, Output, Paradigm, RenderOptions, Step, finish, has_bridges
from multishot.paradigms.keyframe_identity import composes_end, consistent_scenes, end_move
from multishot.plan.film_plan import FilmPlan, ShotSpec
from multishot.plan.keyframe_prompts import keyframe_prompt

def keyframe_zooms(spec: ShotSpec, backend: Backend | None = None) -> tuple[float, float]:
    """(start, end) framing of a shot relative to its size, by the convention of the backend
    that draws its keyframes (backends/framing.py): the first keyframe is the shot size itself,
    the last is where the movement ends, so the infill never has to cross-fade between framings."""
    return framing(backend, spec.shot.movement)


def run(job: Job) -> Output:
    plan, engine = job.plan, job.engine

    # 1. The character bank: one identity image per character that appears, made on first need.
    bank: dict[str, Artifact] = {}

    def identity(cid: str, allow: bool) -> Artifact:
        if cid not in bank:
            bank[cid] = stages.render_identity(engine, job.backend(), plan, cid, allow=allow)
        return bank[cid]

    # 2. Keyframes: the first and last still of every shot, each given its characters' bank
    # images. With --only, a named shot's stills (and what they are composed on: its characters'
    # identities, a match-cut's previous last keyframe) are made; other shots use the cache or wait.
    stills: dict[tuple[str, str], Artifact] = {}

    def keyframe(spec: ShotSpec, which: str, allow: bool) -> Artifact:
        if (spec.id, which) in stills:
            return stills[(spec.id, which)]
        refs = {c.id: identity(c.id, allow) for c in spec.characters}
        zoom_first, zoom_last = keyframe_zooms(spec, job.backend(spec.profile))
        anchor = None
        if which == "first" and spec.index and plan.shots[spec.index - 1].transition.type == "match-cut":
            anchor = keyframe(plan.shots[spec.index - 1], "last", allow)
        backend, prompt = job.backend(spec.profile), keyframe_prompt(spec, which)
        if which == "last" and composes_end(backend, spec):  # the start keyframe, moved and repainted
            stills[(spec.id, which)] = scene_keyframes.render_composed_keyframe(
                engine, backend, spec, keyframe(spec, "first", allow), end_move(spec), zoom=zoom_last,
                strength=backend.end_keyframe.strength, prompt=prompt, references=refs, allow=allow)  # type: ignore[attr-defined]
            return stills[(spec.id, which)]
        stills[(spec.id, which)] = stages.render_keyframe(
            engine, backend, spec, which, zoom=zoom_first if which == "first" else zoom_last,
            references=refs, prompt=prompt, anchor=anchor, allow=allow)
        return stills[(spec.id, which)]

    # Identities first (all at once on the executor's workers), then every keyframe that is
    # composed on nothing, then the match-cut firsts, which need the previous shot's last still.
    cast = sorted({c.id for s in plan.shots for c in s.characters})
    _raise_errors(engine.parallel(lambda cid: identity(cid, any(
        engine.allowed(s.id) for s in plan.shots if any(c.id == cid for c in s.characters))), cast))

    task = job.reporter.task("keyframes", 2 * len(plan.shots))

    def still(item: tuple[ShotSpec, str]) -> Artifact:
        try:
            return keyframe(item[0], item[1], engine.allowed(item[0].id))
        finally:
            task.advance(1)

    anchored = [s for s in plan.shots if s.index and plan.shots[s.index - 1].transition.type == "match-cut"]
    composed = {s.id for s in anchored}
    from_start = [s for s in plan.shots if composes_end(job.backend(s.profile), s)]
    derived = {s.id for s in from_start}
    free = [(s, w) for s in plan.shots for w in ("first", "last")
            if not (w == "first" and s.id in composed) and not (w == "last" and s.id in derived)]
    # Consistent keyframes: each scene's free stills as one batch, before the per-still stages
    # (which then find them made).
    for scene_id, backend, items in consistent_scenes(free, lambda s: job.backend(s.profile),
                                                      lambda s, w: keyframe_zooms(s, job.backend(s.profile))[0 if w == "first" else 1]):
        ids = {spec.id for spec, *_ in items}
        allow = any(engine.allowed(i) for i in ids)
        refs = {c.id: identity(c.id, allow) for spec, *_ in items for c in spec.characters}
        try:
            stills.update(scene_keyframes.render_scene_keyframes(engine, backend, scene_id, items, refs, allow=allow))
        except stages.RenderStopped:
            pass  # --only excludes the whole scene and it is not cached: its shots are skipped below
    _raise_errors(engine.parallel(still, free))
    _raise_errors(engine.parallel(still, [(s, "first") for s in anchored]))
    _raise_errors(engine.parallel(still, [(s, "last") for s in from_start]))
    task.done()
    # A shot excluded by --only whose stills are not cached has none: the infill below skips it.
    keys: dict[str, tuple[Artifact, Artifact]] = {
        s.id: (stills[(s.id, "first")], stills[(s.id, "last")])
        for s in plan.shots if (s.id, "first") in stills and (s.id, "last") in stills}

    # 3. Infill: every shot's motion generated between its two keyframes.
    def infill(spec: ShotSpec) -> stages.ShotClip:
        if spec.id not in keys:
            raise stages.RenderStopped(f"the keyframes of `{spec.id}` are not rendered yet")
        backend = job.backend(spec.profile)
        # identity.video: reference (VACE): every character's bank image conditions the infill.
        refs = ({c.id: bank[c.id] for c in spec.characters if c.id in bank}
                if reads_references(backend, Capability.FIRST_LAST_TO_VIDEO) else None)
        return stages.render_video(engine, backend, spec, mode="first_last", first=keys[spec.id][0],
                                   last=keys[spec.id][1], references=refs, on_frame=task.advance)

    task = job.reporter.task("infill", sum(s.num_frames for s in plan.shots))
    clips, skipped = stages.per_shot(plan.shots, infill, engine)
    task.done()
    if skipped:
        return Output(clips, None, {"skipped": skipped})

    # 4. Bridges where asked for, then the film.
    return finish(job, clips, extra={"keyframes": keys, "bank": bank})


def _has_cast(plan: FilmPlan, options: RenderOptions) -> bool:
    return any(s.characters for s in plan.shots)


def _raise_errors(results: list[object]) -> None:
    """Raise the first real failure of a parallel step; a RenderStopped (--only) is a skip."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, stages.RenderStopped):
            raise result


PARADIGM = Paradigm(
    name="keyframe",
    summary="character bank → first/last keyframe per shot → first-last infill → assemble",
    stages=(Step("plan"), Step(stages.IDENTITY.name, "character bank", when=_has_cast),
            Step(stages.KEYFRAME.name, "first, last per shot; match-cut firsts composed on the last still",
                 more=(scene_keyframes.SCENE_KEYFRAMES.name,)),  # a scene's stills together (identity.keyframes: consistent)
            Step(stages.VIDEO.name, "first-last infill"), Step(stages.BRIDGE.name, when=has_bridges),
            Step(stages.ASSEMBLE.name)),
    needs=frozenset({Capability.TEXT_TO_IMAGE, Capability.FIRST_LAST_TO_VIDEO}),
    needs_after_match_cut=frozenset({Capability.IMAGE_TO_VIDEO}),  # the first keyframe is composed by it
    run=run,
)
