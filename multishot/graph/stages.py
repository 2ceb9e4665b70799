"""The stages every paradigm is built from. Each is a function of typed inputs that returns a
cached Artifact; the inputs that enter its key are spelled out next to the call, so what
invalidates what can be read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from multishot.backends.base import Backend, Capability, Frame, ShotRequest, reads_references
from multishot.graph.engine import Artifact, Engine, RenderStopped, Stage, artifact_key
from multishot.graph.executors.base import call
from multishot.plan.film_plan import FilmPlan, ShotSpec, film_clock
from multishot.post.assemble import Clip, Seam, assemble
from multishot.post.ffmpeg import VideoWriter, read_frames, read_video
from multishot.post.smoothing import ColourMatch, fit_colour_match
from multishot.post.audio import Overflow, Spoken, mix, mux, place, write_wav
from multishot.post.subtitles import Cue, ShotLines, SubtitleBurner, plan_cues, to_srt, to_vtt, write_atomic
from multishot.post.render_folder import FILM, SUBTITLES_SRT, SUBTITLES_VTT, character_name, keyframe_name, shot_name
from multishot.post.vocabulary import needs_generation

#: Intermediate encoding for cached shot clips: fast to write and to decode, visually lossless.
#: The film itself is encoded once, with the final settings (ffmpeg.H264_ARGS).
CLIP_ARGS: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
                              "-pix_fmt", "yuv420p", "-fflags", "+bitexact", "-flags:v", "+bitexact",
                              "-map_metadata", "-1")

VIDEO = Stage("video", 1, "", "generate one shot's clip (text-to-video, image-to-video or first-last infill)")
KEYFRAME = Stage("keyframe", 3, ".png", "one still: a shot's first or last keyframe")
IDENTITY = Stage("identity", 1, ".png", "a character's identity image for the character bank")
SMOOTH = Stage("smooth", 2, ".json", "colour-match the incoming shot of a seam to the outgoing one")
BRIDGE = Stage("bridge", 1, ".mp4", "a generated in-between segment across a seam")
ASSEMBLE = Stage("assemble", 1, ".mp4", "stream all clips and transitions into film.mp4")
SUBTITLE = Stage("subtitle", 1, ".mp4", "film.mp4 with its dialogue: subtitle track (or burnt in) and voice")
VOICE = Stage("voice", 1, ".npz", "the dialogue spoken by each character's scratch voice (eSpeak NG)")
SHOT_SOUND = Stage("shot-sound", 1, ".mp4", "a shot's clip with its slice of the dialogue track")


@dataclass(frozen=True)
class ShotClip:
    """A rendered shot: the clip and its first and last frames (for keyframes and seams)."""

    spec: ShotSpec
    artifact: Artifact

    @property
    def video(self) -> Path:
        return self.artifact.path / "clip.mp4"

    @property
    def first_png(self) -> Path:
        return self.artifact.path / "first.png"

    @property
    def last_png(self) -> Path:
        return self.artifact.path / "last.png"

    def first_frame(self) -> Frame:
        return load_png(self.first_png)

    def last_frame(self) -> Frame:
        return load_png(self.last_png)


def load_png(path: Path) -> Frame:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def save_png(frame: Frame, path: Path) -> None:
    Image.fromarray(frame).save(path, format="PNG", compress_level=1)


def _write_clip(tmp: Path, frames: Iterable[Frame], spec: ShotSpec, extra: dict[str, Any] | None,
                on_frame: Callable[[], None] | None) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    first: Frame | None = None
    last: Frame | None = None
    with VideoWriter(tmp / "clip.mp4", spec.width, spec.height, spec.fps, CLIP_ARGS) as writer:
        for frame in frames:
            if writer.frames >= spec.num_frames:
                break
            if first is None:
                first = frame
            last = frame
            writer.write(frame)
            if on_frame:
                on_frame()
    if writer.frames != spec.num_frames or first is None or last is None:
        raise RuntimeError(f"backend produced {writer.frames} frames for `{spec.id}`, expected {spec.num_frames}")
    save_png(first, tmp / "first.png")
    save_png(last, tmp / "last.png")
    if extra:
        (tmp / "info.json").write_text(json.dumps(extra, default=str))
    return {"frames": writer.frames}


def render_video(engine: Engine, backend: Backend, spec: ShotSpec, *, mode: str = "text",
                 first: Artifact | None = None, last: Artifact | None = None,
                 references: dict[str, Artifact] | None = None, prompt: str | None = None,
                 on_frame: Callable[[], None] | None = None) -> ShotClip:
    """One shot's clip. `mode`: text (text-to-video), image (from `first`), first_last (infill
    between `first` and `last` keyframes). Conditioning artifacts enter the key by their keys."""
    refs = references or {}
    inputs = {"spec": spec.cache_fields(), "backend": backend.identity(), "mode": mode,
              "first": first.key if first else None, "last": last.key if last else None,
              "references": {k: a.key for k, a in sorted(refs.items())}, "prompt": prompt}

    work = call(make_video, backend=backend, spec=spec, mode=mode, first=first, last=last,
                references=refs, prompt=prompt, on_frame=on_frame)
    return ShotClip(spec, engine.run(VIDEO, spec.id, inputs, work=work, seed=spec.seed, shots=(spec.id,)))


def make_video(tmp: Path, backend: Backend, spec: ShotSpec, mode: str, first: Artifact | None,
               last: Artifact | None, references: dict[str, Artifact], prompt: str | None,
               on_frame: Callable[[], None] | None = None) -> dict[str, Any]:
    """The work of render_video, as a module-level function so a worker can run it."""
    refs = references
    req = _with_references(spec.request(prompt=prompt), refs)
    if mode == "text":
        frames = backend.text_to_video(req)
    elif mode == "image":
        assert first is not None
        frames = backend.image_to_video(req, load_png(first.path))
    elif mode == "first_last":
        assert first is not None and last is not None
        frames = backend.first_last_to_video(req, load_png(first.path), load_png(last.path))
    else:
        raise ValueError(f"unknown video mode {mode}")
    extra = _boxes(backend, req)
    return _write_clip(tmp, frames, spec, extra, on_frame)


def joint_inputs(backend: Backend, spec: ShotSpec, origin: dict[str, Any]) -> dict[str, Any]:
    """What enters the key of a shot's clip made by a joint generation (`origin`: the group)."""
    return {"spec": spec.cache_fields(), "backend": backend.identity(), "mode": "joint", **origin}


