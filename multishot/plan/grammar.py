"""Film grammar: choose transitions (and action pacing) the shot list leaves open.

Rules, in the order they are tried for the seam after each shot whose `transition` is unset:
1. Scene change with a time jump (the scene's `time` differs) → dissolve, or a fade through
   black when night falls or ends: the audience reads elapsed time.
2. Scene change without a time jump → cut: a new place, same moment.
3. Dialogue between two characters (consecutive shots, different speakers) → cut: shot /
   reverse-shot is always cut, never dissolved.
4. Inside a scene → cut (continuity editing: cut on action).
A scene should open wide and move in (wide → medium → close); where it does not, the planner
says so in the reason rather than rewriting the user's camera. Action runs (consecutive shots
whose action reads as action) get shorter toward the climax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from multishot.plan.film_plan import FilmPlan, ShotSpec, TransitionPlan

SIZE_ORDER = ["extreme-wide", "wide", "full", "medium", "medium-close", "close", "extreme-close", "insert"]
ACTION_WORDS = re.compile(r"\b(run|runs|running|race|races|chase|chases|fight|fights|falls?|jumps?|"
                          r"crash|crashes|explodes?|flees?|sprints?|storm|attacks?|leaps?|dives?)\b", re.I)
NIGHT = {"night", "midnight"}


@dataclass(frozen=True)
class GrammarChoice:
    shot_id: str
    transition: TransitionPlan
    duration: float | None = None   # a paced duration for action runs, when it changes
    note: str = ""                  # advice that is not applied (e.g. scene does not open wide)


def _speaker(spec: ShotSpec) -> str | None:
    speakers = list(spec.shot.dialogue)
    return speakers[0] if len(speakers) == 1 else None


def choose_transition(a: ShotSpec, b: ShotSpec) -> TransitionPlan:
    if a.scene_id != b.scene_id:
        ta, tb = (a.scene.time or "").lower(), (b.scene.time or "").lower()
        if ta and tb and ta != tb:
            if ta in NIGHT or tb in NIGHT:
                return TransitionPlan("fade", 1.0, f"time jump {ta} → {tb} across night: fade through black")
            return TransitionPlan("dissolve", 1.0, f"time jump {ta} → {tb}: dissolve")
        return TransitionPlan("cut", 0.0, "new scene, same moment: cut")
    sa, sb = _speaker(a), _speaker(b)
    if sa and sb and sa != sb:
        return TransitionPlan("cut", 0.0, f"dialogue {sa} ↔ {sb}: shot/reverse-shot cut")
    return TransitionPlan("cut", 0.0, "continuity: cut on action")


def _scene_notes(plan: FilmPlan) -> dict[str, str]:
    notes: dict[str, str] = {}
    by_scene: dict[str, list[ShotSpec]] = {}
    for spec in plan.shots:
        by_scene.setdefault(spec.scene_id, []).append(spec)
    for specs in by_scene.values():
        first = specs[0]
        if SIZE_ORDER.index(first.shot.size) > SIZE_ORDER.index("full"):
            notes[first.id] = "a new scene usually opens wide (establishing) and moves in"
        sizes = [SIZE_ORDER.index(s.shot.size) for s in specs]
        if len(sizes) >= 3 and sizes != sorted(sizes) and first.id not in notes:
            notes[first.id] = "wide → medium → close reads best; this scene jumps back out"
    return notes


def _pacing(plan: FilmPlan) -> dict[str, float]:
    """Shorten consecutive action shots toward the climax: the k-th of n keeps
    1 − 0.4·k/(n−1) of its length (never under 1 s)."""
    paced: dict[str, float] = {}
    run: list[ShotSpec] = []

    def flush() -> None:
        if len(run) >= 3:
            for k, spec in enumerate(run):
                factor = 1.0 - 0.4 * k / (len(run) - 1)
                # never under 1 s, and never longer than the shot already is
                new = min(spec.shot.duration, max(1.0, round(spec.shot.duration * factor * spec.fps) / spec.fps))
                if abs(new - spec.shot.duration) > 1e-9:
                    paced[spec.id] = new
        run.clear()

    for spec in plan.shots:
        if ACTION_WORDS.search(spec.shot.action or "") and (not run or run[-1].scene_id == spec.scene_id):
            run.append(spec)
        else:
            flush()
            if ACTION_WORDS.search(spec.shot.action or ""):
                run.append(spec)
    flush()
    return paced


def grammar_choices(plan: FilmPlan) -> list[GrammarChoice]:
    """One choice per shot: the shot list's own transition when set, else the rule's."""
    notes, paced = _scene_notes(plan), _pacing(plan)
    choices = []
    for i, spec in enumerate(plan.shots):
        if i + 1 == len(plan.shots):
            t = TransitionPlan("cut", 0.0, "last shot")
        elif spec.shot.transition is not None:
            t = spec.transition if spec.transition.reason else replace(spec.transition, reason="shot list")
        else:
            t = choose_transition(spec, plan.shots[i + 1])
        choices.append(GrammarChoice(spec.id, t, paced.get(spec.id), notes.get(spec.id, "")))
    return choices


def plan_transitions(plan: FilmPlan) -> dict[str, TransitionPlan]:
    """Transitions by film grammar, each with its reason (what `multishot plan` shows)."""
    return _explained(grammar_choices(plan))


def _explained(choices: list[GrammarChoice]) -> dict[str, TransitionPlan]:
    """Each choice's transition with its whole reason (note and pacing included), by shot id."""
    out = {}
    for choice in choices:
        reason = choice.transition.reason
        if choice.note:
            reason += f"; note: {choice.note}"
        if choice.duration is not None:
            reason += f"; action pacing: {choice.duration:g}s"
        out[choice.shot_id] = replace(choice.transition, reason=reason)
    return out


def apply_grammar(plan: FilmPlan) -> FilmPlan:
    """The plan with grammar transitions and action pacing applied, overlaps kept valid."""
    choices = grammar_choices(plan)
    explained = _explained(choices)
    shots = []
    for spec, choice in zip(plan.shots, choices):
        frames = spec.num_frames if choice.duration is None else max(1, round(choice.duration * spec.fps))
        shots.append(replace(spec, num_frames=frames))
    transitions = [explained[spec.id] for spec in shots]

    def wanted(i: int) -> int:  # frames the transition out of shot i asks for
        t = transitions[i]
        return round(t.duration * shots[i].fps) if i + 1 < len(shots) and not t.is_hard else 0

    result: list[ShotSpec] = []
    for i, spec in enumerate(shots):
        t = transitions[i]
        if t.duration and i + 1 < len(shots):
            # The transitions on both sides of a shot must fit in it (pacing may have shortened
            # it): the transition out of a shot takes only what the one into it left, and leaves
            # the next shot up to half of itself for the transition out of that one. Transitions
            # film grammar adds also leave each shot a frame of its own; the shot list's own ones
            # are kept as the loader accepted them.
            keep = 0 if spec.shot.transition is not None else 1
            taken = result[-1].overlap_frames() if result else 0
            nxt = shots[i + 1].num_frames - keep
            frames = max(0, min(spec.num_frames - 1, shots[i + 1].num_frames - 1,
                                spec.num_frames - taken - keep, nxt - min(wanted(i + 1), nxt // 2)))
            if frames == 0:
                t = TransitionPlan("cut", 0.0, f"{t.reason}; no room for a {t.type}: cut")
            else:
                t = replace(t, duration=min(t.duration, frames / spec.fps))
        result.append(replace(spec, transition=t))
    return replace(plan, shots=tuple(result))
