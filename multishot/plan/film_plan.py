"""From a validated Film to per-shot generation specs: prompts, seeds, frame counts, timing.

Everything downstream (paradigms, stages, backends, assembly) works from a FilmPlan and never
re-reads the shot list, so the rules for prompts, seeds and timing live here once.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

from multishot.backends.base import CharacterInShot, LoraUse, ShotLayout, ShotRequest
from multishot.plan.blocking import ShotBlocking, scene_blocking
from multishot.plan.prompts import compose_global_prompt, compose_shot_prompt
from multishot.shotlist.loader import resolve_path
from multishot.shotlist.names import resolve_profile
from multishot.post.timing import FilmClock, overlap_frames, shot_frames
from multishot.post.vocabulary import is_hard_cut
from multishot.shotlist.schema import Film, LoraRef, Scene, Shot


def stable_seed(film_seed: int, shot_id: str) -> int:
    """A shot's default seed: a function of the film seed and the shot's own id only, so
    inserting or reordering shots never changes another shot's seed."""
    digest = hashlib.sha256(f"multishot-seed:{film_seed}:{shot_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def slugify(title: str) -> str:
    """A folder name from a title: lowercase ASCII, dashes, never empty, never a path.

    Accents are folded (`Ölfeld` → `olfeld`, not `lfeld`); a title with nothing ASCII left
    (`夜の海`) gets `untitled-` and a hash of the title, so two such films never share a folder."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:80].strip("-")
    if slug:
        return slug
    if not title.strip():
        return "untitled"
    return "untitled-" + hashlib.sha256(title.strip().encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class TransitionPlan:
    """The transition out of a shot as the film will render it."""

    type: str = "cut"
    duration: float = 0.0  # seconds of overlap; 0 for hard cuts
    reason: str = ""       # why (film grammar), shown by `multishot plan`

    @property
    def frames(self) -> int:
        return 0

    @property
    def is_hard(self) -> bool:
        return is_hard_cut(self.type)


def lora_use(ref: LoraRef, root: Path) -> LoraUse:
    """A shot list's LoRA entry resolved against the shot list's folder."""
    if ref.path is not None:
        path = resolve_path(ref.path, root)
        try:
            st = path.stat()
            fingerprint = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            fingerprint = "missing"
        return LoraUse(label=ref.path, weight=ref.weight, format=ref.format, fingerprint=fingerprint, path=str(path))
    return LoraUse(label=f"{ref.repo}@{ref.revision}/{ref.filename}", weight=ref.weight, format=ref.format,
                   fingerprint=str(ref.revision), repo=ref.repo, revision=ref.revision, filename=ref.filename)


def shot_loras(film: Film, shot: Shot, root: Path) -> tuple[LoraUse, ...]:
    """The shot's characters' LoRAs (in the order the shot names them), then its own."""
    refs = [film.characters[cid].lora for cid in shot.characters if film.characters[cid].lora is not None]
    return tuple(lora_use(r, root) for r in [*refs, *shot.loras] if r is not None)


@dataclass(frozen=True)
class CharacterRef:
    id: str
    description: str
    reference: Path | None


@dataclass(frozen=True)
class ShotSpec:
    """One shot, fully resolved: what to generate and how it joins the next."""

    id: str
    index: int
    scene_id: str
    scene_index: int
    shot: Shot
    scene: Scene
    location_id: str
    location: str
    characters: tuple[CharacterRef, ...]
    prompt: str
    shot_prompt: str
    global_prompt: str
    negative: str
    seed: int
    num_frames: int
    fps: int
    width: int
    height: int
    profile: str
    transition: TransitionPlan = field(default_factory=TransitionPlan)
    loras: tuple[LoraUse, ...] = ()
    #: Where the camera stands relative to the scene's action line (plan/blocking.py).
    blocking: ShotBlocking = field(default_factory=ShotBlocking)

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def overlap_frames(self) -> int:
        """Frames this shot shares with the next one in the film."""
        return overlap_frames(self.transition.type, self.transition.duration, self.fps)

    def layout(self, zoom: float = 1.0) -> ShotLayout:
        shot, scene = self.shot, self.scene
        return ShotLayout(
            shot_id=self.id, scene_id=self.scene_id, location_id=self.location_id,
            location=self.location, time=scene.time, weather=scene.weather, size=shot.size,
            angle=shot.angle, movement=shot.movement,
            characters=tuple(CharacterInShot(c.id, c.description) for c in self.characters),
            action=shot.action, lighting=shot.lighting, zoom=zoom,
            screen_direction=shot.screen_direction, line=self.blocking.line,
            camera_side=self.blocking.camera_side, dialogue=tuple(shot.dialogue.items()),
        )

    def request(self, *, num_frames: int | None = None, zoom: float = 1.0, seed: int | None = None,
                prompt: str | None = None) -> ShotRequest:
        return ShotRequest(
            prompt=prompt if prompt is not None else self.prompt, negative=self.negative,
            width=self.width, height=self.height,
            num_frames=num_frames if num_frames is not None else self.num_frames, fps=self.fps,
            seed=seed if seed is not None else self.seed, layout=self.layout(zoom),
            shot_prompt=self.shot_prompt, global_prompt=self.global_prompt, loras=self.loras,
        )

    def cache_fields(self) -> dict[str, object]:
        """What determines this shot's own pixels (not its neighbours, not its transition)."""
        return {
            # `loras` enters below, resolved; left out here so films without LoRAs keep their keys.
            "shot": self.shot.model_dump(mode="json", exclude={"transition", "loras"}),
            "scene": {"location": self.location, "time": self.scene.time, "weather": self.scene.weather},
            "characters": [(c.id, c.description, str(c.reference or "")) for c in self.characters],
            "prompt": self.prompt, "negative": self.negative, "seed": self.seed,
            "frames": self.num_frames, "fps": self.fps, "size": [self.width, self.height],
            "profile": self.profile,
            **({"loras": [(lo.label, lo.weight, lo.format, lo.fingerprint) for lo in self.loras]}
               if self.loras else {}),
            # the camera's side of the line depends on the scene's other shots
            "blocking": [[[c.id, c.description] for c in self.blocking.line], self.blocking.camera_side],
        }


@dataclass(frozen=True)
class FilmPlan:
    title: str
    slug: str
    source: Path
    film: Film
    fps: int
    width: int
    height: int
    shots: tuple[ShotSpec, ...]
    default_profile: str

    def shot(self, shot_id: str) -> ShotSpec:
        for spec in self.shots:
            if spec.id == shot_id:
                return spec
        raise KeyError(shot_id)

    def clock(self) -> FilmClock:
        """The film's shots on the frame clock (post/timing.py)."""
        return film_clock(self.shots)

    def start_frames(self) -> list[int]:
        """Film frame at which each shot starts (overlaps subtracted)."""
        return self.clock().starts

    @property
    def total_frames(self) -> int:
        return self.clock().total

    @property
    def duration(self) -> float:
        return self.total_frames / self.fps

    def summary(self) -> dict[str, object]:
        """The plan as plain data: what the manifest records and what metrics compare against."""
        return {
            "title": self.title, "fps": self.fps, "resolution": f"{self.width}x{self.height}",
            "duration_s": self.duration, "frames": self.total_frames, "profile": self.default_profile,
            "shots": [{"id": s.id, "scene": s.scene_id, "seed": s.seed, "frames": s.num_frames,
                       "duration_s": s.duration, "profile": s.profile, "prompt": s.prompt,
                       "size": s.shot.size, "angle": s.shot.angle, "movement": s.shot.movement,
                       "characters": [c.id for c in s.characters], "action": s.shot.action,
                       "dialogue": dict(s.shot.dialogue),
                       "transition": {"type": s.transition.type, "duration": s.transition.duration,
                                      "reason": s.transition.reason}}
                      for s in self.shots],
        }

    def with_transitions(self, transitions: dict[str, TransitionPlan]) -> "FilmPlan":
        shots = tuple(replace(s, transition=transitions.get(s.id, s.transition)) for s in self.shots)
        return replace(self, shots=shots)

    def with_profile(self, profile: str) -> "FilmPlan":
        return replace(self, default_profile=profile,
                       shots=tuple(replace(s, profile=resolve_profile(s.shot.profile, self.source)
                                           if s.shot.profile else profile) for s in self.shots))


def film_clock(specs: Sequence[ShotSpec]) -> FilmClock:
    """The frame clock of these shots, in this order (each shot's own transition into the next)."""
    if not specs:
        return FilmClock(16, ())
    seams = specs[:-1]
    return FilmClock(specs[0].fps, tuple(s.num_frames for s in specs),
                     tuple(s.overlap_frames() for s in seams), tuple(s.transition.type for s in seams))


def build_plan(film: Film, source: Path, *, profile: str | None = None) -> FilmPlan:
    """Resolve every shot of `film`. `profile` (the --profile flag) overrides the film's default;
    a shot's own `profile:` wins over both (stitching may mix models)."""
    # A profile file named in the shot list is found beside the shot list (shotlist/names.py).
    default_profile = profile or (resolve_profile(film.profile, source) if film.profile else "animatic")
    fmt = film.format
    root = Path(source).resolve().parent
    global_prompt = compose_global_prompt(film)
    specs: list[ShotSpec] = []
    flat = film.shots()
    blocking = [b for scene in film.scenes for b in scene_blocking(film, scene)]
    for index, (scene, shot) in enumerate(flat):
        location = film.locations[scene.location].description
        characters = tuple(
            CharacterRef(cid, film.characters[cid].description,
                         resolve_path(film.characters[cid].reference, root) if film.characters[cid].reference else None)
            for cid in shot.characters
        )
        shot_prompt = compose_shot_prompt(film, scene, shot)
        transition = shot.transition
        is_last = index == len(flat) - 1
        if transition is None or is_last:
            t = TransitionPlan("cut", 0.0, "default" if transition is None else "last shot")
        else:
            t = TransitionPlan(transition.type, transition.overlap, "shot list")
        specs.append(ShotSpec(
            id=shot.id, index=index, scene_id=scene.id,
            scene_index=film.scenes.index(scene), shot=shot, scene=scene,
            location_id=scene.location, location=location, characters=characters,
            prompt=f"{shot_prompt} {global_prompt}".strip(), shot_prompt=shot_prompt,
            global_prompt=global_prompt, negative=film.negative or "",
            seed=shot.seed if shot.seed is not None else stable_seed(fmt.seed, shot.id),
            num_frames=shot_frames(shot.duration, fmt.fps), fps=fmt.fps,
            width=fmt.width, height=fmt.height,
            profile=resolve_profile(shot.profile, source) if shot.profile else default_profile,
            transition=t, loras=shot_loras(film, shot, root), blocking=blocking[index],
        ))
    return FilmPlan(title=film.title, slug=slugify(film.title), source=Path(source), film=film,
                    fps=fmt.fps, width=fmt.width, height=fmt.height, shots=tuple(specs),
                    default_profile=default_profile)