def joint_key(backend: Backend, spec: ShotSpec, origin: dict[str, Any]) -> str:
    """The key `store_clip` / `render_joint` give this shot's clip, known before it is made (a
    later group's key names its memory by these keys, so groups can be planned up front)."""
    return artifact_key(VIDEO.name, VIDEO.version, joint_inputs(backend, spec, origin))


def store_clip(engine: Engine, backend: Backend, spec: ShotSpec, frames: Sequence[Frame],
               origin: dict[str, Any], *, allow: bool = False) -> ShotClip:
    """Cache frames made elsewhere (a joint generation) as this shot's clip."""
    inputs = joint_inputs(backend, spec, origin)
    return ShotClip(spec, engine.run(VIDEO, spec.id, inputs,
                                     lambda tmp: _write_clip(tmp, frames, spec, _boxes(backend, spec.request()), None),
                                     seed=spec.seed, shots=(spec.id,), allow=allow))


def cached_clip(engine: Engine, backend: Backend, spec: ShotSpec, origin: dict[str, Any]) -> ShotClip | None:
    """The clip `store_clip` would return, if it is already cached (lets joint generation skip
    groups whose shots are all done)."""
    inputs = joint_inputs(backend, spec, origin)
    if engine.cached(VIDEO, spec.id, inputs):  # present, verified and not forced
        return ShotClip(spec, engine.run(VIDEO, spec.id, inputs, lambda tmp: None, seed=spec.seed))
    return None


