"""Prompt composition from the five prompt domains of a shot.

The domains follow VideoGen-of-Thought (arXiv 2412.02259): character dynamics, background
continuity, relationship evolution, camera, lighting. Character and location descriptions are
inserted verbatim wherever they appear, so every shot names a character the same way — the
cheapest consistency mechanism there is, and it works for every model.
"""

from __future__ import annotations

import re

from typing import Sequence

from multishot.backends.diffusers.holocine_text import compose_holocine_captions
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


def spoken_name(character_id: str) -> str:
    """How captions name a character id in words: `old_keeper` -> `old keeper`."""
    return character_id.replace("_", " ").replace("-", " ")


def domains(film: Film, scene: Scene, shot: Shot, *, describe_people: bool = True) -> dict[str, str]:
    """The five domains of one shot, each as a short sentence (empty when the shot says nothing).

    `describe_people=False` leaves out the per-shot character descriptions and names speakers in
    words, for captions that introduce characters once elsewhere (`holocine_captions`)."""
    if describe_people:
        people = "; ".join(f"{cid}: {film.characters[cid].description}" for cid in shot.characters
                           if cid in film.characters)
    else:  # name who is on screen when the action does not, so a caption tags every one of them
        unnamed = [spoken_name(cid) for cid in shot.characters
                   if not re.search(rf"\b{re.escape(spoken_name(cid))}\b", shot.action or "", re.IGNORECASE)]
        people = "on screen: " + " and ".join(unnamed) if unnamed else ""
    lines = " ".join(f'{who if describe_people else spoken_name(who)} says "{text}"'
                     for who, text in shot.dialogue.items())
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


def holocine_captions(film: Film, shots: Sequence[tuple[Scene, Shot]]) -> tuple[str, list[str]]:
    """(global caption, shot captions) for one HoloCine joint generation of `shots` (arXiv
    2510.20822): each character is described once, in the global caption, as `[characterN] is
    <description>.` (numbered by first appearance), and every caption names them by tag only --
    the convention HoloCine was trained on. The film's style opens the global caption; the
    setting joins it when all shots share one, otherwise each shot keeps its own. Feed the result
    to `holocine_prompt`. Tags a shot list writes itself (`[character1]`) pass through untouched."""
    cast: list[str] = []
    for _, shot in shots:
        for cid in list(shot.characters) + list(shot.dialogue):
            if cid in film.characters and cid not in cast:
                cast.append(cid)
    parts = [domains(film, scene, shot, describe_people=False) for scene, shot in shots]
    settings = {d["background"] for d in parts}
    shared = settings.pop() if len(settings) == 1 else ""
    order = ("camera", "character", "relationship", "background", "lighting")
    shot_texts = [" ".join(d[k] for k in order if d[k] and not (k == "background" and shared)) for d in parts]
    global_text = " ".join(x for x in (_sentence(film.style), shared) if x)
    characters = [(spoken_name(cid), film.characters[cid].description) for cid in cast]
    return compose_holocine_captions(global_text, shot_texts, characters)
