"""Prompt composition from the five prompt domains of a shot.

The domains follow VideoGen-of-Thought (arXiv 2412.02259): character dynamics, background
continuity, relationship evolution, camera, lighting. Character and location descriptions are
inserted verbatim wherever they appear, so every shot names a character the same way — the
cheapest consistency mechanism there is, and it works for every model.
"""

from __future__ import annotations

from multishot.shotlist.schema import Film, Scene, Shot

SIZE_WORDS = {
    "extreme-wide": "extreme wide shot", "wide": "wide shot", "full": "full shot",
    "medium": "medium shot", "medium-close": "medium close-up", "close": "close-up",
    "extreme-close": "extreme close-up", "insert": "insert shot",
}
ANGLE_WORDS = {
    "eye": "eye-level", "high": "high angle", "low": "low angle", "overhead": "overhead angle",
    "dutch": "dutch angle", "over-shoulder": "over-the-shoulder",
}
MOVEMENT_WORDS = {
    "static": "static camera", "pan-left": "camera pans left", "pan-right": "camera pans right",
    "tilt-up": "camera tilts up", "tilt-down": "camera tilts down", "dolly-in": "camera dollies in",
    "dolly-out": "camera dollies out", "truck-left": "camera trucks left",
    "truck-right": "camera trucks right", "crane-up": "camera cranes up",
    "crane-down": "camera cranes down", "zoom-in": "slow zoom in", "zoom-out": "slow zoom out",
    "orbit": "camera orbits the subject", "handheld": "handheld camera",
}


def _sentence(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    return text if text[-1] in ".!?" else text + "."


def domains(film: Film, scene: Scene, shot: Shot) -> dict[str, str]:
    """The five domains of one shot, each as a short sentence (empty when the shot says nothing)."""
    people = "; ".join(f"{cid}: {film.characters[cid].description}" for cid in shot.characters
                       if cid in film.characters)
    lines = " ".join(f'{who} says "{text}"' for who, text in shot.dialogue.items())
    character = " ".join(x for x in (_sentence(shot.action), _sentence(people), _sentence(lines)) if x)
    where = film.locations[scene.location].description if scene.location in film.locations else scene.location
    background = _sentence(", ".join(x for x in (where, scene.time and f"at {scene.time}",
                                                   scene.weather and f"{scene.weather}") if x))
    camera = _sentence(", ".join(x for x in (
        SIZE_WORDS.get(shot.size, shot.size),
        ANGLE_WORDS.get(shot.angle or "", ""),
        MOVEMENT_WORDS.get(shot.movement or "", ""),
    ) if x))
    lighting = _sentence(shot.lighting or (f"{scene.time} light" if scene.time else ""))
    return {
        "character": character,
        "background": background,
        "relationship": _sentence(shot.relation),
        "camera": camera,
        "lighting": lighting,
    }


def compose_shot_prompt(film: Film, scene: Scene, shot: Shot) -> str:
    d = domains(film, scene, shot)
    order = ("camera", "character", "relationship", "background", "lighting")
    return " ".join(d[k] for k in order if d[k])


def compose_global_prompt(film: Film) -> str:
    """What every shot shares: the film's style. (Characters are named per shot, verbatim.)"""
    return _sentence(film.style)