def render_joint(engine: Engine, backend: Backend, specs: Sequence[ShotSpec], reqs: Sequence[ShotRequest],
                 origin: dict[str, Any], *, memory_backend: Backend | None = None,
                 memory_clips: Sequence[ShotClip] = ()) -> list[ShotClip]:
    """One joint generation of a group (holistic, CineTrans), run on the engine's executor so a
    group occupies one worker: the worker rebuilds the memory from the cached clips it names
    (`memory_backend.summarize`, as an uninterrupted render would), generates every shot at
    once and writes each shot's clip; the engine files them as ordinary video artifacts.

    `origin["memory"]` (part of every clip's key) must name exactly the clips the memory is read
    from, by their keys: a key that named other clips could hand out a clip made from other
    memory, or miss one for nothing."""
    named = list(origin.get("memory") or [])
    if named != [c.artifact.key for c in memory_clips]:
        raise RuntimeError(f"the key of {', '.join(s.id for s in specs)} names memory {named}, but the memory is read "
                           f"from {[c.artifact.key for c in memory_clips]} ({', '.join(c.spec.id for c in memory_clips)})")
    work = call(make_joint, backend=backend, specs=list(specs), reqs=list(reqs),
                memory_backend=memory_backend if memory_clips else None, memory_clips=list(memory_clips))
    items = [(spec.id, joint_inputs(backend, spec, origin), spec.seed) for spec in specs]
    label = "joint video of " + ", ".join(f"`{s.id}`" for s in specs)
    return [ShotClip(spec, a) for spec, a in zip(specs, engine.run_many(VIDEO, items, work, label=label))]


def make_joint(tmp: Path, backend: Backend, specs: list[ShotSpec], reqs: list[ShotRequest],
               memory_backend: Backend | None, memory_clips: list[ShotClip]) -> list[dict[str, Any]]:
    """The work of render_joint, as a module-level function so a worker can run it: entry i of
    the folder `tmp` is shot i's clip folder."""
    memory = None
    if memory_clips and memory_backend is not None and hasattr(memory_backend, "summarize"):
        memory = memory_backend.summarize([c.spec.request() for c in memory_clips],
                                          [list(read_video(c.video)) for c in memory_clips])
    frames = backend.joint_shots(reqs, memory=memory)
    tmp.mkdir(parents=True, exist_ok=True)
    infos = [_write_clip(tmp / str(i), f, spec, _boxes(backend, spec.request()), None)
             for i, (spec, f) in enumerate(zip(specs, frames, strict=True))]
    if memory is not None:  # the build log says which clips the generation remembered
        for info in infos:
            info["memory"] = [c.spec.id for c in memory_clips]
    return infos


def _with_references(req: ShotRequest, refs: dict[str, Artifact]) -> ShotRequest:
    if not refs:
        return req
    from dataclasses import replace

    return replace(req, references={cid: load_png(a.path) for cid, a in refs.items()})


def _boxes(backend: Backend, req: ShotRequest) -> dict[str, Any] | None:
    """Where characters are, per frame, when the backend can say (the animatic can)."""
    boxes = getattr(backend, "character_boxes", None)
    if boxes is None:
        return None
    try:
        return {"boxes": boxes(req)}
    except Exception:  # an optional report; never fail a render over it
        return None


def render_keyframe(engine: Engine, backend: Backend, spec: ShotSpec, which: str, *, zoom: float,
                    references: dict[str, Artifact] | None = None, prompt: str | None = None,
                    anchor: Artifact | None = None, allow: bool = False) -> Artifact:
    """A still for the start or end of a shot, framed by `zoom` (a dolly-in ends tighter).
    `anchor` (match-cut) is an image the keyframe is composed on. `allow`: made even where
    --only excludes the shot, because a shot it names needs it (a match-cut's anchor)."""
    refs = references or {}
    seed = spec.seed + (0 if which == "first" else 1)
    inputs = {"spec": spec.cache_fields(), "backend": backend.identity(), "which": which,
              "zoom": round(zoom, 4), "references": {k: a.key for k, a in sorted(refs.items())},
              "prompt": prompt, "anchor": anchor.key if anchor else None}

    work = call(make_keyframe, backend=backend, spec=spec, zoom=zoom, seed=seed, references=refs,
                prompt=prompt, anchor=anchor)
    return engine.run(KEYFRAME, f"{spec.id}:{which}", inputs, work=work, seed=seed, shots=(spec.id,), allow=allow)


