"""Holistic: one model sees all the shots of a sequence at once.

plan → group shots (a scene, chunked to ≤ 13 shots) → one joint generation per group → split → assemble

The shots of a group are laid out as one latent video; the transformer runs once per step over
all of them with dense attention inside a shot and, across shots, attention only to a few
summary tokens of every other shot; each shot's frames read only their own prompt plus the
global one (HoloCine, arXiv 2510.20822, training-free here; the mechanism is in
backends/diffusers/shot_attention.py). Groups after the first also see summary frames of the
last shots before them (a memory, across groups: after a one-shot group it reaches into the
group before that), so consistency carries across chunks.

`--stream` generates one shot at a time, each conditioned on the summary frames of the shots
before it (in the spirit of ShotStream), so `--only <first-shot>` renders shot 1, you look, and
the next render goes on from the cache. Memory is rebuilt from the cached frames (the backend's
`summarize`), so a resumed render conditions exactly as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from multishot.backends.base import Backend, Capability
from multishot.graph import stages
from multishot.graph.engine import RenderStopped
from multishot.paradigms.base import Job, Output, Paradigm, Step, finish, has_bridges, option
from multishot.plan.film_plan import ShotSpec
from multishot.plan.prompts import holocine_captions
from multishot.backends.chunks import plan_chunks

MEMORY_SHOTS = 2  # how many of the last shots before a group it remembers (across groups)


@dataclass(frozen=True)
class HolisticOptions:
    """Also read by the transition paradigm, whose cinetrans groups are made by `groups`."""

    stream: bool = option(False, "--stream", "Holistic: generate shots one at a time, each conditioned on the "
                          "previous ones.")
    max_joint_shots: int = option(13, "--max-joint-shots", "Holistic: shots per joint generation before chunking.",
                                  min=1, max=64)


def groups(job: Job, shots: list[ShotSpec] | None = None,
           joins: Callable[[ShotSpec, ShotSpec], bool] | None = None) -> list[list[ShotSpec]]:
    """Consecutive shots with one profile and one scene (and, with `joins`, only across seams
    it accepts), chunked to at most max_joint_shots and the profile's token budget, evenly
    (14 shots → 7 + 7, never 13 + 1: a lone shot would lose the joint context). Streaming:
    every shot alone."""
    shots = job.plan.shots if shots is None else shots
    options = job.options.of(HolisticOptions)
    if options.stream:
        return [[spec] for spec in shots]
    runs: list[list[ShotSpec]] = []
    for spec in shots:
        prev = runs[-1][-1] if runs else None
        if (prev is not None and prev.scene_id == spec.scene_id and prev.profile == spec.profile
                and prev.index == spec.index - 1 and (joins is None or joins(prev, spec))):
            runs[-1].append(spec)
        else:
            runs.append([spec])
    out: list[list[ShotSpec]] = []
    for run_ in runs:
        budget, tokens, per_frame = None, [], 0
        measure = getattr(job.backend(run_[0].profile), "joint_tokens", None)
        if measure is not None:
            budget, tokens, per_frame = measure([s.request() for s in run_])
        reserve = MEMORY_SHOTS * per_frame  # memory: one summary latent frame per remembered shot
        for chunk in plan_chunks(len(run_), max(1, options.max_joint_shots), budget,
                                 tokens or 1, reserve_tokens=reserve):
            out.append([run_[i] for i in chunk])
    return out


def joint_requests(job: Job, backend: Backend, group: list[ShotSpec]) -> list[Any]:
    """The group's requests; for a backend whose joint text mode is HoloCine's, with HoloCine's
    captions (characters described once in the global caption as `[characterN]`, shots naming
    them by tag -- the convention its weights were trained on, plan/prompts.py)."""
    reqs = [s.request() for s in group]
    mode = getattr(backend, "joint_mode", lambda: None)()
    if mode and mode.get("text") == "holocine":
        glob, captions = holocine_captions(job.plan.film, [(s.scene, s.shot) for s in group])
        reqs = [dataclasses.replace(r, global_prompt=glob, shot_prompt=c) for r, c in zip(reqs, captions)]
    return reqs


def render_groups(job: Job, shot_groups: list[list[ShotSpec]], task: Any) -> tuple[list[stages.ShotClip], list[str]]:
    """Generate each group jointly (or take it from the cache), each group after the first
    seeing the memory of the last clips before it. Returns the clips made, in film order, and the
    shots skipped (`--only`, or a group whose memory comes from a skipped group).

    Every group's cache key is known up front (a group names its memory by the keys of the clips
    it remembers, which are content-addressed), so the groups are planned first and then run on
    the executor, one group per worker: a group waits only for the groups its memory is read
    from, which is none when the previous group's backend keeps no memory (no `summarize`: the
    animatic) -- those groups all run at once."""
    engine = job.engine
    planned: list[tuple[list[ShotSpec], Backend, dict[str, Any]]] = []
    #: Per group, the clips it remembers as (group, position in it): the last MEMORY_SHOTS clips
    #: before it, across groups (a one-shot group before it leaves room for one of the group
    #: before that). The key names exactly these clips and the run reads exactly these.
    remembers: list[list[tuple[int, int]]] = []
    keys: list[list[str]] = []  # per group, its clips' keys
    before: list[tuple[int, int]] = []  # every clip planned so far, in film order
    for k, group in enumerate(shot_groups):
        backend = job.backend(group[0].profile)
        keeps = k > 0 and getattr(planned[k - 1][1], "summarize", None) is not None
        memory = before[-MEMORY_SHOTS:] if keeps else []
        origin = {"group": [s.id for s in group], "group_specs": [s.cache_fields() for s in group],
                  "memory": [keys[j][i] for j, i in memory], "stream": job.options.of(HolisticOptions).stream}
        planned.append((group, backend, origin))
        remembers.append(memory)
        keys.append([stages.joint_key(backend, s, origin) for s in group])
        before.extend((k, i) for i in range(len(group)))
    finished = [threading.Event() for _ in planned]
    results: list[Any] = [None] * len(planned)

    def one(k: int) -> list[stages.ShotClip]:
        group, backend, origin = planned[k]
        try:
            done = [stages.cached_clip(engine, backend, spec, origin) for spec in group]
            if all(done):
                made = [c for c in done if c is not None]
            elif engine.dry_run:
                made = [stages.store_clip(engine, backend, spec, [], origin) for spec in group]
            elif not any(engine.allowed(s.id) for s in group):
                raise RenderStopped(f"the group of `{group[0].id}` is not cached and --only excludes it")
            else:
                deps = sorted({j for j, _ in remembers[k]})
                for j in deps:  # started before this one (the executor takes groups in order)
                    finished[j].wait()
                if any(not isinstance(results[j], list) for j in deps):
                    raise RenderStopped(f"the group of `{group[0].id}` remembers a group that was not made")
                remembered = [results[j][i] for j, i in remembers[k]]
                made = stages.render_joint(engine, backend, group, joint_requests(job, backend, group), origin,
                                           memory_backend=planned[k - 1][1] if remembered else None,
                                           memory_clips=remembered)
            results[k] = made
            task.advance(len(group))
            return made
        except BaseException as error:
            results[k] = error
            raise
        finally:
            finished[k].set()

    clips: list[stages.ShotClip] = []
    skipped: list[str] = []
    failure: BaseException | None = None
    for (group, _, _), result in zip(planned, engine.parallel(one, range(len(planned)))):
        if isinstance(result, RenderStopped):
            skipped.extend(s.id for s in group)
        elif isinstance(result, BaseException):
            failure = failure or result
        else:
            clips.extend(result)
    if failure is not None:  # the other groups finished (and are cached) before this is raised
        raise failure
    return clips, skipped


def run(job: Job) -> Output:
    plan = job.plan
    task = job.reporter.task("joint", len(plan.shots))
    clips, skipped = render_groups(job, groups(job), task)
    task.done()
    if skipped or len(clips) < len(plan.shots):
        return Output(clips, None, {"skipped": skipped or [s.id for s in plan.shots[len(clips):]]})

    # Bridges are generated between the joint clips; a match-cut stays a hard cut here (the joint
    # model already sees both shots; the transition paradigm composes match cuts explicitly).
    return finish(job, clips)


PARADIGM = Paradigm(
    name="holistic",
    summary="all shots of a scene in one joint generation (sparse inter-shot attention), chunked with memory",
    stages=(Step("plan", "group: a scene, ≤ --max-joint-shots shots; --stream: one shot"),
            Step(stages.VIDEO.name, "joint generation, split per shot; summary frames → the next group's memory"),
            Step(stages.BRIDGE.name, when=has_bridges), Step(stages.ASSEMBLE.name)),
    needs=frozenset({Capability.JOINT_SHOTS}),
    run=run,
    options=HolisticOptions,
)

__all__ = ["PARADIGM", "RenderStopped", "groups"]
