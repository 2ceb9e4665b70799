"""Camera words for the two keyframes of a moving shot.

A shot's prompt says "camera dollies in", which describes motion, not a still. The keyframe
paradigm asks a still model for where the move starts and where it ends, so each keyframe gets
its own camera sentence: the start at the shot's size ("medium shot, the opening frame of a
dolly in"), the end where the move lands ("medium close-up, the closing frame of a dolly in,
tighter framing"). Every backend reads these words; profiles that can also compose the end
keyframe from the start one (graph/scene_keyframes.py). Static and handheld shots keep the
shot's own prompt, so their keyframes (and cache keys) are what they always were.
"""

from __future__ import annotations

from multishot.plan.film_plan import ShotSpec
from multishot.plan.prompts import ANGLE_WORDS, MOVEMENT_WORDS, SIZE_WORDS, _sentence

#: Shot sizes from widest to tightest (the size a move ends on is a step along this list).
SIZE_ORDER = ("extreme-wide", "wide", "full", "medium", "medium-close", "close", "extreme-close")
#: Steps along SIZE_ORDER a move's end is tighter (+) or wider (-) than its start.
SIZE_STEPS = {"dolly-in": 1, "dolly-out": -1, "zoom-in": 2, "zoom-out": -2}
#: What the end of each move looks like, in words a still model reads.
END_WORDS = {
    "dolly-in": "tighter framing, closer to the subject", "dolly-out": "wider framing, farther from the subject",
    "zoom-in": "tighter framing, magnified", "zoom-out": "wider framing, more of the surroundings",
    "pan-left": "the view turned to the left", "pan-right": "the view turned to the right",
    "tilt-up": "the view tilted upward", "tilt-down": "the view tilted downward",
    "truck-left": "the camera moved to the left", "truck-right": "the camera moved to the right",
    "crane-up": "seen from higher up", "crane-down": "seen from lower down",
    "orbit": "the subject seen from another side, the background swept around",
}


def end_size(size: str, movement: str | None) -> str:
    """The shot size a move ends on (an insert or an unknown size keeps its size)."""
    if size not in SIZE_ORDER:
        return size
    i = SIZE_ORDER.index(size) + SIZE_STEPS.get(movement or "", 0)
    return SIZE_ORDER[max(0, min(len(SIZE_ORDER) - 1, i))]


def keyframe_camera(spec: ShotSpec, which: str) -> str | None:
    """The camera sentence of a keyframe still; None when the shot does not move."""
    shot = spec.shot
    move = shot.movement or ""
    if move not in END_WORDS:
        return None
    phrase = move.replace("-", " ")
    size = shot.size if which == "first" else end_size(shot.size, move)
    parts = [SIZE_WORDS.get(size, size), ANGLE_WORDS.get(shot.angle or "", "")]
    parts.append(f"the opening frame of a {phrase}" if which == "first" else f"the closing frame of a {phrase}")
    if which != "first":
        parts.append(END_WORDS[move])
    return _sentence(", ".join(p for p in parts if p))


def keyframe_prompt(spec: ShotSpec, which: str) -> str | None:
    """The shot's prompt with its camera sentence replaced by the keyframe's own; None (the
    shot's prompt as it is) for shots that do not move. A prompt without the composed camera
    sentence (rewritten by the agent) gets the keyframe's sentence in front."""
    camera = keyframe_camera(spec, which)
    if camera is None:
        return None
    original = _camera_sentence(spec)
    if original and original in spec.prompt:
        return spec.prompt.replace(original, camera, 1)
    return f"{camera} {spec.prompt}".strip()


def _camera_sentence(spec: ShotSpec) -> str:
    """The camera sentence prompts.domains composes for this shot (the camera domain reads
    only the shot, so it is rebuilt here without the film)."""
    shot = spec.shot
    return _sentence(", ".join(x for x in (SIZE_WORDS.get(shot.size, shot.size), ANGLE_WORDS.get(shot.angle or "", ""),
                                           MOVEMENT_WORDS.get(shot.movement or "", "")) if x))