def make_keyframe(tmp: Path, backend: Backend, spec: ShotSpec, zoom: float, seed: int,
                  references: dict[str, Artifact], prompt: str | None, anchor: Artifact | None) -> None:
    """The work of render_keyframe, as a module-level function so a worker can run it."""
    refs = references
    req = _with_references(spec.request(num_frames=1, zoom=zoom, seed=seed, prompt=prompt), refs)
    lead = refs.get(spec.characters[0].id) if spec.characters and refs else None
    native = reads_references(backend, Capability.TEXT_TO_IMAGE)  # IP-Adapter: every character
    if anchor is None and lead is not None and not native and Capability.IMAGE_TO_VIDEO in backend.capabilities:
        # Character bank → keyframe: grow the keyframe out of the lead character's identity
        # image by image-to-video under the keyframe's prompt and take the last frame. The
        # video model's temporal consistency carries the identity into the new framing; the
        # image is also in req.references for backends with native image conditioning.
        from dataclasses import replace

        still = replace(req, num_frames=17, layout=replace(req.layout, movement=None))  # a still, not the move
        frames = list(backend.image_to_video(still, load_png(lead.path)))
        save_png(frames[-1], tmp)
        return
    if anchor is not None:
        # Match cut: the keyframe is the first step of an image-to-video move away from the
        # outgoing frame under the incoming shot's prompt, so it keeps that frame's
        # composition while taking on the new content (an SDEdit-like transfer).
        frames = list(backend.image_to_video(_replace_frames(req, 9), load_png(anchor.path)))
        image = frames[1]
    else:
        image = backend.text_to_image(req)
    save_png(image, tmp)


def _replace_frames(req: ShotRequest, n: int) -> ShotRequest:
    from dataclasses import replace

    return replace(req, num_frames=n)


def render_identity(engine: Engine, backend: Backend, plan: FilmPlan, character_id: str, *,
                    allow: bool = False) -> Artifact:
    """The character bank's identity image: the given reference, or one generated once from the
    description with a fixed seed and reused by every keyframe that shows the character.
    `allow`: a shot --only names shows the character, so it may be made."""
    character = plan.film.characters[character_id]
    ref = None
    for spec in plan.shots:
        for c in spec.characters:
            if c.id == character_id:
                ref = c.reference
    digest = None
    if ref is not None:
        import hashlib

        digest = hashlib.sha256(Path(ref).read_bytes()).hexdigest()
    inputs = {"character": character_id, "description": character.description, "reference": digest,
              "backend": None if digest else backend.identity(), "style": plan.film.style}

    work = call(make_identity, backend=backend, plan=plan, character_id=character_id, reference=ref)
    return engine.run(IDENTITY, character_id, inputs, work=work, allow=allow)


def make_identity(tmp: Path, backend: Backend, plan: FilmPlan, character_id: str, reference: Any) -> None:
    """The work of render_identity, as a module-level function so a worker can run it."""
    ref = reference
    character = plan.film.characters[character_id]
    if ref is not None:
        with Image.open(ref) as img:
            img.convert("RGB").save(tmp, format="PNG")
        return
    spec = next(s for s in plan.shots if any(c.id == character_id for c in s.characters))
    from dataclasses import replace

    from multishot.backends.base import CharacterInShot

    layout = replace(spec.layout(), size="medium", angle="eye", movement=None,
                     characters=(CharacterInShot(character_id, character.description),),
                     action=f"identity: {character_id}", shot_id=f"id-{character_id}")
    req = ShotRequest(
        prompt=f"portrait, medium shot, {character.description}, neutral background. {plan.film.style or ''}",
        negative=plan.film.negative or "", width=plan.width, height=plan.height, num_frames=1,
        fps=plan.fps, seed=1000 + (hash_id(character_id) % 10_000), layout=layout)
    save_png(backend.text_to_image(req), tmp)


