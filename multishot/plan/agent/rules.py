"""The rule-based planner: film-grammar rules and templates, offline, no model (the default).

The creative roles are the rule functions of screenwriter.py, director.py and
cinematographer.py; this module adds how the planner answers the continuity critic: one fixer
per gate, each the smallest edit a script supervisor would make —
- establishing: insert a wide shot of the location before the scene's first shot;
- character-presence: the shot's action says the character enters;
- description: the wrong colour word becomes the description's colour;
- 180-degree: screen directions are reassigned so each character keeps one side of the line
  and the two sides of a conversation face each other;
- jump-cut: the later shot moves two sizes (cut in, or out when it cannot);
- duration-budget: every shot is scaled to fit (transition overlaps kept shorter than shots).
Fixes never touch character or location descriptions, so prompts stay verbatim.
"""

from __future__ import annotations

import math

from typing import Any, Sequence

from multishot.plan.agent.base import Transcript, Usage, validate_film
from multishot.plan.agent.vocabulary import display_name
from multishot.plan.agent.cinematographer import CameraPlan, Direction, frame, lighting, sides
from multishot.plan.agent.critic import (ESTABLISHING_SIZES, Finding, GateOptions, description_conflicts,
                                         exchanges, film_length, is_exchange)
from multishot.plan.agent.director import Breakdown, break_down
from multishot.plan.agent.screenwriter import Brief, Treatment, write
from multishot.post.vocabulary import is_hard_cut
from multishot.shotlist.schema import SIZES, Film, Shot

Data = dict[str, Any]
MIN_SECONDS = 0.25


class RulePlanner:
    """The default planner: deterministic, offline, free."""

    name = "rules"

    def __init__(self) -> None:
        self.usage = Usage()
        self.transcript = Transcript()

    def identity(self) -> dict[str, Any]:
        return {"planner": "rules"}

    def screenwriter(self, brief: Brief) -> Treatment:
        self.usage.role("screenwriter").calls += 1
        return write(brief)

    def director(self, brief: Brief, treatment: Treatment) -> Breakdown:
        self.usage.role("director").calls += 1
        return break_down(treatment)

    def cinematographer(self, treatment: Treatment, breakdown: Breakdown,
                        recorded: dict[str, dict[str, Direction]] | None = None) -> CameraPlan:
        self.usage.role("cinematographer").calls += 1
        return frame(treatment, breakdown, recorded)

    def revise(self, film: Film, findings: Sequence[Finding], gates: GateOptions) -> Film:
        self.usage.role("revise").calls += 1
        return revise(film, findings, gates)


# -- fixers --------------------------------------------------------------------------------------

def _shots(data: Data) -> list[tuple[Data, Data]]:
    return [(scene, shot) for scene in data["scenes"] for shot in scene["shots"]]


def _find(data: Data, shot_id: str) -> tuple[Data, Data] | None:
    return next(((sc, sh) for sc, sh in _shots(data) if sh["id"] == shot_id), None)


def _unique_id(data: Data, base: str) -> str:
    taken = {sh["id"] for _, sh in _shots(data)}
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def fix_establishing(data: Data, finding: Finding, film: Film) -> None:
    found = _find(data, finding.shot_id)
    if found is None:
        return
    scene, first = found
    if first is not scene["shots"][0] or first["size"] in ESTABLISHING_SIZES:
        return
    flat = _shots(data)
    index = next(i for i, (_, sh) in enumerate(flat) if sh is first)
    incoming = flat[index - 1][1].get("transition") if index > 0 else None
    overlap = 0.0
    if isinstance(incoming, dict) and not is_hard_cut(incoming.get("type")):
        overlap = float(incoming.get("duration", 0.5))
    where = film.locations[scene["location"]].description.split(",")[0]
    cast = list(first.get("characters") or [])
    who = " and ".join(display_name(c) for c in cast)
    scene["shots"].insert(0, {
        "id": _unique_id(data, f"{scene['id'][:40]}-establishing"), "size": "wide", "angle": "high",
        "movement": "pan-right", "duration": max(2.0, round(overlap + 0.5, 2)),
        "action": f"{where}{', ' + who + ' in view' if who else ''}", "characters": cast,
        "lighting": lighting(scene.get("time"), scene.get("weather"), "establish"),
    })


def fix_presence(data: Data, finding: Finding, film: Film) -> None:
    found = _find(data, finding.shot_id)
    if found is None or not finding.subject:
        return
    _, shot = found
    name = display_name(finding.subject)
    action = (shot.get("action") or "").strip()
    shot["action"] = f"{name} enters. {action}".strip() if action else f"{name} enters"


def fix_description(data: Data, finding: Finding, film: Film) -> None:
    found = _find(data, finding.shot_id)
    if found is None:
        return
    _, shot = found
    current = Film.model_validate({**film.model_dump(mode="json"), "scenes": data["scenes"]})
    target = next(sh for _, sh in current.shots() if sh.id == finding.shot_id)
    edits = sorted(description_conflicts(current, target), key=lambda c: -c[3])
    for owner, field, _, start, end, _, canon in edits:
        if owner == finding.subject:
            text = shot.get(field) or ""
            shot[field] = text[:start] + canon + text[end:]


