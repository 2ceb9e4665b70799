"""The director: each scene becomes shots, each shot with a purpose.

Contract: Treatment → Breakdown. A shot intent says why the shot exists (establish the place,
introduce a character, an action, a detail, a reaction, one side of a dialogue…), who is in it,
what happens, and its relative length. Camera language is not decided here (that is the
cinematographer's job); the purpose is what the cinematographer reads.

The rule-based director follows the continuity-editing pattern of a scene: open on the place,
introduce the people, alternate action and reaction (shot / reverse-shot for two characters),
cut in to a detail, close on a wider view. Durations are weights: the assembly fits them to
each scene's seconds, so a director (or a model) never has to do the arithmetic.
"""

from __future__ import annotations

import hashlib
from typing import Literal, get_args

from pydantic import Field

from multishot.plan.agent.base import Contract
from multishot.plan.agent.screenwriter import Brief, SceneBeat, Treatment, names_of
from multishot.shotlist.schema import Film, Id, Scene, Shot

Purpose = Literal["establish", "introduce", "action", "detail", "reaction", "dialogue", "reverse",
                  "two-shot", "reveal", "resolve"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
PURPOSE_INFO: dict[str, str] = {
    "establish": "show the place (and who is there) so the audience is oriented",
    "introduce": "present a character as the scene begins for them",
    "action": "what the character does; the story moves",
    "detail": "an object or gesture that matters (an insert)",
    "reaction": "a face taking in what just happened",
    "dialogue": "one side of a conversation: the speaker",
    "reverse": "the other side of the conversation: the answer",
    "two-shot": "two characters together in one frame: their relation",
    "reveal": "something new comes into view",
    "resolve": "the scene settles; a wider view to leave it",
}
#: Relative screen time by purpose: places and reveals need a moment, inserts read fast.
WEIGHT: dict[str, float] = {"establish": 1.3, "introduce": 1.1, "action": 1.2, "detail": 0.7,
                            "reaction": 0.8, "dialogue": 1.0, "reverse": 1.0, "two-shot": 1.1,
                            "reveal": 1.2, "resolve": 1.2}


class ShotIntent(Contract):
    id: Id
    purpose: Purpose
    characters: list[Id] = Field(default_factory=list)
    action: str = ""
    dialogue: dict[Id, str] = Field(default_factory=dict)
    #: A weight, not seconds: the assembly fits each scene's shots to the scene's duration.
    duration: float = Field(default=1.0, gt=0, le=600)


class SceneShots(Contract):
    scene: Id
    shots: list[ShotIntent] = Field(min_length=1)


class Breakdown(Contract):
    scenes: list[SceneShots] = Field(min_length=1)

    def intents(self) -> list[ShotIntent]:
        return [shot for scene in self.scenes for shot in scene.shots]


def breakdown_problems(b: Breakdown, treatment: Treatment, brief: Brief | None) -> list[str]:
    out = []
    want = [s.id for s in treatment.scenes]
    got = [s.scene for s in b.scenes]
    if got != want:
        out.append(f"scenes: give the treatment's scenes in order, each once: {', '.join(want)} (got {', '.join(got)})")
    ids = [i.id for i in b.intents()]
    for sid in sorted({s for s in ids if ids.count(s) > 1}):
        out.append(f"shots: shot id `{sid}` is used twice (shot ids are unique in the film)")
    for si, scene in enumerate(b.scenes):
        for hi, shot in enumerate(scene.shots):
            for cid in list(shot.characters) + list(shot.dialogue):
                if cid not in treatment.characters:
                    out.append(f"scenes[{si}].shots[{hi}]: unknown character `{cid}`; defined: {', '.join(treatment.characters)}")
    if brief is not None and len(ids) != brief.shots:
        out.append(f"shots: the film must have exactly {brief.shots} shots, not {len(ids)}")
    return out


# -- the rule-based director ---------------------------------------------------------------------

SOLO = ("introduce", "action", "detail", "reaction", "reveal", "action")
DUO = ("dialogue", "reverse", "reaction", "detail", "two-shot", "action", "reveal", "introduce")
LINES_A = ("We can't stay here.", "Did you see it?", "It's time.", "Not tonight.", "You came back.",
           "Listen to me.")
LINES_B = ("Then we go together.", "I saw it.", "I know.", "Why not?", "I always do.", "I'm listening.")
ACTIONS = ("{p} moves with purpose", "{p} pushes on, step by step", "{p} stops, then goes on",
           "{p} reaches out", "{p} turns toward what matters")


def _pick(options: tuple[str, ...], *key: object) -> str:
    digest = hashlib.sha256(":".join(str(k) for k in key).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def a_line(*key: object) -> str:
    """A line of dialogue the rules can put in anyone's mouth (deterministic in `key`)."""
    return _pick(LINES_A + LINES_B, *key)


def purposes(k: int, duo: bool) -> list[str]:
    """The purposes of a k-shot scene: establish first, resolve last (k ≥ 4), the body between."""
    if k == 1:
        return ["establish"]
    if duo and k == 3:
        return ["establish", "dialogue", "reverse"]
    body = list(DUO if duo else SOLO)
    n_body = k - 2 if k >= 4 else k - 1
    middle = [body[i % len(body)] for i in range(n_body)]
    return ["establish"] + middle + (["resolve"] if k >= 4 else [])


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def shot_text(treatment: Treatment, scene: SceneBeat, i: int, purpose: str,
              cast: list[str]) -> tuple[list[str], str, dict[str, str]]:
    """Who is in shot `i` of `scene`, what happens and who says what, for a purpose: the rule
    director's words. Also what stands in for a model's action or line the film cannot use
    (`text_fallback`), so it must work for any purpose and cast a model chose."""
    names = names_of(treatment)
    cast = [c for c in cast if c in treatment.characters]
    duo = len(cast) >= 2
    p = names[cast[0]] if cast else "the place"
    q = names[cast[1]] if duo else p
    place = treatment.locations[scene.location].split(",")[0] if scene.location in treatment.locations else "the place"
    who: list[str] = []
    dialogue: dict[str, str] = {}
    key = (treatment.title, scene.id, i)
    if purpose in ("dialogue", "reverse", "two-shot") and not duo:
        purpose = "action" if cast else "establish"   # a conversation needs two
    if purpose == "establish":
        who = cast
        action = (f"{place}; {scene.beat}" if scene.shots == 1 else
                  f"{place}, {' and '.join(names[c] for c in cast)} in view" if cast else place)
    elif purpose == "introduce":
        who, action = cast[:1], scene.beat
    elif purpose == "action":
        who, action = cast[:1], _pick(ACTIONS, *key).format(p=p)
    elif purpose == "detail":
        action = f"insert: {treatment.prop}" if treatment.prop else f"insert: a detail of {place}"
    elif purpose == "reaction":
        who, action = cast[:1], f"{p} takes it in"
    elif purpose == "dialogue":
        who, action = [cast[0], cast[1]], f"{p} speaks to {q}"
        dialogue = {cast[0]: _pick(LINES_A, *key)}
    elif purpose == "reverse":
        who, action = [cast[1], cast[0]], f"{q} answers {p}"
        dialogue = {cast[1]: _pick(LINES_B, *key)}
    elif purpose == "two-shot":
        who, action = cast[:2], f"{p} and {q} side by side"
    elif purpose == "reveal":
        who, action = cast[:1], f"{p} sees what has changed"
    else:  # resolve
        who = cast
        action = f"{' and '.join(names[c] for c in cast) or place} as the scene settles"
    if i == 1 and purpose not in ("introduce", "action", "reveal"):
        action = f"{scene.beat}; {action}"   # the beat is told in the scene's first shot in
    return who, _sentence(action), dialogue


def break_down(treatment: Treatment) -> Breakdown:
    """The rule-based director (deterministic)."""
    scenes = []
    for scene in treatment.scenes:
        cast = [c for c in scene.characters if c in treatment.characters]
        shots = []
        for i, purpose in enumerate(purposes(scene.shots, len(cast) >= 2)):
            who, action, dialogue = shot_text(treatment, scene, i, purpose, cast)
            shots.append(ShotIntent(id=f"{scene.id[:24]}-{i + 1:02d}-{purpose}", purpose=purpose,  # type: ignore[arg-type]
                                    characters=who, action=action, dialogue=dialogue,
                                    duration=WEIGHT[purpose]))
        scenes.append(SceneShots(scene=scene.id, shots=shots))
    return Breakdown(scenes=scenes)


# -- reading an existing shot list ---------------------------------------------------------------

def infer_purpose(scene: Scene, index: int, shot: Shot, previous: str | None) -> str:
    """What a hand-written shot is for, read from its framing and content."""
    last = index == len(scene.shots) - 1
    if shot.size in ("extreme-wide", "wide"):
        return "establish" if index == 0 else ("resolve" if last else "reveal")
    if shot.dialogue:
        return "reverse" if previous == "dialogue" else "dialogue"
    if shot.size in ("insert", "extreme-close") and not shot.characters:
        return "detail"
    if shot.size in ("close", "extreme-close", "medium-close"):
        return "reaction"
    if shot.size == "full":
        return "introduce"
    if len(shot.characters) >= 2:
        return "two-shot"
    return "action"


def infer_breakdown(film: Film) -> Breakdown:
    """A hand-written shot list as the director's breakdown (durations are the real seconds)."""
    scenes = []
    for scene in film.scenes:
        intents, previous = [], None
        for i, shot in enumerate(scene.shots):
            purpose = infer_purpose(scene, i, shot, previous)
            intents.append(ShotIntent(id=shot.id, purpose=purpose, characters=list(shot.characters),  # type: ignore[arg-type]
                                      action=shot.action, dialogue=dict(shot.dialogue),
                                      duration=shot.duration))
            previous = purpose
        scenes.append(SceneShots(scene=scene.id, shots=intents))
    return Breakdown(scenes=scenes)
