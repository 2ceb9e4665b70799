"""The cinematographer: size, angle, movement, lighting and screen direction for every shot.

Contract: (Treatment, Breakdown) → CameraPlan, one Camera per shot intent. The rule-based
cinematographer follows film grammar:
- size follows purpose: establish wide (the film's first shot extreme-wide), introduce full,
  action medium, dialogue medium-close over the shoulder, reaction close, detail insert;
- no two consecutive shots of the same size and angle on the same subject (no jump cuts);
- the 180-degree rule: each character faces one way for the whole scene, and the two sides of
  a conversation face each other (the first character of the film faces right, the next left…);
- movement motivated by purpose (a dolly-in to introduce, trucking with the action in its screen
  direction, static for dialogue so the cut carries the rhythm);
- lighting from the scene's time and weather, with a key light on faces for close work.

For an existing shot list the plan only fills what the writer left unset (`apply_camera` with
`fill_only`): the writer's camera always wins.
"""

from __future__ import annotations

from typing import Literal

from multishot.plan.agent.base import Contract
from multishot.plan.agent.director import Breakdown
from multishot.plan.agent.screenwriter import Treatment
from multishot.shotlist.schema import Angle, Film, Id, Movement, Size

Direction = Literal["left", "right"]


class Camera(Contract):
    id: Id
    size: Size
    angle: Angle | None = None
    movement: Movement | None = None
    lighting: str | None = None
    screen_direction: Direction | None = None


class CameraPlan(Contract):
    shots: list[Camera]

    def by_id(self) -> dict[str, Camera]:
        return {c.id: c for c in self.shots}


def camera_problems(plan: CameraPlan, breakdown: Breakdown) -> list[str]:
    want = [i.id for i in breakdown.intents()]
    got = [c.id for c in plan.shots]
    out = []
    missing = [i for i in want if i not in got]
    if missing:
        out.append(f"shots: no camera for {', '.join(missing)}; give one entry per shot id")
    unknown = [i for i in got if i not in want]
    if unknown:
        out.append(f"shots: unknown shot ids {', '.join(unknown)}; known: {', '.join(want)}")
    twice = sorted({i for i in got if got.count(i) > 1})
    if twice:
        out.append(f"shots: shot ids given twice: {', '.join(twice)}")
    return out


SIZE_FOR: dict[str, str] = {"establish": "wide", "introduce": "full", "action": "medium",
                            "detail": "insert", "reaction": "close", "dialogue": "medium-close",
                            "reverse": "medium-close", "two-shot": "medium", "reveal": "wide",
                            "resolve": "wide"}
ANGLE_FOR: dict[str, str] = {"establish": "high", "introduce": "eye", "action": "eye", "detail": "high",
                             "reaction": "eye", "dialogue": "over-shoulder", "reverse": "over-shoulder",
                             "two-shot": "eye", "reveal": "low", "resolve": "high"}
MOVEMENT_FOR: dict[str, str] = {"establish": "pan-right", "introduce": "dolly-in", "action": "truck",
                                "detail": "static", "reaction": "dolly-in", "dialogue": "static",
                                "reverse": "static", "two-shot": "static", "reveal": "dolly-out",
                                "resolve": "crane-up"}
LIGHT_BY_TIME: dict[str, str] = {"dawn": "pale dawn light, long soft shadows",
                                 "day": "clear daylight, soft shadows",
                                 "dusk": "warm low sun of dusk, long shadows",
                                 "night": "moonlight and warm practical lamps"}
LIGHT_BY_WEATHER: dict[str, str] = {"rain": "wet reflections", "storm": "flashes of lightning",
                                    "fog": "light diffused by fog", "snow": "bright bounce from the snow",
                                    "wind": "light flickering through moving branches"}
LIGHT_BY_PURPOSE: dict[str, str] = {"reaction": "soft key light on the face",
                                    "dialogue": "soft key light on the face",
                                    "reverse": "soft key light on the face",
                                    "detail": "a pool of light on the detail"}
ALTERNATE_ANGLE = {"eye": "low", "low": "high", "high": "low", "over-shoulder": "eye",
                   "overhead": "high", "dutch": "eye"}


def lighting(time: str | None, weather: str | None, purpose: str) -> str:
    base = LIGHT_BY_TIME.get((time or "").lower(), f"{time} light" if time else "soft natural light")
    extra = [x for x in (LIGHT_BY_WEATHER.get((weather or "").lower()), LIGHT_BY_PURPOSE.get(purpose)) if x]
    return ", ".join([base] + extra)


def _opposite(facing: Direction) -> Direction:
    return "left" if facing == "right" else "right"


