"""From what a user typed (a render folder, its film.mp4 or the shot list it came from) to a
render folder whose manifest.json can be read: `eval`, `export` and `open` share this.

`manifest.json` is ours, but it is a file on disk: truncated by a full disk, edited by hand,
or not ours at all. Its shape is checked once here (the fields those commands read), so a
damaged one is a sentence naming the file and the field, exit 2, never a traceback deep inside
the timeline or metrics code; what passes is read into the typed records every consumer takes
(post/manifest_record.py).
"""

from __future__ import annotations

import json
from pathlib import Path
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from multishot.cli.output import invalid
from multishot.post.manifest_record import RenderManifest
from multishot.post.render_folder import RenderFolder
from multishot.shotlist.errors import format_path
from multishot.shotlist.schema import ID_PATTERN


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _TransitionEntry(_Loose):
    type: str
    duration: float = Field(ge=0, allow_inf_nan=False)


class _ShotEntry(_Loose):
    id: str = Field(pattern=ID_PATTERN)  # names shots/<id>.mp4: never a path
    frames: int = Field(ge=1)
    transition: _TransitionEntry


class _ArtifactEntry(_Loose):
    stage: str
    item: str
    path: str


class ManifestShape(_Loose):
    """The fields of manifest.json that `eval`, `export` and `open` read."""

    title: str = ""
    status: str = "?"
    fps: int = Field(ge=1)
    resolution: str = Field(default="0x0", pattern=r"^[0-9]+x[0-9]+$")
    shots: list[_ShotEntry]
    artifacts: list[_ArtifactEntry] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)


def read_manifest(folder: Path) -> RenderManifest:
    """manifest.json of `folder` as records, or exit 2 with a sentence that names the file and
    what is wrong with it."""
    path = RenderFolder(folder).manifest
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise invalid(f"cannot read {path}: {error}") from None
    except ValueError as error:
        raise invalid(f"{path} is not valid JSON ({error}); it may have been cut short. "
                      "Render again to rewrite it.") from None
    if not isinstance(data, dict):
        raise invalid(f"{path} is not a multishot manifest (expected a JSON object, found {type(data).__name__}). "
                      "Render again to rewrite it.")
    try:
        ManifestShape.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = format_path(tuple(first["loc"]))
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise invalid(f"{path} is damaged: {where}: {first['msg']}{more}. Render again to rewrite it.") from None
    try:
        return RenderManifest.from_json(data)
    except (KeyError, TypeError, ValueError) as error:  # a field the shape check lets through
        raise invalid(f"{path} is damaged ({type(error).__name__}: {error}). Render again to rewrite it.") from None


def film_dir(target: Path, out_root: Path) -> Path:
    """A render folder from what the user typed: the folder itself (renders/<slug>/), its
    film.mp4, or the shot list it was rendered from (then renders/<slug>/ under `out_root`).
    The folder's manifest is checked (read_manifest)."""
    if target.is_file() and target.suffix.lower() == ".mp4" and RenderFolder(target.parent).is_render():
        target = target.parent
    if target.is_dir():
        if not RenderFolder(target).is_render():
            raise invalid(f"{target} has no manifest.json; give a render folder (renders/<title>/) "
                          "or the shot list it was rendered from")
        read_manifest(target)
        return target
    if target.is_file() and target.suffix.lower() in (".yaml", ".yml"):
        from multishot.plan.film_plan import slugify
        from multishot.shotlist.errors import ShotListError
        from multishot.shotlist.loader import load_film

        try:
            film = load_film(target)
        except ShotListError as error:
            raise invalid(f"{target} is not a valid shot list ({len(error.problems)} problems; "
                          f"see `multishot validate {target}`)") from None
        folder = out_root / slugify(film.title)
        if not RenderFolder(folder).is_render():
            raise invalid(f"{target} has not been rendered to {folder} yet; run `multishot render {target}`")
        read_manifest(folder)
        return folder
    if not target.exists():
        raise invalid(f"{target} does not exist; give a render folder (renders/<title>/) or its shot list")
    raise invalid(f"{target} is neither a render folder nor a shot list")
