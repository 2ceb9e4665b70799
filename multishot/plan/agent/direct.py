"""Logline → Film: the roles in order (screenwriter → director → cinematographer), the
assembly of their contracts into a shot list, then the critique → revise loop.

The assembly does the arithmetic no role should have to: durations are fitted so the film's
length (shots minus transition overlaps) is exactly the budget, in hundredths of a second, with
every shot long enough for the transitions it takes part in.
"""

from __future__ import annotations

from typing import Any


from multishot.plan.agent.base import validate_film
from multishot.plan.agent.planner import Planner
from multishot.plan.agent.cinematographer import CameraPlan
from multishot.plan.agent.critic import GateOptions
from multishot.plan.agent.director import Breakdown
from multishot.plan.agent.loop import AgentResult, critique, provenance_of
from multishot.plan.agent.screenwriter import Brief, Treatment
from multishot.shotlist.schema import Film
from multishot.shotlist.writer import film_to_yaml  # noqa: F401  (the one writer; re-exported)

#: Scenes join with a dissolve (time passes) when shots average at least this long.
DISSOLVE_FROM_MEAN = 1.5
DISSOLVE = 0.5


def allocate(total: int, weights: list[float], minimum: list[int]) -> list[int]:
    """Split an integer total: each part gets its minimum, the rest goes by weight (largest
    remainder), so the parts always add up to the total exactly."""
    rest = total - sum(minimum)
    if rest < 0:
        raise ValueError("the minimums exceed the total")
    w = [max(x, 1e-9) for x in weights]
    shares = [rest * x / sum(w) for x in w]
    parts = [int(s) for s in shares]
    order = sorted(range(len(w)), key=lambda i: (-(shares[i] - parts[i]), i))
    for i in order[:rest - sum(parts)]:
        parts[i] += 1
    return [m + p for m, p in zip(minimum, parts)]


def assemble(brief: Brief, treatment: Treatment, breakdown: Breakdown,
             camera: CameraPlan) -> tuple[Film | None, list[str]]:
    """The roles' contracts as one shot list, validated like a loaded file."""
    beats = {s.id: s for s in treatment.scenes}
    n = len(breakdown.intents())
    soft = len(breakdown.scenes) > 1 and brief.seconds / n >= DISSOLVE_FROM_MEAN
    min_h = 100 if soft else 25
    boundaries = len(breakdown.scenes) - 1 if soft else 0
    total_h = round(brief.seconds * 100) + round(boundaries * DISSOLVE * 100)
    scene_h = allocate(total_h, [beats[s.scene].duration if s.scene in beats else 1.0 for s in breakdown.scenes],
                       [min_h * len(s.shots) for s in breakdown.scenes])
    cams = camera.by_id()
    scenes: list[dict[str, Any]] = []
    for si, (scene_shots, hundredths) in enumerate(zip(breakdown.scenes, scene_h)):
        beat = beats.get(scene_shots.scene)
        lengths = allocate(hundredths, [i.duration for i in scene_shots.shots], [min_h] * len(scene_shots.shots))
        shots = []
        for intent, h in zip(scene_shots.shots, lengths):
            cam = cams.get(intent.id)
            shot: dict[str, Any] = {"id": intent.id, "duration": h / 100, "action": intent.action,
                                    "characters": list(intent.characters), "dialogue": dict(intent.dialogue)}
            if cam is not None:
                shot.update({k: v for k, v in cam.model_dump(exclude={"id"}).items() if v is not None})
            shots.append(shot)
        if soft and si < len(breakdown.scenes) - 1:
            shots[-1]["transition"] = {"type": "dissolve", "duration": DISSOLVE}
        scenes.append({"id": scene_shots.scene, "location": beat.location if beat else "",
                       "time": beat.time if beat else None, "weather": beat.weather if beat else None,
                       "shots": shots})
    fmt: dict[str, Any] = {k: v for k, v in (("resolution", brief.resolution), ("fps", brief.fps),
                                               ("seed", brief.seed)) if v is not None}
    data = {"multishot": 1, "title": treatment.title, "logline": " ".join(brief.logline.split()),
            "style": treatment.style, "format": fmt,
            "characters": {cid: {"description": d} for cid, d in treatment.characters.items()},
            "locations": {lid: {"description": d} for lid, d in treatment.locations.items()},
            "scenes": scenes}
    return validate_film(data)


def direct(brief: Brief, planner: Planner, *, rounds: int = 3, fallback: Planner | None = None) -> AgentResult:
    """A complete, valid shot list from a logline. `fallback` (the rule planner) takes over any
    step a model planner could not do, so this always returns a film."""
    problems = brief.problems()
    if problems:
        raise ValueError("; ".join(problems))
    gates = GateOptions(budget=brief.seconds)
    transcript = planner.transcript
    transcript.add("screenwriter", "brief", logline=brief.logline, shots=brief.shots, seconds=brief.seconds,
                   characters=dict(brief.characters))
    treatment = planner.screenwriter(brief)
    transcript.add("screenwriter", "treatment", treatment=treatment.model_dump(mode="json"))
    breakdown = planner.director(brief, treatment)
    transcript.add("director", "breakdown", scenes={s.scene: [f"{i.id}: {i.purpose}" for i in s.shots]
                                                    for s in breakdown.scenes})
    camera = planner.cinematographer(treatment, breakdown)
    transcript.add("cinematographer", "camera", shots=[c.model_dump(exclude_none=True) for c in camera.shots])
    film, problems = assemble(brief, treatment, breakdown, camera)
    if film is None:
        if fallback is None:
            raise ValueError("the roles' plan does not make a valid shot list: " + "; ".join(problems))
        transcript.add("critic", "invalid", problems=problems, fallback=fallback.name)
        fallback.transcript = transcript
        t = fallback.screenwriter(brief)
        b = fallback.director(brief, t)
        film, problems = assemble(brief, t, b, fallback.cinematographer(t, b))
        assert film is not None, problems  # the rule roles always assemble (tested)
        recorded = getattr(planner, "provenance", None)
        if isinstance(recorded, dict):  # the model's roles were answered, but not used
            recorded.update(screenwriter="rules", director="rules", cinematographer="rules")
    film, findings, used = critique(film, planner, rounds=rounds, gates=gates, fallback=fallback)
    notes = []
    n = sum(len(s.shots) for s in film.scenes)
    if n != brief.shots:
        notes.append(f"the film has {n} shots, not the {brief.shots} asked for (the critique → revise "
                     f"loop changed the count to fix its findings)")
        transcript.add("critic", "shot-count", asked=brief.shots, got=n)
    return AgentResult(film, findings, used, transcript.entries, planner.usage.to_json(), planner.identity(),
                       provenance_of(planner), notes)