def sides(order: list[str], recorded: dict[str, Direction],
          pairs: list[tuple[str, str]] | tuple[()] = ()) -> dict[str, Direction]:
    """Screen direction per character in a scene. Characters in shot / reverse-shot (`pairs`)
    must face opposite ways: the pairs are two-coloured from each recorded direction (first
    recorded wins); anyone unconstrained keeps what is recorded, else faces away from the last
    character assigned (the first one right), so people in a scene face each other."""
    neighbours: dict[str, list[str]] = {c: [] for c in order}
    for a, b in pairs:
        if a != b:
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
    out: dict[str, Direction] = {}
    seeds = [c for c in order if c in recorded] + [c for c in order if c not in recorded]
    last: Direction | None = None
    for seed in seeds:
        if seed in out:
            continue
        start = recorded.get(seed) or ("right" if last is None else _opposite(last))
        queue = [(seed, start)]
        while queue:
            cid, facing = queue.pop(0)
            if cid in out:
                continue
            out[cid] = last = facing
            queue += [(n, _opposite(facing)) for n in neighbours.get(cid, []) if n not in out]
    return out


def frame(treatment: Treatment, breakdown: Breakdown,
          recorded: dict[str, dict[str, Direction]] | None = None) -> CameraPlan:
    """The rule-based cinematographer (deterministic). `recorded`: screen directions already
    fixed per scene (an existing shot list), which the plan keeps."""
    recorded = recorded or {}
    scenes = {s.id: s for s in treatment.scenes}
    film_order = list(treatment.characters)
    cameras: list[Camera] = []
    for si, scene_shots in enumerate(breakdown.scenes):
        scene = scenes.get(scene_shots.scene)
        order = [c for i in scene_shots.shots for c in i.characters]
        order = sorted(dict.fromkeys(order), key=lambda c: film_order.index(c) if c in film_order else len(film_order))
        pairs = [(a.characters[0], b.characters[0]) for a, b in zip(scene_shots.shots, scene_shots.shots[1:])
                 if a.characters and b.characters and a.characters[0] != b.characters[0]
                 and ({a.purpose, b.purpose} & {"dialogue", "reverse"}
                      or (b.characters[0] in a.characters and a.characters[0] in b.characters))]
        facing = sides(order, recorded.get(scene_shots.scene, {}), pairs)
        previous: Camera | None = None
        previous_cast: list[str] = []
        for intent in scene_shots.shots:
            purpose = intent.purpose
            size = "extreme-wide" if (purpose == "establish" and si == 0) else SIZE_FOR[purpose]
            angle = ANGLE_FOR[purpose]
            if angle == "over-shoulder" and len(intent.characters) < 2:
                angle = "eye"  # a shoulder needs a second person in the frame
            same_subject = previous_cast[:1] == intent.characters[:1] and set(previous_cast) == set(intent.characters)
            if previous is not None and previous.size == size and previous.angle == angle and same_subject:
                angle = ALTERNATE_ANGLE.get(angle, "low")
            subject = intent.characters[0] if intent.characters else None
            direction = facing.get(subject) if subject else None
            movement = MOVEMENT_FOR[purpose]
            if movement == "truck":
                movement = "truck-left" if direction == "left" else "truck-right"
            if purpose == "establish" and si == 0:
                movement = "crane-down"
            camera = Camera(id=intent.id, size=size, angle=angle, movement=movement,  # type: ignore[arg-type]
                            lighting=lighting(scene.time if scene else None, scene.weather if scene else None, purpose),
                            screen_direction=direction)
            cameras.append(camera)
            previous, previous_cast = camera, list(intent.characters)
    return CameraPlan(shots=cameras)


def recorded_sides(film: Film) -> dict[str, dict[str, Direction]]:
    """The screen directions a shot list already records, per scene (first one per character)."""
    out: dict[str, dict[str, Direction]] = {}
    for scene in film.scenes:
        mine: dict[str, Direction] = {}
        for shot in scene.shots:
            if shot.characters and shot.screen_direction:
                mine.setdefault(shot.characters[0], shot.screen_direction)
        out[scene.id] = mine
    return out


def apply_camera(film: Film, plan: CameraPlan, *, fill_only: bool) -> Film:
    """The film with the plan's camera language: everything (a new film), or only the fields the
    writer left unset (`fill_only`: size is never changed, since the schema gives it a default)."""
    cams = plan.by_id()
    data = film.model_dump(mode="json")
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            cam = cams.get(shot["id"])
            if cam is None:
                continue
            for key in ("size", "angle", "movement", "lighting", "screen_direction"):
                value = getattr(cam, key)
                if fill_only and (key == "size" or shot.get(key) is not None):
                    continue
                if value is not None:
                    shot[key] = value
    return Film.model_validate(data)
