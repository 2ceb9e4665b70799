"""Peer systems' example scripts as shot lists, converted at test time from the held-out copies in
../shared/corpus/prompts (never copied into the repository: their licences are non-commercial).

The conversion is literal: what the peer format says goes into the field that means it, and
nothing is invented. A shot's size and angle are read from the words of its caption ("Medium
shot of", "Close-up on", "Over-the-shoulder", "low angle"); a caption that names none is
`medium`, the schema's default. Characters are listed only where the format names them
(HoloCine's `[characterN]` tags, VGoT's identity images); StoryMem names none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import ROOT

PROMPTS = ROOT.parent / "shared" / "corpus" / "prompts"

_SIZES = (  # the first phrase found in a caption decides
    (r"extreme close[- ]?up|extreme close", "extreme-close"), (r"medium close[- ]?up", "medium-close"),
    (r"close[- ]?up|\bclose on\b|\bclose shot\b|\btight\b", "close"), (r"medium[- ]wide", "full"),
    (r"full[- ]length|\bfull shot\b", "full"), (r"extreme wide|establishing", "extreme-wide"),
    (r"\bwide shot\b|\bwide\b", "wide"), (r"\bmedium\b", "medium"),
)
_ANGLES = ((r"over[- ]the[- ]shoulder", "over-shoulder"), (r"low[- ]angle", "low"), (r"high[- ]angle", "high"),
           (r"overhead|bird'?s[- ]eye", "overhead"))


def size_of(caption: str) -> str:
    text = caption.lower()
    hits = [(m.start(), size) for pattern, size in _SIZES for m in [re.search(pattern, text)] if m]
    return min(hits)[1] if hits else "medium"


def angle_of(caption: str) -> str | None:
    text = caption.lower()
    return next((angle for pattern, angle in _ANGLES if re.search(pattern, text)), None)


def _shot(shot_id: str, caption: str, duration: float, **extra: Any) -> dict[str, Any]:
    shot: dict[str, Any] = {"id": shot_id, "size": size_of(caption), "duration": round(duration, 3),
                            "action": " ".join(caption.split())}
    angle = angle_of(caption)
    if angle:
        shot["angle"] = angle
    shot.update({k: v for k, v in extra.items() if v})
    return shot


def holocine(example: int = 1) -> dict[str, Any]:
    """One of the five examples of HoloCine_inference_full_attention.py (one scene of 241 frames,
    cuts at `shot_cut_frames`, evenly spaced when absent), at 16 fps."""
    lines = (PROMPTS / "holocine" / "HoloCine_inference_full_attention.prompts.txt").read_text(encoding="utf-8")
    blocks = re.split(r"output_path=\"video\d\.mp4\"", lines)[1:]
    block = blocks[example - 1]
    if "global_caption=" in block:
        caption = re.search(r'global_caption="([^"]*)"', block).group(1)
        shots = re.findall(r'^\d+:\s+"([^"]*)"', block, re.M)
    else:
        prompt = re.search(r'prompt="([^"]*)"', block).group(1)
        caption, _, per_shot = prompt.partition("[per shot caption]")
        caption = caption.replace("[global caption]", "").strip()
        shots = [s.strip() for s in per_shot.split("[shot cut]")]
    frames = int(re.search(r"num_frames=(\d+)", block).group(1))
    cuts_m = re.search(r"shot_cut_frames=\[([^\]]*)\]", block)
    cuts = [int(c) for c in cuts_m.group(1).split(",")] if cuts_m else [
        round(frames * k / len(shots)) for k in range(1, len(shots))]
    bounds = [0, *cuts, frames]
    sentences = re.split(r"(?<=\.)\s+", caption)
    characters: dict[str, dict[str, str]] = {}
    for s in sentences:  # `[character1] is a …`, else the sentence that introduces the tag
        for n in re.findall(r"\[character(\d)\]", s):
            is_ = re.match(rf"\[character{n}\] is (.*)", s)
            text = is_.group(1) if is_ else re.sub(r"\[character(\d)\]", r"character\1", s)
            characters.setdefault(f"character{n}", {"description": text.rstrip(".")})
    setting = " ".join(s for s in sentences if "[character" not in s and "contains" not in s)
    out_shots = []
    for k, text in enumerate(shots):
        cast = sorted(set(re.findall(r"\[(character\d)\]", text)))
        plain = re.sub(r"\[character(\d)\]", r"character\1", text)
        out_shots.append(_shot(f"shot-{k + 1}", plain, (bounds[k + 1] - bounds[k]) / 16, characters=cast))
    return {"multishot": 1, "title": f"HoloCine example {example}", "format": {"resolution": "832x480", "fps": 16},
            "characters": characters, "locations": {"set": {"description": setting}},
            "scenes": [{"id": "scene", "location": "set", "shots": out_shots}]}


def storymem(name: str = "black") -> dict[str, Any]:
    """A StoryMem ST-Bench story: a scene per `scenes[]`, a five-second shot per video prompt;
    `cut: false` (continue from the previous shot's last frame) is a match cut."""
    story = json.loads((PROMPTS / "storymem" / f"{name}.json").read_text(encoding="utf-8"))
    scenes, locations = [], {}
    flat: list[dict[str, Any]] = []
    for sc in story["scenes"]:
        n = sc["scene_num"]
        locations[f"scene-{n}"] = {"description": re.split(r"(?<=\.)\s+", sc["video_prompts"][0])[0]}
        shots = []
        for k, prompt in enumerate(sc["video_prompts"]):
            cut = sc["cut"][k] if k < len(sc["cut"]) else True
            if not cut and flat:
                flat[-1]["transition"] = "match-cut"
            shots.append(_shot(f"s{n}-{k + 1}", prompt, 5))
            flat.append(shots[-1])
        scenes.append({"id": f"scene-{n}", "location": f"scene-{n}", "shots": shots})
    return {"multishot": 1, "title": story["story_name"], "logline": story["story_overview"],
            "locations": locations, "scenes": scenes}


def vgot() -> dict[str, Any]:
    """VideoGen-of-Thought's `Mary` story: 26 shots, each prompt in its five domains
    (Character, Background, Relation, Camera Pose, HDR Description) and tied to one of six
    identity images, which are six characters (Mary at six ages, described in
    avatar_prompt.json). Each shot is its own place and moment of a life, so its own scene, and
    its Background is that scene's location."""
    folder = PROMPTS / "vgot" / "Mary"
    avatars = json.loads((folder / "avatar_prompt.json").read_text(encoding="utf-8"))
    pairs = json.loads((folder / "image_prompt_pairs.json").read_text(encoding="utf-8"))

    def who(path: str) -> str:
        return "mary-" + re.sub(r"[^a-z0-9]+", "-", path.rsplit("avatar_Mary_", 1)[1].split(".")[0].lower()).strip("-")

    characters = {}
    for a in avatars:
        text = re.search(r"Character:\s*(.*?)\s*\n", a["prompt"]).group(1)
        characters[who(a["ip_image_path"])] = {"description": text}
    domain = re.compile(r"(Character|Background|Relation|Camera Pose|HDR Description):\s*")
    scenes: list[dict[str, Any]] = []
    locations: dict[str, dict[str, str]] = {}
    for k, pair in enumerate(pairs):
        parts = domain.split(pair["prompt"])
        fields = {parts[i]: parts[i + 1].strip().rstrip(",").strip() for i in range(1, len(parts) - 1, 2)}
        cid = who(pair["ip_img_path"])
        location = f"place-{k + 1}"
        locations[location] = {"description": fields["Background"]}
        shot = _shot(f"shot-{k + 1}", fields["Camera Pose"] + ". " + fields["HDR Description"], 4,
                     characters=[cid])
        shot["action"] = fields["HDR Description"]
        relation = fields.get("Relation", "")
        if relation and relation.upper() != "N/A":
            shot["relation"] = relation
        scenes.append({"id": f"scene-{k + 1}", "location": location, "shots": [shot]})
    used = {sc["location"] for sc in scenes}
    return {"multishot": 1, "title": "Mary", "characters": characters,
            "locations": {k: v for k, v in locations.items() if k in used}, "scenes": scenes}