def hash_id(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def smooth_seam(engine: Engine, outgoing: ShotClip, incoming: ShotClip, *, seconds: float = 1.0,
                strength: float = 1.0) -> Artifact:
    """Colour statistics for one seam (the correction is applied while assembling)."""
    fps = incoming.spec.fps
    inputs = {"out": outgoing.artifact.key, "in": incoming.artifact.key, "seconds": seconds, "strength": strength}

    def make(tmp: Path) -> dict[str, Any]:
        # The boundary frames themselves, kept as PNGs beside each clip: no decoding needed.
        match = fit_colour_match([outgoing.last_frame()], [incoming.first_frame()],
                                 frames=max(1, round(seconds * fps)), strength=strength)
        tmp.write_text(json.dumps(match.to_json()))
        return {"frames": match.frames}

    return engine.run(SMOOTH, f"{outgoing.spec.id}>{incoming.spec.id}", inputs, make,
                      shots=(outgoing.spec.id, incoming.spec.id))


def render_bridge(engine: Engine, backend: Backend, outgoing: ShotClip, incoming: ShotClip) -> Artifact:
    """A generated segment for a `bridge` transition: first-last-frame video from the frame where
    the outgoing shot's overlap begins to the frame where the incoming shot's overlap ends."""
    spec = outgoing.spec
    n = spec.overlap_frames()
    inputs = {"out": outgoing.artifact.key, "in": incoming.artifact.key, "frames": n,
              "backend": backend.identity()}

    work = call(make_bridge, backend=backend, outgoing=outgoing, incoming=incoming)
    return engine.run(BRIDGE, f"{spec.id}>{incoming.spec.id}", inputs, work=work,
                      shots=(spec.id, incoming.spec.id))


def make_bridge(tmp: Path, backend: Backend, outgoing: ShotClip, incoming: ShotClip) -> dict[str, Any]:
    """The work of render_bridge, as a module-level function so a worker can run it."""
    spec = outgoing.spec
    n = spec.overlap_frames()
    start = next(read_frames(outgoing.video, start_frame=spec.num_frames - n, count=1))
    end = next(read_frames(incoming.video, start_frame=n - 1, count=1))
    from dataclasses import replace

    req = replace(spec.request(num_frames=n, seed=spec.seed + 7,
                               prompt=f"{spec.shot_prompt} then {incoming.spec.shot_prompt} {spec.global_prompt}"))
    frames = list(backend.first_last_to_video(req, start, end))[:n]
    with VideoWriter(tmp, spec.width, spec.height, spec.fps, CLIP_ARGS) as writer:
        writer.write_all(frames)
    return {"frames": len(frames)}


def assemble_film(engine: Engine, plan: FilmPlan, clips: list[ShotClip], *,
                  smoothing: dict[int, Artifact] | None = None, bridges: dict[int, Artifact] | None = None,
                  blend_cuts: int = 0, on_frame: Callable[[int], None] | None = None) -> Artifact:
    """film.mp4 from the clips: `smoothing[i]`/`bridges[i]` belong to the seam after clip i."""
    smoothing, bridges = smoothing or {}, bridges or {}
    seams: list[dict[str, Any]] = []
    for i, clip in enumerate(clips[:-1]):
        t = clip.spec.transition
        soft = blend_cuts if (t.type == "cut" and clip.spec.scene_id == clips[i + 1].spec.scene_id) else 0
        if soft:
            # A short shot lends at most half of what its other seam's overlap leaves to a blend,
            # so the blends and overlaps on both sides of it always fit inside it.
            nxt = clips[i + 1].spec
            taken_in = clips[i - 1].spec.overlap_frames() if i else 0
            taken_out = nxt.overlap_frames() if i + 2 < len(clips) else 0
            soft = min(soft, (clip.spec.num_frames - taken_in) // 2, (nxt.num_frames - taken_out) // 2)
        seams.append({"kind": t.type, "overlap": clip.spec.overlap_frames(), "blend": soft,
                      "smooth": smoothing[i].key if i in smoothing else None,
                      "bridge": bridges[i].key if i in bridges else None})
    inputs = {"clips": [c.artifact.key for c in clips], "seams": seams, "fps": plan.fps,
              "size": [plan.width, plan.height]}

    def make(tmp: Path) -> dict[str, Any]:
        film_clips, film_seams = [], []
        for i, clip in enumerate(clips):
            colour = None
            if i - 1 in smoothing:
                colour = ColourMatch.from_json(json.loads(smoothing[i - 1].path.read_text()))
            film_clips.append(Clip(clip.video, clip.spec.num_frames, colour))
        for i, seam in enumerate(seams):
            bridge = tuple(read_video(bridges[i].path)) if i in bridges else ()
            film_seams.append(Seam(seam["kind"], seam["overlap"], seam["blend"], bridge))
        frames = assemble(film_clips, film_seams, tmp, width=plan.width, height=plan.height,
                          fps=plan.fps, on_frame=on_frame)
        return {"frames": frames}

    return engine.run(ASSEMBLE, "film", inputs, make, shots=tuple(c.spec.id for c in clips))


def film_cues(specs: Sequence[ShotSpec]) -> list[Cue]:
    """The film's subtitle cues: every shot's `dialogue:` lines, timed inside the shot at its
    place in the film (overlaps of transitions subtracted, as assembly lays the shots)."""
    shots = [ShotLines(spec.id, start, spec.num_frames, tuple(spec.shot.dialogue.items()))
             for spec, start in zip(specs, film_clock(specs).starts)]
    fps = specs[0].fps if specs else 16
    names = {cid: _display(cid) for spec in specs for cid in spec.shot.dialogue}
    return plan_cues(shots, fps, names)


def speaker_description(plan: FilmPlan, cid: str) -> str:
    """The description of the character `cid` (its voice follows it); "" for an unknown id."""
    c = plan.film.characters.get(cid)
    return c.description if c is not None else ""


def voice_lines(engine: Engine, plan: FilmPlan, cues: Sequence[Cue]) -> Artifact:
    """Every cue spoken, in film order, as one cached artifact (npz: `rate`, `line0`…)."""
    from multishot.backends import speech

    ids = [c.speaker_id or c.speaker for c in cues]
    voices = [speech.voice_for(cid, speaker_description(plan, cid)) for cid in ids]
    inputs = {"engine": speech.engine_identity(),
              "lines": [[c.text, v.name, v.pitch, v.rate] for c, v in zip(cues, voices)]}

    def make(tmp: Path) -> dict[str, Any]:
        rate, pcm = speech.synthesize_all([(c.text, v) for c, v in zip(cues, voices)])
        with open(tmp, "wb") as fh:
            np.savez(fh, rate=np.array(rate), **{f"line{i}": x for i, x in enumerate(pcm)})
        return {"lines": len(pcm), "seconds": round(sum(len(x) for x in pcm) / rate, 3)}

    return engine.run(VOICE, "dialogue", inputs, make, shots=tuple(sorted({c.shot_id for c in cues})))


def _display(cid: str) -> str:
    return cid.replace("_", " ").replace("-", " ").title()


def load_voice(artifact: Artifact) -> tuple[int, list[np.ndarray]]:
    with np.load(artifact.path) as data:
        n = sum(1 for k in data.files if k.startswith("line"))
        return int(data["rate"]), [data[f"line{i}"] for i in range(n)]


def spoken_lines(specs: Sequence[ShotSpec], voice: Artifact) -> tuple[list[Spoken], list[Overflow], int]:
    """The film's lines placed in time, and the shots whose lines do not fit."""
    rate, pcm = load_voice(voice)
    return place_lines(specs, rate, pcm)


def place_lines(specs: Sequence[ShotSpec], rate: int, pcm: Sequence[np.ndarray]) -> tuple[list[Spoken], list[Overflow], int]:
    """`spoken_lines` for samples already in hand (one array per cue, in film order)."""
    cues = film_cues(specs)
    ends = {spec.id: end / spec.fps for spec, end in zip(specs, film_clock(specs).ends)}
    spoken, over = place(cues, pcm, rate, ends)
    return spoken, over, rate


def finish_film(engine: Engine, clips: Sequence[ShotClip], film: Artifact, *,
                burn: bool = False, voice: Artifact | None = None) -> Artifact:
    """film.mp4 with its dialogue: a mov_text subtitle track (or, with `burn`, the text drawn into
    the frames) and, given `voice`, the scratch dialogue track as AAC. The picture is copied,
    not re-encoded, unless burning. No dialogue: `film` as is."""
    cues = film_cues([c.spec for c in clips])
    if not cues:
        return film
    spec = clips[0].spec
    inputs = {"film": film.key, "cues": [c.to_json() for c in cues], "burn": burn,
              "voice": voice.key if voice is not None else None}

    def make(tmp: Path) -> dict[str, Any]:
        picture = film.path
        work = tmp.with_name(tmp.name + ".burnt.mp4")
        if burn:
            draw = SubtitleBurner(cues, spec.fps, spec.width, spec.height)
            with VideoWriter(work, spec.width, spec.height, spec.fps) as writer:
                for i, frame in enumerate(read_frames(film.path)):
                    writer.write(draw(i, frame))
            picture = work
        srt = tmp.with_name(tmp.name + ".srt")
        wav = tmp.with_name(tmp.name + ".wav")
        try:
            if not burn:
                write_atomic(srt, to_srt(cues))
            if voice is not None:
                spoken, _, rate = spoken_lines([c.spec for c in clips], voice)
                total = film_clock([c.spec for c in clips]).total
                write_wav(wav, mix(spoken, rate, total / spec.fps), rate)
            mux(picture, tmp, wav=wav if voice is not None else None, srt=None if burn else srt)
        finally:
            for f in (srt, wav, work):
                f.unlink(missing_ok=True)
        return {"cues": len(cues), "burnt": burn, "audio": voice is not None}

    return engine.run(SUBTITLE, "film", inputs, make, shots=tuple(c.spec.id for c in clips))


def shot_with_sound(engine: Engine, clips: Sequence[ShotClip], voice: Artifact) -> dict[str, Artifact]:
    """shots/<id>.mp4 with AAC for every shot that has dialogue: the film's dialogue track cut
    to the shot's own frames (a shot in a transition hears its neighbour's overlapping line)."""
    spoken, _, rate = spoken_lines([c.spec for c in clips], voice)
    timing = [c.to_json() for c in film_cues([c.spec for c in clips])]
    out: dict[str, Artifact] = {}
    for clip, start in zip(clips, film_clock([c.spec for c in clips]).starts):
        spec = clip.spec
        t0 = start / spec.fps
        if not spec.shot.dialogue:
            continue
        inputs = {"clip": clip.artifact.key, "voice": voice.key, "from": round(t0, 6), "cues": timing}

        def make(tmp: Path, clip: ShotClip = clip, t0: float = t0) -> dict[str, Any]:
            wav = tmp.with_name(tmp.name + ".wav")
            try:
                write_wav(wav, mix(spoken, rate, clip.spec.num_frames / clip.spec.fps, offset=t0), rate)
                mux(clip.video, tmp, wav=wav)
            finally:
                wav.unlink(missing_ok=True)
            return {"audio": True}

        out[spec.id] = engine.run(SHOT_SOUND, spec.id, inputs, make, shots=(spec.id,))
    return out


def publish(engine: Engine, plan: FilmPlan, clips: list[ShotClip], film: Artifact | None,
            sounds: dict[str, Artifact] | None = None, bank: dict[str, Artifact] | None = None) -> dict[str, Path]:
    """User-facing outputs: film.mp4, shots/<id>.mp4 (with their dialogue when `sounds` has
    them), keyframes/<id>_first.png and _last.png, characters/<id>.png (the character bank,
    when the paradigm made one), film.srt and film.vtt."""
    from multishot.graph.engine import Artifact as A

    out: dict[str, Path] = {}
    for cid, image in sorted((bank or {}).items()):
        out[f"character:{cid}"] = engine.publish(image, character_name(cid))
    sounds = sounds or {}
    for clip in clips:
        a = clip.artifact
        shot_file = sounds.get(clip.spec.id) or A(a.stage, a.item, a.key, clip.video, a.hit)
        out[f"shot:{clip.spec.id}"] = engine.publish(shot_file, shot_name(clip.spec.id))
        for which, src in (("first", clip.first_png), ("last", clip.last_png)):
            engine.publish(A(a.stage, a.item, a.key, src, a.hit),
                           keyframe_name(clip.spec.id, which))
    if film is not None:
        out["film"] = engine.publish(film, Path(FILM))
        cues = film_cues([c.spec for c in clips])
        for name, text in ((SUBTITLES_SRT, to_srt(cues)), (SUBTITLES_VTT, to_vtt(cues))):
            dest = engine.out_dir / name
            if cues and not engine.dry_run:
                out[name.replace(".", ":")] = write_atomic(dest, text)
            elif dest.exists():  # the dialogue was removed: no stale subtitles beside the film
                dest.unlink()
    return out


def per_shot(specs: Sequence[ShotSpec], render: Callable[[ShotSpec], ShotClip],
             engine: Engine | None = None) -> tuple[list[ShotClip], list[str]]:
    """Render each shot; with --only, shots that are excluded and not cached are skipped (listed)
    instead of stopping the others. A film is assembled only when no shot was skipped. Given
    the engine, independent shots run at once on its executor's workers."""
    from multishot.graph.engine import RenderStopped

    clips: list[ShotClip] = []
    skipped: list[str] = []
    results = engine.parallel(render, specs) if engine is not None else [_attempt(render, s) for s in specs]
    failure: BaseException | None = None
    for spec, result in zip(specs, results):
        if isinstance(result, RenderStopped):
            skipped.append(spec.id)
        elif isinstance(result, BaseException):
            failure = failure or result
        else:
            clips.append(result)
    if failure is not None:  # every other shot finished (and is cached) before this is raised
        raise failure
    return clips, skipped


def _attempt(fn: Callable[[Any], Any], item: Any) -> Any:
    from multishot.graph.engine import RenderStopped

    try:
        return fn(item)
    except RenderStopped as stopped:
        return stopped


def render_bridges(engine: Engine, backend_for: Callable[[str], Backend],
                   clips: list[ShotClip]) -> dict[int, Artifact]:
    """Every `bridge` seam's generated segment, once both neighbours exist; the bridges are
    independent of each other, so they run at once on the executor's workers."""
    seams = [i for i, clip in enumerate(clips[:-1]) if needs_generation(clip.spec.transition.type)]
    made = engine.parallel(lambda i: render_bridge(engine, backend_for(clips[i].spec.profile),
                                                   clips[i], clips[i + 1]), seams)
    for result in made:
        if isinstance(result, BaseException):
            raise result
    return dict(zip(seams, made))


STILL = Stage("still", 1, ".png", "a frame taken from a rendered clip, as an artifact of its own")


def last_frame_artifact(engine: Engine, clip: ShotClip, *, allow: bool = False) -> Artifact:
    """The clip's last frame as an artifact (what a match-cut composes on); `allow` when the
    incoming shot that needs it is one --only names."""
    import shutil

    return engine.run(STILL, f"{clip.spec.id}:last", {"clip": clip.artifact.key},
                      lambda tmp: shutil.copyfile(clip.last_png, tmp), shots=(clip.spec.id,), allow=allow)
