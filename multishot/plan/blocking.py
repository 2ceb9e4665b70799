"""Blocking of a scene: where its characters stand on the action line, and which side of that
line each shot's camera is on.

The 180-degree rule (Bordwell & Thompson, *Film Art*, ch. 6) as `multishot check` applies it
(plan/agent/critic.py, `gate_180`): `screen_direction` is the way a shot's subject faces on
screen; each character keeps one direction for the scene, and a change means the camera crossed
the line. Here the same facts become geometry a previz can draw:

* the **line** exists once the scene stages people together (two in a frame, an
  over-the-shoulder, two speakers, or a recorded direction); it orders the scene's characters from frame left to frame right as seen from the
  master side: a character first recorded facing right stands on the left (they look across the
  frame at the others), one facing left on the right; characters with no recorded direction fill
  the remaining places in order of appearance;
* a shot's **camera side** is +1 (the master's side) when its subject faces the way their place
  on the line implies, -1 when they face the other way (the camera crossed the line); a shot
  without a subject or a direction keeps the previous shot's side.

So a crossing that `multishot check` reports is a camera on the other side of the set in the
animatic: the picture and the check agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from multishot.backends.base import CharacterInShot
from multishot.shotlist.schema import Film, Scene


@dataclass(frozen=True)
class ShotBlocking:
    """One shot's place in its scene's blocking."""

    line: tuple[CharacterInShot, ...] = ()
    camera_side: int = 1


def scene_line(scene: Scene) -> tuple[str, ...]:
    """The scene's characters, frame left to frame right from the master side of the line."""
    order: list[str] = []
    facing: dict[str, str] = {}
    for shot in scene.shots:
        for cid in shot.characters:
            if cid not in order:
                order.append(cid)
        if shot.characters and shot.screen_direction and shot.characters[0] not in facing:
            facing[shot.characters[0]] = shot.screen_direction
    speakers = {shot.characters[0] for shot in scene.shots if shot.characters and shot.dialogue}
    staged = (facing or len(speakers) >= 2 or any(len(shot.characters) >= 2 for shot in scene.shots)
              or any(shot.angle == "over-shoulder" for shot in scene.shots))
    if not staged:  # nobody shares the frame or talks to anyone: there is no line to keep
        return ()
    left = [c for c in order if facing.get(c) == "right"]
    right = [c for c in order if facing.get(c) == "left"]
    free = [c for c in order if c not in facing]
    # Free characters take the places on the side with fewer people first, keeping their order.
    while free:
        if len(left) <= len(right):
            left.append(free.pop(0))
        else:
            right.insert(0, free.pop())
    return tuple(left + right)


def home_facing(line: tuple[str, ...], cid: str) -> str:
    """The screen direction `cid` faces from the master side: toward the middle of the line."""
    i = line.index(cid)
    return "right" if i < len(line) / 2 or len(line) == 1 else "left"


def scene_blocking(film: Film, scene: Scene) -> list[ShotBlocking]:
    """Per shot of `scene`, its line and camera side (see the module docstring)."""
    line = scene_line(scene)
    cast = tuple(CharacterInShot(c, film.characters[c].description) for c in line if c in film.characters)
    side = 1
    out: list[ShotBlocking] = []
    for shot in scene.shots:
        if shot.characters and shot.screen_direction and shot.characters[0] in line:
            side = 1 if shot.screen_direction == home_facing(line, shot.characters[0]) else -1
        out.append(ShotBlocking(cast, side))
    return out


__all__ = ["ShotBlocking", "home_facing", "scene_blocking", "scene_line"]
