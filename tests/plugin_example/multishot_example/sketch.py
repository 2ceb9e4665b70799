"""Sketch: every shot by text-to-video, no smoothing, then bridges and assembly — a paradigm
with one option of its own (`--sketch-label`, recorded in the manifest)."""

from __future__ import annotations

from dataclasses import dataclass

from multishot.backends.base import Capability
from multishot.graph import stages
from multishot.paradigms.base import Job, Output, Paradigm, Step, finish, option


@dataclass(frozen=True)
class SketchOptions:
    sketch_label: str = option("untitled", "--sketch-label", "Sketch: a label written into the manifest.")


def run(job: Job) -> Output:
    label = job.options.of(SketchOptions).sketch_label
    job.engine.manifest.event("sketch", label=label)
    clips, skipped = stages.per_shot(job.plan.shots, lambda spec: stages.render_video(
        job.engine, job.backend(spec.profile), spec, mode="text"), job.engine)
    if skipped:
        return Output(clips, None, {"skipped": skipped})
    return finish(job, clips)


PARADIGM = Paradigm(
    name="sketch", summary="every shot by text-to-video, assembled as it comes",
    stages=(Step("plan"), Step(stages.VIDEO.name, "per shot"), Step(stages.ASSEMBLE.name)),
    needs=frozenset({Capability.TEXT_TO_VIDEO}), run=run, options=SketchOptions,
)