def fix_180(data: Data, finding: Finding, film: Film) -> None:
    """Reassign the scene's screen directions: each character keeps the side they were first
    given (or are given now), partners face each other."""
    found = _find(data, finding.shot_id)
    if found is None:
        return
    scene, _ = found
    recorded: dict[str, Direction] = {}
    order: list[str] = []
    for shot in scene["shots"]:
        cast = shot.get("characters") or []
        order += [c for c in cast if c not in order]
        if cast and shot.get("screen_direction"):
            recorded.setdefault(cast[0], shot["screen_direction"])
    shots = [Shot.model_validate(s) for s in scene["shots"]]
    facing_of = sides(order, recorded, exchanges(shots))
    for i, shot in enumerate(scene["shots"]):
        cast = shot.get("characters") or []
        if cast:
            shot["screen_direction"] = facing_of[cast[0]]
            # Three people talking in turns (an odd cycle of reverse shots) cannot all sit on
            # one line: that shot's direction is left open for a person to stage.
            if i and is_exchange(shots[i - 1], shots[i]) and \
                    scene["shots"][i - 1].get("screen_direction") == shot["screen_direction"]:
                shot["screen_direction"] = None


def fix_jump_cut(data: Data, finding: Finding, film: Film) -> None:
    found = _find(data, finding.shot_id)
    if found is None:
        return
    scene, shot = found
    shots = scene["shots"]
    i = next(k for k, sh in enumerate(shots) if sh is shot)
    neighbours = {shots[k]["size"] for k in (i - 1, i + 1) if 0 <= k < len(shots)}
    at = SIZES.index(shot["size"])
    for step in (2, -2, 3, -3, 1, -1):
        j = at + step
        if 0 <= j < len(SIZES) and SIZES[j] not in neighbours and SIZES[j] != "insert":
            shot["size"] = SIZES[j]
            return


def fix_budget(data: Data, finding: Finding, film: Film, budget: float | None) -> None:
    """Scale every shot so the film's length meets the budget; soft transitions keep an overlap
    shorter than both shots they join (or become cuts when the shots are too short)."""
    if budget is None:
        return
    flat = [sh for _, sh in _shots(data)]
    current = Film.model_validate({**film.model_dump(mode="json"), "scenes": data["scenes"]})
    overlaps = film_length(current) - sum(sh["duration"] for sh in flat)
    total = sum(sh["duration"] for sh in flat)
    target = budget - overlaps
    if total <= 0 or target < MIN_SECONDS * len(flat):
        return
    factor = target / total
    for sh in flat:
        sh["duration"] = max(MIN_SECONDS, round(sh["duration"] * factor, 2))
    fps = film.format.fps
    for a, b in zip(flat, flat[1:]):
        t = a.get("transition")
        if isinstance(t, dict) and not is_hard_cut(t.get("type")):
            limit = min(a["duration"], b["duration"])
            overlap = t.get("duration", 0.5)
            if overlap >= limit or round(overlap * fps) >= max(1, round(limit * fps)):
                if limit > 0.2:
                    t["duration"] = round(limit / 2, 2)
                else:
                    a["transition"] = None
    # A shot between two soft transitions must hold both (in seconds and in frames, as the
    # loader checks): where the rescaled shot no longer does, each gets at most half of it, or
    # a one-frame shot cuts out.
    for before, shot in zip(flat, flat[1:-1]):
        t_in, t_out = _soft(before.get("transition")), _soft(shot.get("transition"))
        if t_in is None or t_out is None:
            continue
        d_in, d_out = t_in.get("duration", 0.5), t_out.get("duration", 0.5)
        frames = max(1, round(shot["duration"] * fps))
        if d_in + d_out <= shot["duration"] and round(d_in * fps) + round(d_out * fps) <= frames:
            continue
        half = math.floor(min(frames // 2 / fps, shot["duration"] / 2) * 100) / 100
        if round(half * fps) < 1:
            shot["transition"] = None
            continue
        t_in["duration"], t_out["duration"] = min(d_in, half), min(d_out, half)


def _soft(transition: object) -> dict | None:
    """The transition when it overlaps the shots it joins (not a cut or a match-cut)."""
    if isinstance(transition, dict) and not is_hard_cut(transition.get("type", "cut")):
        return transition
    return None


FIXERS = {"establishing": fix_establishing, "character-presence": fix_presence,
          "description": fix_description, "180-degree": fix_180, "jump-cut": fix_jump_cut}
#: Structural fixes first (they add shots or change framing), the budget last (it rescales).
ORDER = ("establishing", "character-presence", "description", "180-degree", "jump-cut", "duration-budget")


def revise(film: Film, findings: Sequence[Finding], gates: GateOptions) -> Film:
    """One revision round: apply the fixer of each finding, then validate the result. A fix
    that would make the shot list invalid is dropped (the film stays as it was)."""
    data = film.model_dump(mode="json")
    for rule in ORDER:
        for finding in [f for f in findings if f.rule == rule]:
            try:
                if rule == "duration-budget":
                    fix_budget(data, finding, film, gates.budget)
                else:
                    FIXERS[rule](data, finding, film)
            except ValueError:  # the data no longer validates mid-round: leave this one
                continue
    revised, _ = validate_film(data)
    return revised if revised is not None else film
